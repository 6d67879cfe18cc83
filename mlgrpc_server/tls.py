"""TLS of the services: how a service serves (certificate, key, mutual TLS) and how it calls the
other services (the CA that signed them, its own certificate as client certificate).

Off unless configured. The PEM files are read once, when the configuration is built, so that a
missing or unreadable file is a one-line error at start-up (exit status 2) rather than a failed
handshake later; the gRPC credential objects are made from the bytes only when a server or
channel is built (after a fork, in scoring workers).

`grpc` is imported inside the functions that need it: the command lines add these flags to
their parsers, and `--help` answers without loading gRPC.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import grpc

_TRUE = {"1", "true", "yes", "on"}


class TlsConfigError(ValueError):
    """A TLS setting that cannot work: the message is one line naming the flag and file."""


@dataclass(frozen=True)
class TlsServerConfig:
    """How a service serves TLS: its certificate chain and key, and for mutual TLS the CA that
    signed the clients' certificates.

    gRPC Python asks a client for its certificate only when it requires one, so a client CA
    means mutual TLS: clients without a certificate signed by it are refused.
    """

    cert_chain: bytes
    private_key: bytes
    client_ca: bytes | None = None
    #: Set by `from_files` exactly when there is a client CA; the credentials follow `client_ca`.
    require_client_cert: bool = False

    @classmethod
    def from_files(
        cls,
        cert: str,
        key: str,
        client_ca: str | None = None,
        require_client_cert: bool = False,
    ) -> TlsServerConfig:
        """Read and check the PEM files; TlsConfigError says which one is wrong."""
        if require_client_cert and not client_ca:
            raise TlsConfigError(
                "--tls-require-client-cert needs --tls-client-ca (MLGRPC_TLS_CLIENT_CA): "
                "the CA that signed the clients' certificates"
            )
        cert_chain = read_pem(cert, "--tls-cert")
        private_key = read_pem(key, "--tls-key")
        check_key_matches_certificate(cert_chain, private_key, cert, key)
        ca = read_pem(client_ca, "--tls-client-ca") if client_ca else None
        return cls(cert_chain, private_key, ca, require_client_cert=ca is not None)

    def server_credentials(self) -> grpc.ServerCredentials:
        import grpc

        return grpc.ssl_server_credentials(
            [(self.private_key, self.cert_chain)],
            root_certificates=self.client_ca,
            require_client_auth=self.client_ca is not None,
        )


@dataclass(frozen=True)
class TlsChannelConfig:
    """How a service calls another over TLS: the CA verifying the peer (None: the system's
    roots) and, for peers that require mutual TLS, the client certificate chain and key."""

    ca: bytes | None = None
    cert_chain: bytes | None = None
    private_key: bytes | None = None

    def channel_credentials(self) -> grpc.ChannelCredentials:
        import grpc

        return grpc.ssl_channel_credentials(
            root_certificates=self.ca,
            private_key=self.private_key,
            certificate_chain=self.cert_chain,
        )


def read_pem(path: str, flag: str) -> bytes:
    """The bytes of a PEM file, or a TlsConfigError naming the flag, the path and the reason."""
    try:
        with open(path, "rb") as file:
            data = file.read()
    except OSError as error:
        raise TlsConfigError(f"{flag} {path!r}: {error.strerror or error}") from None
    if b"-----BEGIN " not in data:
        raise TlsConfigError(f"{flag} {path!r} is not a PEM file (no '-----BEGIN' line)")
    return data


def check_key_matches_certificate(
    cert_chain: bytes, key: bytes, cert_path: str, key_path: str
) -> None:
    """A key of another certificate would only fail at the first handshake: refuse it now."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    try:
        certificate = x509.load_pem_x509_certificate(cert_chain)
    except ValueError as error:
        raise TlsConfigError(
            f"--tls-cert {cert_path!r} holds no valid certificate: {error}"
        ) from None
    try:
        private_key = serialization.load_pem_private_key(key, password=None)
    except (TypeError, ValueError) as error:
        raise TlsConfigError(
            f"--tls-key {key_path!r} is not an unencrypted PEM private key: {error}"
        ) from None
    der, spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    certified_public_key = certificate.public_key().public_bytes(der, spki)
    if private_key.public_key().public_bytes(der, spki) != certified_public_key:
        raise TlsConfigError(f"--tls-key {key_path!r} is not the key of --tls-cert {cert_path!r}")


