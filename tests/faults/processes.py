"""Real processes for the fault tests: services started as `python -m …`, and a private mariadbd.

Everything here is started by the test that needs it and stopped by its own process id; nothing
touches the shared MariaDB on port 3306.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_serving(address: str, timeout: float = 60.0, service: str = "") -> float:
    """Seconds until the health check of `address` answers SERVING; TimeoutError after `timeout`."""
    start = time.monotonic()
    with grpc.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while True:
            try:
                reply = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=2)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return time.monotonic() - start
            except grpc.RpcError:
                pass
            if time.monotonic() - start > timeout:
                raise TimeoutError(f"{address} not SERVING after {timeout} s")
            time.sleep(0.05)


class ServiceProcess:
    """`python -m <module> <args>` with its output in a log file, and ways to end it."""

    def __init__(self, module: str, args: Sequence[str], log_path: Path, port: int = 0) -> None:
        self.module = module
        self.args = list(args)
        self.log_path = log_path
        self.port = port
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> ServiceProcess:
        log = self.log_path.open("ab")
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", self.module, *self.args],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        log.close()
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def signal(self, signum: int) -> None:
        assert self.process is not None
        self.process.send_signal(signum)

    def wait(self, timeout: float) -> int:
        assert self.process is not None
        return self.process.wait(timeout)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 15 s: teardown of a test, whatever state it left."""
        process = self.process
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


class PrivateMariaDB:
    """A mariadbd of the test's own: own datadir (owned by `mysql`), TCP port and socket.

    `--no-defaults` keeps Debian's my.cnf (port 3306, its datadir) out of it. Root connects
    over TCP with no password (`--skip-grant-tables`: no accounts to set up).
    """

    def __init__(self, base: Path | None = None) -> None:
        self.base = Path(base or tempfile.mkdtemp(prefix="mlgrpc-mariadb-"))
        self.datadir = self.base / "data"
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @staticmethod
    def unavailable_reason() -> str | None:
        """Why a private mariadbd cannot run here, or None if it can."""
        for tool in ("mariadbd", "mariadb-install-db"):
            if shutil.which(tool) is None and not Path(f"/usr/sbin/{tool}").exists():
                return f"{tool} is not installed"
        if os.geteuid() != 0:
            return "starting mariadbd as the mysql user needs root"
        try:
            import pwd

            pwd.getpwnam("mysql")
        except KeyError:
            return "there is no mysql user"
        return None

    @property
    def url(self) -> str:
        return f"mysql+pymysql://root@127.0.0.1:{self.port}"

    def install(self) -> None:
        shutil.chown(self.base, "mysql", "mysql")
        self.base.chmod(0o755)
        subprocess.run(
            [
                _tool("mariadb-install-db"),
                "--no-defaults",
                "--user=mysql",
                f"--datadir={self.datadir}",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
                "--innodb-log-file-size=8M",
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )

    def start(self, timeout: float = 60.0) -> float:
        """Start mariadbd on the datadir; seconds until it accepts connections."""
        started = time.monotonic()
        log = (self.base / "mariadbd.out").open("ab")
        self.process = subprocess.Popen(
            [
                _tool("mariadbd"),
                "--no-defaults",
                "--user=mysql",
                f"--datadir={self.datadir}",
                f"--port={self.port}",
                "--bind-address=127.0.0.1",
                f"--socket={self.base / 'mariadbd.sock'}",
                f"--pid-file={self.base / 'mariadbd.pid'}",
                f"--log-error={self.base / 'mariadbd.err'}",
                "--skip-grant-tables",
                "--innodb-buffer-pool-size=32M",
                "--innodb-log-file-size=8M",
                "--character-set-server=utf8mb4",
                "--collation-server=utf8mb4_bin",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        while time.monotonic() - started < timeout:
            if self.process.poll() is not None:
                raise RuntimeError(f"mariadbd exited: {self.error_log()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    if s.recv(1):  # the server's greeting: it is ready
                        return time.monotonic() - started
            except OSError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"mariadbd not ready after {timeout} s: {self.error_log()[-2000:]}")

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 60.0) -> float:
        """Stop our mariadbd with `signum` (SIGTERM: clean shutdown, SIGKILL: a crash);
        seconds until it exited."""
        process = self.process
        if process is None or process.poll() is not None:
            return 0.0
        started = time.monotonic()
        process.send_signal(signum)
        process.wait(timeout)
        return time.monotonic() - started

    def error_log(self) -> str:
        path = self.base / "mariadbd.err"
        return path.read_text(errors="replace") if path.exists() else ""

    def remove(self) -> None:
        self.stop(signal.SIGKILL)
        shutil.rmtree(self.base, ignore_errors=True)


def _tool(name: str) -> str:
    return shutil.which(name) or f"/usr/sbin/{name}"
