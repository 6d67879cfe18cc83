"""MLflow's own HTTP servers (`mlflow server`, `mlflow models serve`) as subprocesses of the
MLflow peer venv on free loopback ports, for tests that compare the gateway with them."""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def mlflow_env(**extra: str) -> dict[str, str]:
    """The environment MLflow's processes run in: no PYTHONPATH of ours, no inherited URI."""
    env = {
        **os.environ,
        # MLflow 3.17 refuses to deserialize any model (skops included) without this.
        "MLFLOW_ALLOW_PICKLE_DESERIALIZATION": "true",
        "PYTHONWARNINGS": "ignore",
    }
    for name in ("PYTHONPATH", "MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI"):
        env.pop(name, None)
    env.update(extra)
    return env


@contextmanager
def mlflow_process(
    mlflow_python: Path, args: list[str], ready_path: str, port: int, env: dict[str, str], log: Path
) -> Iterator[str]:
    """Runs `mlflow ARGS` until it answers GET `ready_path` on `port`; yields its URL and stops
    it (by its own process id) afterwards."""
    url = f"http://127.0.0.1:{port}"
    # As in an activated venv: `mlflow models serve` execs `uvicorn` by name from PATH.
    env = {**env, "PATH": f"{mlflow_python.parent}{os.pathsep}{env.get('PATH', '')}"}
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(mlflow_python.parent / "mlflow"), *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 240
            while True:
                if process.poll() is not None:
                    pytest.fail(f"mlflow {args[0]} exited:\n{log.read_text()[-4000:]}")
                if time.monotonic() > deadline:
                    pytest.fail(f"mlflow {args[0]} did not start:\n{log.read_text()[-4000:]}")
                try:
                    with urllib.request.urlopen(url + ready_path, timeout=5):
                        break
                except (urllib.error.URLError, ConnectionError, TimeoutError):
                    time.sleep(0.5)
            yield url
        finally:
            # The server forks workers into its own session: stop that group, ours only.
            try:
                os.killpg(process.pid, 15)
            except ProcessLookupError:
                pass
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, 9)
                process.wait(timeout=10)
