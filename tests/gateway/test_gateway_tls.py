"""`mlgrpc server gateway --tls-cert --tls-key`: HTTPS with a self-signed certificate made at
test time, verified by our HTTP caller and by MLflow's own client
(MLFLOW_TRACKING_SERVER_CERT_PATH); a wrong pair of files is refused at start-up with one line
and exit status 2."""

from __future__ import annotations

import datetime
import ipaddress
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

REPO = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": f"{REPO / 'client'}{os.pathsep}{REPO}"}
RunScript = Callable[..., subprocess.CompletedProcess[str]]


def _self_signed(directory: Path, name: str) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / f"{name}.crt", directory / f"{name}.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _gateway_command(port: int, tracking: str, *tls: str) -> list[str]:
    return [
        sys.executable, "-m", "gateway", "--port", str(port), "--tracking-address", tracking,
        "--registry-address", "", "--log-level", "WARNING", *tls,
    ]  # fmt: skip


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return _self_signed(tmp_path_factory.mktemp("tls"), "gateway")


@pytest.fixture(scope="module")
def https_url(tracking_server: str, certificate: tuple[Path, Path]) -> Iterator[str]:
    cert, key = certificate
    port = _free_port()
    command = _gateway_command(
        port, tracking_server, "--tls-cert", str(cert), "--tls-key", str(key)
    )
    process = subprocess.Popen(command, env=ENV)
    context = ssl.create_default_context(cafile=str(cert))
    url = f"https://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(url + "/health", context=context, timeout=5) as answer:
                if answer.status == 200:
                    break
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail("the HTTPS gateway did not answer /health")
        time.sleep(0.1)
    yield url
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0


def test_https_answers_mlflows_routes_verified_by_the_certificate(
    https_url: str, certificate: tuple[Path, Path]
) -> None:
    context = ssl.create_default_context(cafile=str(certificate[0]))
    url = https_url + "/api/2.0/mlflow/experiments/get?experiment_id=0"
    with urllib.request.urlopen(url, context=context, timeout=10) as answer:
        assert json.load(answer)["experiment"]["name"] == "Default"


def test_plain_http_to_the_https_port_gets_no_answer(https_url: str) -> None:
    with pytest.raises(OSError):
        urllib.request.urlopen(https_url.replace("https:", "http:") + "/health", timeout=10)


def test_an_unverified_client_is_refused(https_url: str) -> None:
    with pytest.raises(OSError):
        urllib.request.urlopen(https_url + "/health", context=ssl.create_default_context())


MLFLOW_OVER_HTTPS = """
import json, sys
import mlflow
mlflow.set_tracking_uri(sys.argv[1])
experiment = mlflow.set_experiment(sys.argv[2])
with mlflow.start_run() as run:
    mlflow.log_metric("loss", 0.5)
print(json.dumps({"metrics": mlflow.get_run(run.info.run_id).data.metrics}))
"""


def test_mlflow_client_logs_over_https(
    https_url: str,
    certificate: tuple[Path, Path],
    run_in_mlflow_venv: RunScript,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_SERVER_CERT_PATH", str(certificate[0]))
    result = run_in_mlflow_venv(MLFLOW_OVER_HTTPS, https_url, f"https-{uuid.uuid4().hex[:8]}")
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {"metrics": {"loss": 0.5}}


@pytest.mark.parametrize("case", ["cert_only", "other_key", "missing_file"])
def test_a_wrong_certificate_setting_exits_2_with_one_line(
    tmp_path: Path, certificate: tuple[Path, Path], case: str
) -> None:
    cert, _ = certificate
    _, other_key = _self_signed(tmp_path, "other")
    tls = {
        "cert_only": ["--tls-cert", str(cert)],
        "other_key": ["--tls-cert", str(cert), "--tls-key", str(other_key)],
        "missing_file": ["--tls-cert", str(tmp_path / "nope.crt"), "--tls-key", str(other_key)],
    }[case]
    result = subprocess.run(
        _gateway_command(_free_port(), "127.0.0.1:1", *tls),
        env=ENV,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stderr
    assert "--tls-" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
