"""A backend store URI of no database the stores support is refused before anything starts:
one line on stderr naming what is supported, no traceback, a non-zero exit status."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

#: (URI, what the one line must say about it)
UNSUPPORTED = [
    ("postgresql+psycopg2://u@localhost/db", "psycopg 3"),
    ("postgresql://u@localhost", "names no database"),
    ("mssql+pyodbc://u@localhost/db", "mssql databases are not supported"),
    ("notauri", "is not a database URI"),
    ("mysql://root@127.0.0.1:3306/x", "mysql+pymysql://"),
    ("mariadb+pymysql://root@127.0.0.1:3306/x", "mysql+pymysql://"),
    ("mysql+pymysql://root@127.0.0.1:3306", "names no database"),
    ("oracle://scott:tiger@db/x", "oracle databases are not supported"),
]

COMMANDS = {
    "tracking": ["server", "tracking", "--port", "0"],
    "registry": ["server", "registry", "--port", "0"],
    "db upgrade": ["db", "upgrade"],
}


def _argv(command: str, uri: str) -> list[str]:
    if command == "tokens list":  # the URI is an option of `tokens` itself
        return ["tokens", "--backend-store-uri", uri, "list"]
    return [*COMMANDS[command], "--backend-store-uri", uri]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _mlgrpc(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mlgrpc.cli.main", *argv],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )


def _assert_refused(done: subprocess.CompletedProcess[str], says: str, max_lines: int = 1) -> None:
    lines = done.stderr.strip().splitlines()
    assert done.returncode != 0, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    assert 1 <= len(lines) <= max_lines, done.stderr
    assert says in done.stderr, done.stderr


@pytest.mark.parametrize("command", [*COMMANDS, "tokens list"])
@pytest.mark.parametrize(("uri", "says"), UNSUPPORTED, ids=[u for u, _ in UNSUPPORTED])
def test_unsupported_store_is_one_line_naming_what_is_supported(
    command: str, uri: str, says: str, tmp_path: Path
) -> None:
    done = _mlgrpc(_argv(command, uri), tmp_path)
    _assert_refused(done, says)
    assert any(uri in done.stderr for uri in ("sqlite:///", "mysql+pymysql://", "postgresql://"))
    assert not (tmp_path / "mlgrpc-artifacts").exists()


@pytest.mark.parametrize("uri", ["oracle://scott@db/x", "notauri"])
def test_up_refuses_an_unsupported_store_before_starting_any_service(
    uri: str, tmp_path: Path
) -> None:
    tracking_port, registry_port = _free_port(), _free_port()
    ports = ["--tracking-port", str(tracking_port), "--registry-port", str(registry_port)]
    ports.append("--no-gateway")
    done = _mlgrpc(["up", "--backend-store-uri", uri, *ports], tmp_path)
    _assert_refused(done, "postgresql://", max_lines=2)
    assert "SERVING" not in done.stdout
    assert not (tmp_path / "mlgrpc-artifacts").exists()


def test_the_supported_store_still_migrates(tmp_path: Path) -> None:
    done = _mlgrpc(["db", "upgrade", "--backend-store-uri", f"sqlite:///{tmp_path}/m.db"], tmp_path)
    assert done.returncode == 0, done.stderr


def test_up_on_postgresql_serves_all_three_services_on_the_one_schema(
    tmp_path: Path, new_database: Callable[[str], str]
) -> None:
    """`mlgrpc up --backend-store-uri postgresql://…` (psycopg named by us, not the operator):
    the schema is migrated, and an experiment and a metric written through the MLflow REST API
    are read back from the tracking service."""
    database = new_database("postgresql").replace("postgresql+psycopg://", "postgresql://")
    ports = {name: _free_port() for name in ("tracking", "registry", "gateway")}
    argv = [sys.executable, "-m", "mlgrpc.cli.main", "up", "--backend-store-uri", database]
    for name, port in ports.items():
        argv += [f"--{name}-port", str(port)]
    process = subprocess.Popen(argv, cwd=tmp_path, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)  # fmt: skip
    try:
        assert process.stdout is not None
        lines: list[str] = []
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and "Ctrl-C stops everything" not in "".join(lines):
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line)
        assert "Ctrl-C stops everything" in "".join(lines), "".join(lines)
        base = f"http://127.0.0.1:{ports['gateway']}/api/2.0/mlflow"
        created = _post(f"{base}/experiments/create", {"name": "on-postgresql"})
        run = _post(f"{base}/runs/create", {"experiment_id": created["experiment_id"]})
        run_id = run["run"]["info"]["run_id"]
        metric = {"run_id": run_id, "key": "rmse", "value": 0.5, "timestamp": 1, "step": 0}
        _post(f"{base}/runs/log-metric", metric)
        got = _post(f"{base}/runs/search", {"experiment_ids": [created["experiment_id"]],
                                             "filter": "metrics.rmse < 1"})  # fmt: skip
        assert [r["info"]["run_id"] for r in got["runs"]] == [run_id]
        process.send_signal(signal.SIGTERM)
        rest, _ = process.communicate(timeout=60)
        assert process.returncode == 0, "".join(lines) + rest
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def _post(url: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})  # fmt: skip
    with urllib.request.urlopen(request, timeout=30) as reply:
        return json.loads(reply.read())
