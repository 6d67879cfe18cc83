"""TLS of the client: which PEM files a `grpcs://` channel uses.

A `grpcs://host:port` URI makes the client speak TLS. The server's certificate is verified
against `ca` (default: the system's roots); `cert` and `key` are the client's own certificate
for services that require mutual TLS. Each comes from an argument
(`MlgrpcClient(..., tls_ca=..., tls_cert=..., tls_key=...)`), else from MLGRPC_TLS_CA /
MLGRPC_TLS_CERT / MLGRPC_TLS_KEY. `grpc://` and bare `host:port` URIs stay plaintext.
"""

from __future__ import annotations

from dataclasses import dataclass

import grpc

from mlgrpc import config
from mlgrpc.exceptions import InvalidArgumentError


@dataclass(frozen=True)
class ClientTls:
    """Paths of the PEM files of a TLS channel; None: not used (system roots for `ca`)."""

    ca: str | None = None
    cert: str | None = None
    key: str | None = None

    @classmethod
    def resolve(
        cls, ca: str | None = None, cert: str | None = None, key: str | None = None
    ) -> ClientTls:
        """What is given wins; what is not comes from the MLGRPC_TLS_* environment."""
        return cls(ca or config.tls_ca(), cert or config.tls_cert(), key or config.tls_key())

    def channel_credentials(self) -> grpc.ChannelCredentials:
        """Credentials from the files, read now; a missing file is InvalidArgumentError."""
        if bool(self.cert) != bool(self.key):
            raise InvalidArgumentError(
                "a TLS client certificate needs its key: give both tls_cert and tls_key "
                "(MLGRPC_TLS_CERT and MLGRPC_TLS_KEY)",
                field="tls_key" if self.cert else "tls_cert",
            )
        return grpc.ssl_channel_credentials(
            root_certificates=_read(self.ca, "tls_ca", "MLGRPC_TLS_CA"),
            private_key=_read(self.key, "tls_key", "MLGRPC_TLS_KEY"),
            certificate_chain=_read(self.cert, "tls_cert", "MLGRPC_TLS_CERT"),
        )


def _read(path: str | None, name: str, variable: str) -> bytes | None:
    if not path:
        return None
    try:
        with open(path, "rb") as file:
            return file.read()
    except OSError as error:
        raise InvalidArgumentError(
            f"{name} ({variable}) {path!r} cannot be read: {error.strerror or error}", field=name
        ) from None
