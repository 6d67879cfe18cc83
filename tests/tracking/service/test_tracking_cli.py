"""The `python -m tracking_service` process: starts, answers, drains on SIGTERM, refuses bad DBs."""

from __future__ import annotations

import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start(tmp_path: Path, db_uri: str, port: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tracking_service",
            "--backend-store-uri",
            db_uri,
            "--default-artifact-root",
            str(tmp_path / "artifacts"),
            "--port",
            str(port),
            "--workers",
            "4",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_serving(address: str, process: subprocess.Popen[str]) -> health_pb2.HealthCheckResponse:
    deadline = time.monotonic() + 60
    with grpc.insecure_channel(address) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        while True:
            assert process.poll() is None, process.communicate()
            try:
                return health.Check(health_pb2.HealthCheckRequest(), timeout=1)
            except grpc.RpcError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)


def test_cli_serves_health_and_exits_zero_on_sigterm(tmp_path: Path) -> None:
    port = _free_port()
    process = _start(tmp_path, f"sqlite:///{tmp_path / 'cli.db'}", port)
    try:
        response = _wait_serving(f"127.0.0.1:{port}", process)
        assert response.status == health_pb2.HealthCheckResponse.SERVING
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, stderr
    assert f"listening on 127.0.0.1:{port}" in stderr


def test_cli_refuses_a_database_at_an_unknown_revision_with_exit_code_2(tmp_path: Path) -> None:
    path = tmp_path / "alien.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)")
        connection.execute("INSERT INTO alembic_version VALUES ('ffffdeadbeef')")
    process = _start(tmp_path, f"sqlite:///{path}", _free_port())
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 2
    assert "ffffdeadbeef" in stderr and "Traceback" not in stderr


def test_mlgrpc_command_dispatches_to_the_tracking_cli() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mlgrpc.cli.main", "server", "tracking", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0 and "--backend-store-uri" in result.stdout