def secure_or_insecure_channel(
    address: str, tls: TlsChannelConfig | None, options: Sequence[tuple[str, Any]] = ()
) -> grpc.Channel:
    """A channel to `address` (`host:port`, `grpc://…` or `grpcs://…`): TLS when `tls` is given
    or the address says `grpcs://` (then verified against the system's roots unless `tls` has
    a CA)."""
    import grpc

    scheme, sep, rest = address.partition("://")
    target = rest if sep else address
    if tls is None and scheme.lower() == "grpcs" and sep:
        tls = TlsChannelConfig()
    if tls is None:
        return grpc.insecure_channel(target, options=list(options))
    return grpc.secure_channel(target, tls.channel_credentials(), options=list(options))


# ---- command-line flags --------------------------------------------------------------------------


def add_tls_arguments(parser: argparse.ArgumentParser, *, outgoing: bool = True) -> None:
    """The TLS flags of a service, each with its MLGRPC_TLS_* fallback; `outgoing` adds
    `--tls-ca` for services that call other services."""
    env = os.environ.get
    group = parser.add_argument_group("TLS (off unless --tls-cert and --tls-key are given)")
    group.add_argument(
        "--tls-cert",
        default=env("MLGRPC_TLS_CERT") or None,
        metavar="PEM",
        help="certificate chain the service presents (env MLGRPC_TLS_CERT)",
    )
    group.add_argument(
        "--tls-key",
        default=env("MLGRPC_TLS_KEY") or None,
        metavar="PEM",
        help="private key of --tls-cert (env MLGRPC_TLS_KEY)",
    )
    group.add_argument(
        "--tls-client-ca",
        default=env("MLGRPC_TLS_CLIENT_CA") or None,
        metavar="PEM",
        help="mutual TLS: CA that signed the clients' certificates; clients without one are "
        "refused (env MLGRPC_TLS_CLIENT_CA)",
    )
    group.add_argument(
        "--tls-require-client-cert",
        action="store_true",
        default=env("MLGRPC_TLS_REQUIRE_CLIENT_CERT", "").strip().lower() in _TRUE,
        help="state that mutual TLS is wanted: refuse to start without --tls-client-ca "
        "(env MLGRPC_TLS_REQUIRE_CLIENT_CERT)",
    )
    if outgoing:
        group.add_argument(
            "--tls-ca",
            default=env("MLGRPC_TLS_CA") or None,
            metavar="PEM",
            help="call the other services over TLS, verifying them with this CA; with "
            "--tls-cert/--tls-key, present that certificate to them (env MLGRPC_TLS_CA)",
        )


def tls_from_args(
    parser: argparse.ArgumentParser, args: argparse.Namespace
) -> tuple[TlsServerConfig | None, TlsChannelConfig | None]:
    """The serving and the outgoing TLS configurations the flags describe (None: plaintext).

    A wrong setting ends the program with one line on stderr and exit status 2.
    """
    try:
        return _server_tls(args), _channel_tls(args)
    except TlsConfigError as error:
        parser.exit(2, f"{parser.prog}: {error}\n")


def _server_tls(args: argparse.Namespace) -> TlsServerConfig | None:
    cert, key = args.tls_cert, args.tls_key
    if not cert and not key:
        if args.tls_client_ca or args.tls_require_client_cert:
            raise TlsConfigError("mutual TLS needs --tls-cert and --tls-key too")
        return None
    if not cert or not key:
        missing = "--tls-key (MLGRPC_TLS_KEY)" if cert else "--tls-cert (MLGRPC_TLS_CERT)"
        raise TlsConfigError(f"TLS needs both a certificate and its key: give {missing}")
    return TlsServerConfig.from_files(
        cert, key, args.tls_client_ca, require_client_cert=args.tls_require_client_cert
    )


def _channel_tls(args: argparse.Namespace) -> TlsChannelConfig | None:
    ca_path = getattr(args, "tls_ca", None)
    if not ca_path:
        return None
    ca = read_pem(ca_path, "--tls-ca")
    if args.tls_cert and args.tls_key:
        # Already checked by _server_tls; read again rather than thread the bytes through.
        return TlsChannelConfig(
            ca, read_pem(args.tls_cert, "--tls-cert"), read_pem(args.tls_key, "--tls-key")
        )
    return TlsChannelConfig(ca)
