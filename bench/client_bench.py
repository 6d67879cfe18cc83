"""Client benchmark: what `mlgrpc.log_metric` costs the training loop.

    .venv/bin/python -m bench.client_bench            # tracking server on a fresh MariaDB db
    .venv/bin/python -m bench.client_bench --sqlite   # … on a fresh SQLite file
    .venv/bin/python -m bench.client_bench --with-mlflow   # also MLflow, see mlflow_side()

C1 async: caller-side µs per `log_metric(..., synchronous=False)` over 100,000 calls (target
≤ 5 µs), then the time `flush()` needs until all of them are stored.
C2 sync: latency of 2,000 synchronous `log_metric` calls (p50 / p99).
The server is a `python -m tracking_service` subprocess on a free port; the database is created
at the start and dropped at the end.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

MYSQL_URL = os.environ.get("MLGRPC_TEST_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306")
ASYNC_CALLS = 100_000
SYNC_CALLS = 2_000
MLFLOW_VENV = Path("/work/.venv-mlflow")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def fresh_database(use_sqlite: bool, workdir: Path) -> Iterator[str]:
    """A new empty database URI; a MariaDB one is dropped afterwards."""
    if use_sqlite:
        yield f"sqlite:///{workdir / 'bench.db'}"
        return
    import sqlalchemy as sa

    name = f"mlgrpc_bench_client_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(MYSQL_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"))
    try:
        yield f"{MYSQL_URL}/{name}?charset=utf8mb4"
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS `{name}`"))
        admin.dispose()


@contextmanager
def server_process(argv: list[str], ready: Callable[[], bool], what: str) -> Iterator[None]:
    """Run a server (in its own process group) until the block ends; wait until it answers.

    Its output goes to a file, not a pipe: a chatty server blocks once a pipe's buffer is full.
    The whole group is stopped at the end (`mlflow server` forks workers and job runners).
    """
    with tempfile.TemporaryFile("w+") as log:
        process = subprocess.Popen(argv, stdout=log, stderr=log, start_new_session=True)
        try:
            deadline = time.monotonic() + 90
            while not ready():
                if process.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    raise RuntimeError(f"{what} did not start: {log.read()[-2000:]}")
                time.sleep(0.3)
            yield
        finally:
            stop_group(process)


def stop_group(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the server's process group, SIGKILL to whatever is left after 15 s."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()


def mlgrpc_ready(uri: str) -> Callable[[], bool]:
    def ready() -> bool:
        import mlgrpc
        from mlgrpc.exceptions import MlgrpcException

        try:
            mlgrpc.MlgrpcClient(uri).get_experiment("0")
            return True
        except MlgrpcException:
            return False

    return ready


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def bench_mlgrpc(uri: str) -> dict[str, float]:
    import mlgrpc

    mlgrpc.set_tracking_uri(uri)
    mlgrpc.set_experiment(f"client-bench-{uuid.uuid4().hex[:8]}")
    figures: dict[str, float] = {}
    with mlgrpc.start_run() as run:
        log_metric = mlgrpc.log_metric
        mlgrpc.log_metric("warmup", 0.0, synchronous=False)
        mlgrpc.flush()
        started = time.perf_counter()
        for step in range(ASYNC_CALLS):
            log_metric("loss", 0.5, step=step, synchronous=False)
        loop = time.perf_counter() - started
        mlgrpc.flush()
        total = time.perf_counter() - started
        figures["async µs/call (caller)"] = loop / ASYNC_CALLS * 1e6
        figures["async flush after loop s"] = total - loop
        figures["async total metrics/s"] = ASYNC_CALLS / total
        stored = len(mlgrpc.MlgrpcClient().get_metric_history(run.info.run_id, "loss"))
        assert stored == ASYNC_CALLS, f"only {stored} of {ASYNC_CALLS} metrics stored"

        latencies = []
        for step in range(SYNC_CALLS):
            t0 = time.perf_counter()
            log_metric("sync_loss", 0.5, step=step, synchronous=True)
            latencies.append(time.perf_counter() - t0)
        figures["sync p50 ms"] = statistics.median(latencies) * 1e3
        figures["sync p99 ms"] = percentile(latencies, 0.99) * 1e3
        figures["sync calls/s"] = SYNC_CALLS / sum(latencies)
    return figures


def run_mlgrpc(use_sqlite: bool) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp, fresh_database(use_sqlite, Path(tmp)) as db:
        port = free_port()
        argv = [
            sys.executable, "-m", "tracking_service",
            "--backend-store-uri", db,
            "--default-artifact-root", str(Path(tmp) / "artifacts"),
            "--port", str(port), "--log-level", "WARNING",
        ]  # fmt: skip
        uri = f"grpc://127.0.0.1:{port}"
        with server_process(argv, mlgrpc_ready(uri), "tracking service"):
            return bench_mlgrpc(uri)


# ---- MLflow, in its own virtualenv -------------------------------------------------------------

MLFLOW_CLIENT_SCRIPT = r"""
import json, statistics, sys, time, uuid
import mlflow
mlflow.set_tracking_uri(sys.argv[1])
mlflow.set_experiment("client-bench-" + uuid.uuid4().hex[:8])
calls, sync_calls = int(sys.argv[2]), int(sys.argv[3])
out = {}
with mlflow.start_run():
    mlflow.log_metric("warmup", 0.0, synchronous=False)
    mlflow.flush_async_logging()
    t0 = time.perf_counter()
    for step in range(calls):
        mlflow.log_metric("loss", 0.5, step=step, synchronous=False)
    loop = time.perf_counter() - t0
    mlflow.flush_async_logging()
    total = time.perf_counter() - t0
    out["async µs/call (caller)"] = loop / calls * 1e6
    out["async flush after loop s"] = total - loop
    out["async total metrics/s"] = calls / total
    lat = []
    for step in range(sync_calls):
        t = time.perf_counter()
        mlflow.log_metric("sync_loss", 0.5, step=step)
        lat.append(time.perf_counter() - t)
    lat.sort()
    out["sync p50 ms"] = statistics.median(lat) * 1e3
    out["sync p99 ms"] = lat[min(len(lat) - 1, int(0.99 * len(lat)))] * 1e3
    out["sync calls/s"] = sync_calls / sum(lat)
