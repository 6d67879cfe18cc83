"""`mlgrpc up --tls-…`: the real command lines serve mutual TLS and probe each other over it."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from mlgrpc.tls import ClientTls

if TYPE_CHECKING:
    from conftest import TlsPki


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _read_until_ready(process: subprocess.Popen[str], seconds: float) -> str:
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if "Ctrl-C stops everything" in line:
            break
    return "".join(lines)


def test_up_serves_mutual_tls_and_stops_cleanly(tls_pki: TlsPki, tmp_path: Path) -> None:
    tracking_port, registry_port = _free_port(), _free_port()
    tls = ["--tls-cert", tls_pki.service_cert, "--tls-key", tls_pki.service_key]
    tls += ["--tls-ca", tls_pki.ca, "--tls-client-ca", tls_pki.ca]
    process = subprocess.Popen(
        [sys.executable, "-m", "mlgrpc.cli.main", "up", *tls]
        + ["--tracking-port", str(tracking_port), "--registry-port", str(registry_port)]
        + ["--gateway-port", str(_free_port())],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        output = _read_until_ready(process, 90)
        assert f"tracking SERVING on grpcs://127.0.0.1:{tracking_port}" in output, output
        assert f"registry SERVING on grpcs://127.0.0.1:{registry_port}" in output, output
        credentials = ClientTls(tls_pki.ca, tls_pki.client_cert, tls_pki.client_key)
        with grpc.secure_channel(
            f"localhost:{registry_port}", credentials.channel_credentials()
        ) as channel:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(), timeout=5
            )
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
        process.send_signal(signal.SIGTERM)
        rest, _ = process.communicate(timeout=60)
        assert process.returncode == 0, output + rest
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_up_refuses_tls_without_the_ca_the_services_verify_each_other_with(
    tls_pki: TlsPki, tmp_path: Path
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mlgrpc.cli.main", "up"]
        + ["--tls-cert", tls_pki.service_cert, "--tls-key", tls_pki.service_key],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 2
    assert "TLS needs --tls-cert, --tls-key and --tls-ca" in done.stderr
