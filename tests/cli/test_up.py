"""`mlgrpc up`: starts tracking and registry, both answer health, SIGTERM stops everything."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _children_of(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie has exited; only its parent has not reaped it yet.
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split()[2] != "Z"


def _serving(address: str) -> bool:
    with grpc.insecure_channel(address) as channel:
        reply = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(), timeout=5
        )
    return reply.status == health_pb2.HealthCheckResponse.SERVING


@pytest.fixture
def up_process(tmp_path: Path):
    tracking_port, registry_port = _free_port(), _free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlgrpc.cli.main",
            "up",
            "--tracking-port",
            str(tracking_port),
            "--registry-port",
            str(registry_port),
        ],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    yield process, tracking_port, registry_port
    if process.poll() is None:
        process.kill()
        process.wait()


def test_up_starts_tracking_and_registry_on_sqlite_and_stops_cleanly_on_sigterm(up_process):
    process, tracking_port, registry_port = up_process
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if "Ctrl-C stops everything" in line:
            break
    output = "".join(lines)
    assert "Ctrl-C stops everything" in output, output
    assert f"tracking SERVING on 127.0.0.1:{tracking_port}" in output
    assert f"registry SERVING on 127.0.0.1:{registry_port}" in output
    assert _serving(f"127.0.0.1:{tracking_port}")
    assert _serving(f"127.0.0.1:{registry_port}")
    children = _children_of(process.pid)
    assert len(children) == 2

    process.send_signal(signal.SIGTERM)
    rest, _ = process.communicate(timeout=60)
    assert process.returncode == 0, output + rest
    assert "stopped" in rest
    assert not [pid for pid in children if _alive(pid)]


def test_up_reports_a_dead_child_and_exits_non_zero(tmp_path: Path):
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    try:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "mlgrpc.cli.main",
                "up",
                "--tracking-port",
                str(busy.getsockname()[1]),
                "--registry-port",
                str(_free_port()),
                "--startup-timeout",
                "30",
            ],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=90,
        )
    finally:
        busy.close()
    assert result.returncode != 0
    assert "tracking" in result.stderr
