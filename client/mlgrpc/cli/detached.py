"""The services `mlgrpc up --detach` leaves running, and `mlgrpc down`, which stops them.

`up --detach` starts each service in a session of its own with its output in
`<run dir>/<name>.log`, and writes `<run dir>/up.json` (pid, address, log and command line of
each) as soon as they are started, before it waits for SERVING: a launch that is interrupted can
still be cleaned up with `mlgrpc down`. It returns 0 once every service answers SERVING; if one
does not, it stops them all, shows the end of that one's log and returns 1.

`mlgrpc down` signals only processes whose command line is still the one recorded (a pid may have
been reused since), SIGTERM to each one's process group (a scoring service's workers too, and
SIGTERM lets calls in flight finish), SIGKILL to what is left after `--timeout`; the pid file is
removed once nothing it lists runs.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from mlgrpc.cli.up import (
    DEFAULT_RUN_DIR,
    Child,
    child_environ,
    mlflow_hint,
    shown_address,
    stop_all,
    wait_serving,
)

PID_FILE = "up.json"
#: Lines of a service's log shown when it did not become SERVING.
LOG_TAIL_LINES = 15


@dataclass(frozen=True)
class Recorded:
    """One started service, as the pid file keeps it."""

    name: str
    pid: int
    address: str
    log: str
    argv: list[str]


def read_pid_file(path: Path) -> list[Recorded]:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return []
    return [Recorded(**entry) for entry in data["services"]]


def _write_pid_file(path: Path, services: list[Recorded]) -> None:
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps({"services": [asdict(s) for s in services]}, indent=2))
    temporary.replace(path)  # never a half-written file for `mlgrpc down` to read


def is_running(service: Recorded) -> bool:
    """Whether the recorded process still runs the recorded command (a zombie has exited)."""
    try:
        os.kill(service.pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    proc = Path(f"/proc/{service.pid}")
    if not proc.exists():
        return True  # no /proc (macOS): the live pid is all there is to go by
    try:
        state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        command = (proc / "cmdline").read_bytes().split(b"\0")[:-1]
    except OSError:
        return False
    return state != "Z" and command == [os.fsencode(arg) for arg in service.argv]


def _log_tail(path: Path) -> str:
    try:
        lines = path.read_text(errors="replace").rstrip().splitlines()
    except OSError:
        return ""
    return "\n".join(lines[-LOG_TAIL_LINES:])


def _down_command(run_dir: str) -> str:
    same = Path(run_dir).resolve() == Path(DEFAULT_RUN_DIR).resolve()
    return "mlgrpc down" if same else f"mlgrpc down --run-dir {run_dir}"


def start_detached(args: argparse.Namespace, children: list[Child]) -> int:
    """Start `children` in the background, wait until each is SERVING, record them, return."""
    run_dir = Path(args.run_dir).resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    pid_file = run_dir / PID_FILE
    still_running = [s for s in read_pid_file(pid_file) if is_running(s)]
    if still_running:
        names = ", ".join(f"{s.name} (pid {s.pid})" for s in still_running)
        print(
            f"mlgrpc up: {names} still running from an earlier `mlgrpc up --detach`; "
            f"`{_down_command(args.run_dir)}` stops them",
            file=sys.stderr,
        )
        return 1
    environ = {**child_environ(args), "PYTHONUNBUFFERED": "1"}
    recorded: list[Recorded] = []
    try:
        for child in children:
            log_path = run_dir / f"{child.name}.log"
            with open(log_path, "wb") as log:
                child.process = subprocess.Popen(
                    child.argv,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    env=environ,
                    start_new_session=True,  # outlives us, and is stopped as a group
                )
            recorded.append(
                Recorded(child.name, child.process.pid, child.address, str(log_path), child.argv)
            )
            _write_pid_file(pid_file, recorded)
        deadline = time.monotonic() + args.startup_timeout
        for child, record in zip(children, recorded, strict=True):
            if not wait_serving(child, deadline, args):
                stop_all(children)
                pid_file.unlink(missing_ok=True)
                print(
                    f"mlgrpc up: {child.name} did not become SERVING on {child.address}; "
                    f"{record.log} ends with:\n{_log_tail(Path(record.log))}",
                    file=sys.stderr,
                )
                return 1
    except KeyboardInterrupt:
        stop_all(children)
        pid_file.unlink(missing_ok=True)
        print("mlgrpc up: interrupted; stopped what was started", file=sys.stderr)
        return 130
    for child, record in zip(children, recorded, strict=True):
        print(
            f"mlgrpc up: {record.name:<8} SERVING on {shown_address(child, args)} "
            f"(pid {record.pid}, log {record.log})"
        )
    hint = mlflow_hint(children)
    if hint:
        print(hint)
    print(
        f"mlgrpc up: running in the background (pid file {pid_file}); "
        f"`{_down_command(args.run_dir)}` stops them",
        flush=True,
    )
    return 0


# ---- mlgrpc down ----


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="mlgrpc down", description="Stop the services `mlgrpc up --detach` started."
    )
    parser.add_argument(
        "--run-dir",
        default=os.environ.get("MLGRPC_RUN_DIR", DEFAULT_RUN_DIR),
        help="the --run-dir given to `mlgrpc up --detach` (env MLGRPC_RUN_DIR; "
        "default %(default)s)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=30.0,
        help="seconds to let the services finish calls in flight before SIGKILL (default 30)",
    )
    return parser.parse_args(argv)


def _signal_group(pid: int, signum: int) -> None:
    try:
        os.killpg(pid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def stop(services: list[Recorded], timeout: float) -> list[Recorded]:
    """Stop the services that still run; the ones that had to be killed are returned."""
    running = [s for s in services if is_running(s)]
    for service in reversed(running):  # scoring, then registry, then tracking
        _signal_group(service.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(is_running(s) for s in running):
        time.sleep(0.1)
    killed = [s for s in running if is_running(s)]
    for service in running:
        # A group's leader gone, its workers may linger for a moment: sweep every group.
        _signal_group(service.pid, signal.SIGKILL)
    return killed


def main(argv: list[str]) -> int:
    args = _parse(argv)
    pid_file = Path(args.run_dir).resolve() / PID_FILE
    if not pid_file.exists():
        print(
            f"mlgrpc down: nothing to stop ({pid_file} does not exist: `mlgrpc up --detach` "
            "writes it; a foreground `mlgrpc up` stops with Ctrl-C or SIGTERM)"
        )
        return 0
    services = read_pid_file(pid_file)
    running = {s.pid for s in services if is_running(s)}
    killed = {s.pid for s in stop(services, args.timeout)}
    for service in services:
        if service.pid not in running:
            outcome = "was not running"
        elif service.pid in killed:
            outcome = f"killed after {args.timeout:g} s"
        else:
            outcome = "stopped"
        print(f"mlgrpc down: {service.name:<8} {service.address} (pid {service.pid}) {outcome}")
    pid_file.unlink(missing_ok=True)
    return 0
