"""Fixtures of the security tests: a throw-away PKI written as PEM files.

`tls_pki` holds a CA, a service certificate signed by it (SAN `localhost` and `127.0.0.1`,
usable as server and as client certificate, as the services present theirs to each other under
mutual TLS), a client certificate, and a second, unrelated CA. EC P-256 keys: made in
milliseconds.
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass(frozen=True)
class TlsPki:
    """Paths of the PEM files (str, as flags and environment variables take them)."""

    ca: str
    service_cert: str
    service_key: str
    client_cert: str
    client_key: str
    other_ca: str


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _builder(
    subject: str, issuer: x509.Name, key: ec.EllipticCurvePrivateKey
) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
    )


def _make_ca(common_name: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = (
        _builder(common_name, _name(common_name), key)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return key, certificate


def _make_leaf(
    ca_key: ec.EllipticCurvePrivateKey, ca: x509.Certificate, common_name: str, *, server: bool
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    usages = [ExtendedKeyUsageOID.CLIENT_AUTH]
    builder = _builder(common_name, ca.subject, key).add_extension(
        x509.BasicConstraints(ca=False, path_length=None), critical=True
    )
    if server:
        usages.insert(0, ExtendedKeyUsageOID.SERVER_AUTH)
        names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    builder = builder.add_extension(x509.ExtendedKeyUsage(usages), critical=False)
    return key, builder.sign(ca_key, hashes.SHA256())


def _write(
    directory: Path, name: str, key: ec.EllipticCurvePrivateKey | None, cert: x509.Certificate
) -> None:
    (directory / f"{name}.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    if key is not None:
        (directory / f"{name}.key").write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )


@pytest.fixture(scope="session")
def tls_pki(tmp_path_factory: pytest.TempPathFactory) -> TlsPki:
    directory = tmp_path_factory.mktemp("pki")
    ca_key, ca = _make_ca("mlgrpc test CA")
    _write(directory, "ca", None, ca)
    _write(directory, "service", *_make_leaf(ca_key, ca, "localhost", server=True))
    _write(directory, "client", *_make_leaf(ca_key, ca, "training job", server=False))
    _write(directory, "other-ca", None, _make_ca("unrelated CA")[1])
    path = lambda name: str(directory / name)  # noqa: E731
    return TlsPki(
        ca=path("ca.pem"),
        service_cert=path("service.pem"),
        service_key=path("service.key"),
        client_cert=path("client.pem"),
        client_key=path("client.key"),
        other_ca=path("other-ca.pem"),
    )
