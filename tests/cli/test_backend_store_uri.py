"""A backend store URI of no database the stores support is refused before anything starts:
one line on stderr naming what is supported, no traceback, a non-zero exit status."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

#: (URI, what the one line must say about it)
UNSUPPORTED = [
    ("postgres://nope", "postgres databases are not supported"),
    ("postgresql://u@localhost/db", "postgresql databases are not supported"),
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
    assert "sqlite:///" in done.stderr or "mysql+pymysql://" in done.stderr
    assert not (tmp_path / "mlgrpc-artifacts").exists()


@pytest.mark.parametrize("uri", ["postgres://nope", "notauri"])
def test_up_refuses_an_unsupported_store_before_starting_any_service(
    uri: str, tmp_path: Path
) -> None:
    tracking_port, registry_port = _free_port(), _free_port()
    ports = ["--tracking-port", str(tracking_port), "--registry-port", str(registry_port)]
    ports.append("--no-gateway")
    done = _mlgrpc(["up", "--backend-store-uri", uri, *ports], tmp_path)
    _assert_refused(done, "mysql+pymysql://", max_lines=2)
    assert "SERVING" not in done.stdout
    assert not (tmp_path / "mlgrpc-artifacts").exists()


def test_the_supported_store_still_migrates(tmp_path: Path) -> None:
    done = _mlgrpc(["db", "upgrade", "--backend-store-uri", f"sqlite:///{tmp_path}/m.db"], tmp_path)
    assert done.returncode == 0, done.stderr
