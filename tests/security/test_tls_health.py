"""`mlgrpc health` against TLS services: the client's URI forms, TLS flags and variables."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest

from mlgrpc.cli.main import main as mlgrpc
from mlgrpc_server.bootstrap import RunningServer
from mlgrpc_server.tls import TlsServerConfig

if TYPE_CHECKING:
    from conftest import TlsPki


@dataclass
class TlsServers:
    #: Serves TLS; any client that trusts the CA may call.
    tls: RunningServer
    #: Serves mutual TLS: the client must present a certificate of the CA.
    mutual: RunningServer


@pytest.fixture(scope="module")
def servers(
    new_database: Callable[[str], str], tmp_path_factory: pytest.TempPathFactory, tls_pki: TlsPki
) -> Iterator[TlsServers]:
    from tracking_service.server import create_server

    def start(mutual: bool) -> RunningServer:
        client_ca = tls_pki.ca if mutual else None
        return create_server(
            backend_store_uri=new_database("sqlite"),
            default_artifact_root=str(tmp_path_factory.mktemp("artifacts")),
            tls=TlsServerConfig.from_files(
                tls_pki.service_cert, tls_pki.service_key, client_ca, mutual
            ),
        )

    servers = TlsServers(start(mutual=False), start(mutual=True))
    yield servers
    servers.tls.stop(grace=0)
    servers.mutual.stop(grace=0)


@pytest.fixture(autouse=True)
def no_tls_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("MLGRPC_TLS_CA", "MLGRPC_TLS_CERT", "MLGRPC_TLS_KEY"):
        monkeypatch.delenv(variable, raising=False)


def test_a_grpcs_address_is_checked_over_tls_with_the_ca_flag(
    servers: TlsServers, tls_pki: TlsPki, capsys: pytest.CaptureFixture[str]
) -> None:
    address = f"grpcs://127.0.0.1:{servers.tls.port}"
    assert mlgrpc(["health", address, "--tls-ca", tls_pki.ca]) == 0
    assert capsys.readouterr().out.strip() == f"{address}: SERVING"


def test_mutual_tls_with_the_client_certificate_flags(servers: TlsServers, tls_pki: TlsPki) -> None:
    flags = ["--tls-ca", tls_pki.ca, "--tls-cert", tls_pki.client_cert]
    flags += ["--tls-key", tls_pki.client_key]
    assert mlgrpc(["health", f"grpcs://localhost:{servers.mutual.port}", *flags]) == 0


def test_the_tls_variables_of_every_client_are_used_when_no_flag_is_given(
    servers: TlsServers, tls_pki: TlsPki, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLGRPC_TLS_CA", tls_pki.ca)
    monkeypatch.setenv("MLGRPC_TLS_CERT", tls_pki.client_cert)
    monkeypatch.setenv("MLGRPC_TLS_KEY", tls_pki.client_key)
    assert mlgrpc(["health", f"grpcs://127.0.0.1:{servers.mutual.port}"]) == 0
    monkeypatch.setenv("MLGRPC_HEALTH_ADDRESS", f"grpcs://127.0.0.1:{servers.tls.port}")
    assert mlgrpc(["health"]) == 0


def test_mutual_tls_without_a_client_certificate_is_unhealthy(
    servers: TlsServers, tls_pki: TlsPki, capsys: pytest.CaptureFixture[str]
) -> None:
    address = f"grpcs://127.0.0.1:{servers.mutual.port}"
    assert mlgrpc(["health", address, "--tls-ca", tls_pki.ca, "--timeout", "5"]) == 1
    assert "UNAVAILABLE" in capsys.readouterr().err


def test_a_server_signed_by_another_ca_is_unhealthy(
    servers: TlsServers, tls_pki: TlsPki, capsys: pytest.CaptureFixture[str]
) -> None:
    address = f"grpcs://127.0.0.1:{servers.tls.port}"
    assert mlgrpc(["health", address, "--tls-ca", tls_pki.other_ca, "--timeout", "5"]) == 1
    assert "UNAVAILABLE" in capsys.readouterr().err


def test_tls_flags_with_a_plaintext_address_are_refused_in_one_line(
    servers: TlsServers, tls_pki: TlsPki, capsys: pytest.CaptureFixture[str]
) -> None:
    assert mlgrpc(["health", f"127.0.0.1:{servers.tls.port}", "--tls-ca", tls_pki.ca]) == 1
    err = capsys.readouterr().err
    assert "use grpcs://HOST:PORT" in err and len(err.strip().splitlines()) == 1


def test_an_unreadable_ca_file_is_named_in_one_line(
    servers: TlsServers, capsys: pytest.CaptureFixture[str]
) -> None:
    address = f"grpcs://127.0.0.1:{servers.tls.port}"
    assert mlgrpc(["health", address, "--tls-ca", "/no/such/ca.pem"]) == 1
    err = capsys.readouterr().err
    assert "/no/such/ca.pem" in err and len(err.strip().splitlines()) == 1
