"""TLS settings: flags and MLGRPC_TLS_* variables of the command lines, and the one-line errors
for files that are missing, unreadable or do not belong together."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from mlgrpc_server.tls import TlsConfigError, TlsServerConfig

if TYPE_CHECKING:
    from conftest import TlsPki


def test_a_missing_certificate_file_names_the_flag_and_the_path(
    tls_pki: TlsPki, tmp_path: Path
) -> None:
    missing = str(tmp_path / "missing.pem")
    with pytest.raises(TlsConfigError) as caught:
        TlsServerConfig.from_files(missing, tls_pki.service_key)
    message = str(caught.value)
    assert message.startswith(f"--tls-cert {missing!r}: No such file or directory")
    assert "\n" not in message


def test_a_file_that_is_not_pem_is_refused(tls_pki: TlsPki, tmp_path: Path) -> None:
    garbage = tmp_path / "key.der"
    garbage.write_bytes(b"\x30\x82\x01")
    with pytest.raises(TlsConfigError, match="--tls-key .* is not a PEM file"):
        TlsServerConfig.from_files(tls_pki.service_cert, str(garbage))


def test_a_key_of_another_certificate_is_refused(tls_pki: TlsPki) -> None:
    with pytest.raises(TlsConfigError, match="is not the key of --tls-cert"):
        TlsServerConfig.from_files(tls_pki.service_cert, tls_pki.client_key)


def test_requiring_client_certificates_needs_a_client_ca(tls_pki: TlsPki) -> None:
    with pytest.raises(TlsConfigError, match="--tls-require-client-cert needs --tls-client-ca"):
        TlsServerConfig.from_files(
            tls_pki.service_cert, tls_pki.service_key, require_client_cert=True
        )


def test_a_client_ca_means_mutual_tls(tls_pki: TlsPki) -> None:
    config = TlsServerConfig.from_files(tls_pki.service_cert, tls_pki.service_key, tls_pki.ca)
    assert config.require_client_cert


def test_tls_is_off_without_flags_or_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    from mlgrpc_server.tls import tls_from_args
    from registry_service.cli import build_parser

    for name in ("CERT", "KEY", "CA", "CLIENT_CA", "REQUIRE_CLIENT_CERT"):
        monkeypatch.delenv(f"MLGRPC_TLS_{name}", raising=False)
    parser = build_parser()
    assert tls_from_args(parser, parser.parse_args([])) == (None, None)


def test_the_registry_takes_its_tls_files_from_the_environment(
    tls_pki: TlsPki, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlgrpc_server.tls import tls_from_args
    from registry_service.cli import build_parser

    monkeypatch.setenv("MLGRPC_TLS_CERT", tls_pki.service_cert)
    monkeypatch.setenv("MLGRPC_TLS_KEY", tls_pki.service_key)
    monkeypatch.setenv("MLGRPC_TLS_CLIENT_CA", tls_pki.ca)
    monkeypatch.setenv("MLGRPC_TLS_CA", tls_pki.ca)
    parser = build_parser()
    serving, outgoing = tls_from_args(parser, parser.parse_args([]))
    assert serving is not None and serving.client_ca is not None
    # Outgoing calls verify the peer with the CA and present the service's own certificate.
    assert outgoing is not None and outgoing.ca and outgoing.cert_chain == serving.cert_chain


def test_a_certificate_without_its_key_ends_the_command_with_one_line(
    tls_pki: TlsPki, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from mlgrpc_server.tls import tls_from_args
    from tracking_service.cli import build_parser

    monkeypatch.delenv("MLGRPC_TLS_KEY", raising=False)
    parser = build_parser()
    args = parser.parse_args(["--tls-cert", tls_pki.service_cert])
    with pytest.raises(SystemExit) as caught:
        tls_from_args(parser, args)
    assert caught.value.code == 2
    assert capsys.readouterr().err == (
        "mlgrpc server tracking: TLS needs both a certificate and its key: "
        "give --tls-key (MLGRPC_TLS_KEY)\n"
    )


def test_the_scoring_flags_reach_its_configuration(tls_pki: TlsPki) -> None:
    from mlgrpc_server.tls import tls_from_args
    from scoring_service.cli import build_parser, config_from_args

    parser = build_parser()
    args = parser.parse_args(
        ["-m", "/models/x", "--tls-cert", tls_pki.service_cert, "--tls-key", tls_pki.service_key]
        + ["--tls-ca", tls_pki.ca]
    )
    config = config_from_args(args, tls_from_args(parser, args))
    assert config.tls is not None and config.tls.client_ca is None
    assert config.peer_tls is not None and config.peer_tls.private_key == config.tls.private_key