print(json.dumps(out))
"""


def run_mlflow(use_sqlite: bool, async_calls: int, sync_calls: int) -> dict[str, float]:
    """`mlflow server` on a fresh database, the same loops through `mlflow.log_metric`."""
    import json
    import urllib.request

    python = MLFLOW_VENV / "bin" / "python"
    if not python.exists():
        raise SystemExit(
            f"--with-mlflow needs {MLFLOW_VENV}: python -m venv {MLFLOW_VENV} && "
            f"{MLFLOW_VENV}/bin/pip install mlflow pymysql"
        )
    with tempfile.TemporaryDirectory() as tmp, fresh_database(use_sqlite, Path(tmp)) as db:
        port = free_port()
        argv = [
            str(MLFLOW_VENV / "bin" / "mlflow"), "server",
            "--backend-store-uri", db,
            "--default-artifact-root", str(Path(tmp) / "mlartifacts"),
            "--host", "127.0.0.1", "--port", str(port), "--workers", "2",
        ]  # fmt: skip
        url = f"http://127.0.0.1:{port}"

        def ready() -> bool:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                    return response.status == 200
            except OSError:
                return False

        with server_process(argv, ready, "mlflow server"):
            done = subprocess.run(
                [str(python), "-c", MLFLOW_CLIENT_SCRIPT, url, str(async_calls), str(sync_calls)],
                capture_output=True, text=True, timeout=3600, check=False,
            )  # fmt: skip
            if done.returncode != 0:
                raise RuntimeError(done.stderr[-3000:])
            return json.loads(done.stdout.strip().splitlines()[-1])


def print_table(results: dict[str, dict[str, float]]) -> None:
    names = list(results)
    keys = list(next(iter(results.values())))
    print(f"{'figure':32}" + "".join(f"{n:>22}" for n in names))
    for key in keys:
        row = "".join(f"{results[n].get(key, float('nan')):>22,.3f}" for n in names)
        print(f"{key:32}{row}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sqlite", action="store_true", help="SQLite instead of MariaDB")
    parser.add_argument("--with-mlflow", action="store_true", help="also measure MLflow")
    parser.add_argument(
        "--mlflow-async-calls", type=int, default=ASYNC_CALLS, help="MLflow's async loop length"
    )
    args = parser.parse_args(argv)
    backend = "SQLite" if args.sqlite else "MariaDB"
    results = {f"mlgrpc ({backend})": run_mlgrpc(args.sqlite)}
    if args.with_mlflow:
        results[f"MLflow ({backend})"] = run_mlflow(
            args.sqlite, args.mlflow_async_calls, SYNC_CALLS
        )
    print(f"C1: {ASYNC_CALLS:,} async log_metric calls; C2: {SYNC_CALLS:,} synchronous calls")
    print_table(results)
    print("target: async caller cost <= 5 µs/call")
    return 0


if __name__ == "__main__":
    sys.exit(main())
