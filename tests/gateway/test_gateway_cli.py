"""`mlgrpc server gateway` starts the gateway: /health answers, MLflow's routes reach the
tracking service, and SIGTERM stops it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from gateway_helpers import Gateway

REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def cli_gateway(tracking_server: str) -> Iterator[Gateway]:
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": f"{REPO / 'client'}{os.pathsep}{REPO}"}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlgrpc.cli.main",
            "server",
            "gateway",
            "--port",
            str(port),
            "--tracking-address",
            tracking_server,
            "--log-level",
            "WARNING",
        ],
        env=env,
    )
    gateway = Gateway(f"http://127.0.0.1:{port}")
    deadline = time.monotonic() + 60
    while True:
        try:
            if gateway.call("GET", "/health").status == 200:
                break
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail("`mlgrpc server gateway` did not answer /health")
        time.sleep(0.1)
    yield gateway
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0


def test_server_gateway_serves_health_and_mlflows_routes(cli_gateway: Gateway) -> None:
    assert cli_gateway.call("GET", "/health").status == 200
    answer = cli_gateway.get("experiments/get", experiment_id="0")
    assert answer.status == 200
    assert answer.body["experiment"]["name"] == "Default"
