"""`mlgrpc up`: starts tracking and registry, both answer health, SIGTERM stops everything."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from itertools import pairwise
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
    tracking_port, registry_port, gateway_port = _free_port(), _free_port(), _free_port()
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
            "--gateway-port",
            str(gateway_port),
        ],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    yield process, tracking_port, registry_port, gateway_port
    if process.poll() is None:
        process.kill()
        process.wait()


def test_up_starts_tracking_and_registry_on_sqlite_and_stops_cleanly_on_sigterm(up_process):
    process, tracking_port, registry_port, gateway_port = up_process
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
    assert f"gateway  SERVING on http://127.0.0.1:{gateway_port}" in output
    assert f"MLFLOW_TRACKING_URI=http://127.0.0.1:{gateway_port}" in output
    assert f"web UI http://127.0.0.1:{gateway_port}/" in output
    assert _serving(f"127.0.0.1:{tracking_port}")
    assert _serving(f"127.0.0.1:{registry_port}")
    with urllib.request.urlopen(f"http://127.0.0.1:{gateway_port}/health", timeout=5) as reply:
        assert reply.status == 200
    children = _children_of(process.pid)
    assert len(children) == 3

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
                "--no-gateway",
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


def _port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _mlgrpc(*argv: str, cwd: Path, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mlgrpc.cli.main", *argv],
        cwd=cwd,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=timeout,
    )


def _recorded_pids(run_dir: Path) -> list[int]:
    pid_file = run_dir / "up.json"
    if not pid_file.exists():
        return []
    return [service["pid"] for service in json.loads(pid_file.read_text())["services"]]


def _kill_groups(pids: list[int]) -> None:
    for pid in pids:
        try:
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def test_up_detach_returns_once_serving_and_down_stops_everything(tmp_path: Path) -> None:
    tracking_port, registry_port, gateway_port = _free_port(), _free_port(), _free_port()
    run_dir = tmp_path / "run"
    ports = ["--tracking-port", str(tracking_port), "--registry-port", str(registry_port)]
    ports += ["--gateway-port", str(gateway_port)]
    pids: list[int] = []
    try:
        up = _mlgrpc("up", "--detach", *ports, "--run-dir", str(run_dir), cwd=tmp_path)
        pids = _recorded_pids(run_dir)
        assert up.returncode == 0, up.stdout + up.stderr
        assert f"tracking SERVING on 127.0.0.1:{tracking_port}" in up.stdout
        assert f"registry SERVING on 127.0.0.1:{registry_port}" in up.stdout
        assert f"log {run_dir / 'tracking.log'}" in up.stdout
        assert f"mlgrpc down --run-dir {run_dir}" in up.stdout
        assert f"MLFLOW_TRACKING_URI=http://127.0.0.1:{gateway_port}" in up.stdout
        # Returned means serving: the next command needs no wait.
        assert _serving(f"127.0.0.1:{tracking_port}")
        assert _serving(f"127.0.0.1:{registry_port}")
        assert len(pids) == 3 and all(_alive(pid) for pid in pids)

        again = _mlgrpc("up", "--detach", *ports, "--run-dir", str(run_dir), cwd=tmp_path)
        assert again.returncode == 1
        assert "in use" in again.stderr
        assert all(_alive(pid) for pid in pids)

        down = _mlgrpc("down", "--run-dir", str(run_dir), cwd=tmp_path)
        assert down.returncode == 0, down.stdout + down.stderr
        assert down.stdout.count(" stopped") == 3, down.stdout
        assert not [pid for pid in pids if _alive(pid)]
        assert _port_is_free(tracking_port) and _port_is_free(registry_port)
        assert _port_is_free(gateway_port)
        assert not (run_dir / "up.json").exists()

        nothing = _mlgrpc("down", "--run-dir", str(run_dir), cwd=tmp_path)
        assert nothing.returncode == 0 and "nothing to stop" in nothing.stdout
    finally:
        _kill_groups([pid for pid in pids if _alive(pid)])


def _processes_started_for(port: int) -> list[int]:
    """Live processes whose command line has `--port <port>`."""
    pids = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            argv = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        flagged = (b"--port", str(port).encode()) in pairwise(argv)
        if flagged and _alive(int(cmdline.parent.name)):
            pids.append(int(cmdline.parent.name))
    return pids


def test_up_detach_stops_everything_when_a_service_is_not_serving_in_time(
    tmp_path: Path,
) -> None:
    tracking_port, registry_port = _free_port(), _free_port()
    run_dir = tmp_path / "run"
    up = _mlgrpc(
        "up", "--detach", "--tracking-port", str(tracking_port), "--registry-port",
        str(registry_port), "--no-gateway", "--run-dir", str(run_dir), "--startup-timeout", "0",
        cwd=tmp_path,
    )  # fmt: skip
    left = _processes_started_for(tracking_port) + _processes_started_for(registry_port)
    _kill_groups(left)
    assert up.returncode == 1, up.stdout + up.stderr
    assert f"tracking did not become SERVING on 127.0.0.1:{tracking_port}" in up.stderr
    assert str(run_dir / "tracking.log") in up.stderr
    assert not left
    assert not (run_dir / "up.json").exists()


def test_down_leaves_alone_a_process_that_reused_a_recorded_pid(tmp_path: Path) -> None:
    stranger = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        run_dir = tmp_path / "run"
        run_dir.mkdir()
        service = {
            "name": "tracking",
            "pid": stranger.pid,
            "address": "127.0.0.1:1",
            "log": str(run_dir / "tracking.log"),
            "argv": [sys.executable, "-m", "tracking_service"],
        }
        (run_dir / "up.json").write_text(json.dumps({"services": [service]}))
        down = _mlgrpc("down", "--run-dir", str(run_dir), cwd=tmp_path, timeout=60)
        assert down.returncode == 0, down.stderr
        assert "was not running" in down.stdout
        assert stranger.poll() is None
    finally:
        stranger.kill()
        stranger.wait()


def test_up_with_a_model_gives_the_gateway_the_scoring_address() -> None:
    """The registry page asks the scoring service that `up` starts which version it serves."""
    from mlgrpc.cli import up

    def gateway_args(argv: list[str]) -> list[str]:
        children = up._children(up._parse(argv))
        return next(child for child in children if child.name == "gateway").argv

    served = gateway_args(["--model", "models:/wine@champion", "--scoring-port", "50077"])
    at = served.index("--scoring-address")
    assert served[at + 1].endswith(":50077")
    assert "--scoring-address" not in gateway_args([])
