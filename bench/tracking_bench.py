"""Tracking-service benchmark: a server subprocess on a fresh MariaDB database, one client.

    .venv/bin/python -m bench.tracking_bench [--quick] [--mysql-url mysql+pymysql://root@127.0.0.1:3306]

F floors of T1 (no-op gRPC call, durable write) · T1 sequential LogMetric · T1F the two
interleaved round by round (the like-for-like ratio on a loaded machine) · T2 ingestion
(LogBatch, LogStream, bare PyMySQL executemany floor) ·
T3 runs with params and tags (one CreateRun; and CreateRun + LogBatch) · T4 SearchRuns over
10,000 runs · T5 GetMetricHistory.
The database is created at the start and dropped at the end.
"""

from __future__ import annotations

import argparse
import os
import random
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
from dataclasses import dataclass

import grpc
import pymysql
import sqlalchemy as sa
from grpc_health.v1 import health_pb2, health_pb2_grpc
from pymysql.constants import CLIENT

from mlgrpc.tracking.v1 import tracking_service_pb2 as pb
from mlgrpc.tracking.v1 import tracking_service_pb2_grpc as pb_grpc

CHANNEL_OPTIONS = [
    ("grpc.so_reuseport", 0),
    ("grpc.max_receive_message_length", 64 * 1024 * 1024),
    ("grpc.max_send_message_length", 64 * 1024 * 1024),
]


@dataclass
class Row:
    test: str
    figure: float
    unit: str
    target: str
    ok: bool | None  # None: informational


def at_least(test: str, figure: float, unit: str, minimum: float) -> Row:
    return Row(test, figure, unit, f">= {minimum:,g}", figure >= minimum)


def at_most(test: str, figure: float, unit: str, maximum: float) -> Row:
    return Row(test, figure, unit, f"<= {maximum:,g}", figure <= maximum)


def info(test: str, figure: float, unit: str) -> Row:
    return Row(test, figure, unit, "", None)


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def timed(call: Callable[[], object], repeat: int) -> list[float]:
    """Milliseconds of each of `repeat` calls."""
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def settle_statistics(db_uri: str | sa.engine.URL) -> None:
    """What a database's own maintenance does within a minute of a bulk load, done now, before
    the load is searched: PostgreSQL's planner works from statistics that autovacuum's ANALYZE
    refreshes in the background; searched seconds after 10,000 runs were written into empty
    tables, it still believes them empty and nests loops over all of them (41 ms instead of
    17 ms for T4's filter, measured). MariaDB's InnoDB recomputes its statistics as rows arrive."""
    engine = sa.create_engine(db_uri, isolation_level="AUTOCOMMIT")
    try:
        if engine.dialect.name == "postgresql":
            with engine.connect() as conn:
                conn.execute(sa.text("ANALYZE"))
    finally:
        engine.dispose()


class BenchServer:
    """A fresh MariaDB (or PostgreSQL) database and a tracking server subprocess on it."""

    def __init__(self, mysql_url: str, workers: int, py_spy_output: str = "") -> None:
        self.postgresql = mysql_url.startswith("postgresql")
        admin_url = f"{mysql_url}/postgres" if self.postgresql else mysql_url
        self.admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
        self.db_name = f"mlgrpc_bench_{uuid.uuid4().hex[:10]}"
        create = (
            f"CREATE DATABASE \"{self.db_name}\" ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C' "
            "TEMPLATE template0"
            if self.postgresql
            else f"CREATE DATABASE `{self.db_name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
        )
        with self.admin.connect() as conn:
            conn.execute(sa.text(create))
        self.db_uri = (
            f"{mysql_url}/{self.db_name}"
            if self.postgresql
            else f"{mysql_url}/{self.db_name}?charset=utf8mb4"
        )
        self.artifacts = tempfile.TemporaryDirectory(prefix="mlgrpc-bench-")
        self.port = free_port()
        self.process = subprocess.Popen(
            [
                sys.executable, "-m", "tracking_service",
                "--backend-store-uri", self.db_uri,
                "--default-artifact-root", self.artifacts.name,
                "--port", str(self.port),
                "--workers", str(workers),
                "--log-level", "WARNING",
            ],
        )  # fmt: skip
        self.address = f"127.0.0.1:{self.port}"
        self._wait_serving()
        self.profiler: subprocess.Popen[bytes] | None = None
        if py_spy_output:
            # Sample the server (not this client) until close(); "raw" = collapsed stacks.
            self.profiler = subprocess.Popen(
                [
                    os.path.join(os.path.dirname(sys.executable), "py-spy"), "record",
                    "--pid", str(self.process.pid), "--rate", "250", "--nonblocking",
                    "--format", "raw", "--output", py_spy_output,
                ],
            )  # fmt: skip
            time.sleep(1)  # let it attach

    def _wait_serving(self) -> None:
        deadline = time.monotonic() + 60
        with grpc.insecure_channel(self.address) as channel:
            health = health_pb2_grpc.HealthStub(channel)
            while True:
                if self.process.poll() is not None:
                    raise RuntimeError(f"tracking server exited with {self.process.returncode}")
                try:
                    health.Check(health_pb2.HealthCheckRequest(), timeout=1)
                    return
                except grpc.RpcError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.2)

    def close(self) -> None:
        if self.profiler is not None:
            self.profiler.send_signal(signal.SIGINT)  # py-spy writes its output on SIGINT
            self.profiler.wait(60)
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        with self.admin.connect() as conn:
            quoted = f'"{self.db_name}" WITH (FORCE)' if self.postgresql else f"`{self.db_name}`"
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS {quoted}"))
        self.admin.dispose()
        self.artifacts.cleanup()


def new_run(stub: pb_grpc.TrackingServiceStub, experiment_id: str) -> str:
    return stub.CreateRun(pb.CreateRunRequest(experiment_id=experiment_id)).run.info.run_id


def metric_batch(key: str, start_step: int, size: int, timestamp: int) -> list[pb.Metric]:
    return [
        pb.Metric(key=key, value=random.random(), timestamp=timestamp, step=start_step + i)
        for i in range(size)
    ]


def t1_log_metric(stub, experiment_id: str, calls: int) -> list[Row]:
    run_id = new_run(stub, experiment_id)
    for i in range(100):  # warm the connection pool and code paths
        stub.LogMetric(pb.LogMetricRequest(run_id=run_id, key="warm", value=i, step=i))
    requests = [
        pb.LogMetricRequest(run_id=run_id, key="loss", value=random.random(), step=i)
        for i in range(calls)
    ]
    it = iter(requests)
    start = time.perf_counter()
    samples = timed(lambda: stub.LogMetric(next(it)), calls)
    rate = calls / (time.perf_counter() - start)
    return [
        at_least(f"T1 LogMetric x{calls} sequential", rate, "calls/s", 1000),
        info("T1 LogMetric p50", percentile(samples, 0.5), "ms"),
        at_most("T1 LogMetric p99", percentile(samples, 0.99), "ms", 5),
    ]


def t2_ingestion(stub, experiment_id: str, bench: BenchServer, batches: int) -> list[Row]:
    size = 1000
    total = batches * size
    prepared = [metric_batch("ingest", b * size, size, 1_700_000_000_000) for b in range(batches)]
    warm = new_run(stub, experiment_id)
    stub.LogBatch(pb.LogBatchRequest(run_id=warm, metrics=prepared[0]))

    run_id = new_run(stub, experiment_id)
    requests = [pb.LogBatchRequest(run_id=run_id, metrics=m) for m in prepared]
    start = time.perf_counter()
    for request in requests:
        stub.LogBatch(request)
    batch_rate = total / (time.perf_counter() - start)

    run_id = new_run(stub, experiment_id)
    stream_requests = [pb.LogStreamRequest(run_id=run_id, metrics=m) for m in prepared]
    start = time.perf_counter()
    summary = stub.LogStream(iter(stream_requests))
    stream_rate = total / (time.perf_counter() - start)
    assert summary.metrics_written == total

    rates = [
        at_least(f"T2 LogBatch {batches}x1000 metrics", batch_rate, "metrics/s", 100_000),
        at_least(f"T2 LogStream {batches}x1000 metrics", stream_rate, "metrics/s", 100_000),
    ]
    if bench.postgresql:  # the floor is bare PyMySQL: MariaDB only
        return rates
    floor_rate = pymysql_floor(bench, prepared)
    return [
        *rates,
        info("T2 floor: PyMySQL executemany", floor_rate, "rows/s"),
        at_least("T2 LogBatch / floor", 100 * batch_rate / floor_rate, "%", 60),
        at_least("T2 LogStream / floor", 100 * stream_rate / floor_rate, "%", 60),
    ]


def pymysql_floor(bench: BenchServer, prepared: list[list[pb.Metric]]) -> float:
    """Bare PyMySQL executemany of the same rows, one transaction per 1,000, into a twin table."""
    url = sa.engine.make_url(bench.db_uri)
    connection = pymysql.connect(
        host=url.host, port=url.port or 3306, user=url.username, password=url.password or "",
        database=url.database, charset="utf8mb4",
    )  # fmt: skip
    run_id = uuid.uuid4().hex
    rows = [[(run_id, m.key, m.step, m.timestamp, m.value, 0) for m in batch] for batch in prepared]
    try:
        with connection.cursor() as cursor:
            cursor.execute("CREATE TABLE bench_floor_metrics LIKE metrics")
        start = time.perf_counter()
        for batch in rows:
            with connection.cursor() as cursor:
                cursor.executemany(
                    "INSERT INTO bench_floor_metrics "
                    "(run_uuid, `key`, step, timestamp, value, value_kind) "
                    "VALUES (%s, %s, %s, %s, %s, %s)",
                    batch,
                )
            connection.commit()
        elapsed = time.perf_counter() - start
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE bench_floor_metrics")
    finally:
        connection.close()
    return sum(len(b) for b in rows) / elapsed


@contextmanager
def durable_writes(bench: BenchServer, rows: int = 1) -> Iterator[Callable[[], None]]:
    """One durable write per call: an INSERT of `rows` rows (one multi-row statement) and its
    COMMIT in one round trip of bare PyMySQL (as LogMetric's own script and LogBatch's
    multi-row INSERT), into a twin of `metrics` dropped at the end."""
    url = sa.engine.make_url(bench.db_uri)
    connection = pymysql.connect(
        host=url.host, port=url.port or 3306, user=url.username, password=url.password or "",
        database=url.database, charset="utf8mb4", client_flag=CLIENT.MULTI_STATEMENTS,
    )  # fmt: skip
    table = f"bench_floor_writes_{rows}"  # one per size: two may be open at once
    steps = iter(range(0, 10**15, rows))
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE TABLE {table} LIKE metrics")

            def durable_write() -> None:
                first = next(steps)  # integers only: the text is built here, not escaped
                batch = range(first, first + rows)
                values = ",".join(f"('r','k',{step},1,0.5,0)" for step in batch)
                cursor.execute(f"INSERT INTO {table} VALUES {values}; COMMIT")
                while cursor.nextset():
                    pass

            for _ in range(max(5, 100 // rows)):  # warm: 100 single rows, 5 of a batch
                durable_write()
            yield durable_write
            cursor.execute(f"DROP TABLE {table}")
    finally:
        connection.close()


def floors(channel: grpc.Channel, bench: BenchServer, calls: int) -> list[Row]:
    """What no LogMetric can beat on this machine, measured in the same run: a no-op gRPC call
    (the health check, same Python client and server process) and one durable write (an
    INSERT and its COMMIT in one round trip of bare PyMySQL, as LogMetric's own script). Their
    sum bounds T1; on a machine where it is over 1 ms, T1's 1,000 calls/s cannot be reached by
    any service that answers after its COMMIT."""
    health = health_pb2_grpc.HealthStub(channel)
    check = health_pb2.HealthCheckRequest()
    for _ in range(100):
        health.Check(check)
    noop_ms = statistics.median(timed(lambda: health.Check(check), calls))
    with durable_writes(bench) as durable_write:
        write_ms = statistics.median(timed(durable_write, calls))
    return [
        info("floor: no-op gRPC call (health) p50", noop_ms, "ms"),
        info("floor: INSERT + COMMIT, one trip p50", write_ms, "ms"),
        info("floor: T1 bound, 1 / (no-op + write)", 1000 / (noop_ms + write_ms), "calls/s"),
    ]


def t1_interleaved(
    channel: grpc.Channel, stub, bench: BenchServer, experiment_id: str, rounds: int
) -> list[Row]:
    """T1 against its floors with every round timing one no-op call, one durable write and one
    LogMetric, one after the other: a load that comes and goes (a shared machine) hits the three
    alike, where F then T1 measure them seconds apart (there the floor's write alone moved
    0.34-1.15 ms between runs a minute apart)."""
    health = health_pb2_grpc.HealthStub(channel)
    check = health_pb2.HealthCheckRequest()
    run_id = new_run(stub, experiment_id)
    steps = iter(range(10**9))

    def log_metric() -> None:
        stub.LogMetric(pb.LogMetricRequest(run_id=run_id, key="loss", value=0.5, step=next(steps)))

    samples: dict[str, list[float]] = {"noop": [], "write": [], "log_metric": []}
    with durable_writes(bench) as durable_write:
        parts = {"noop": lambda: health.Check(check), "write": durable_write,
                 "log_metric": log_metric}  # fmt: skip
        for call in parts.values():
            for _ in range(100):
                call()
        for _ in range(rounds):
            for name, call in parts.items():
                samples[name] += timed(call, 1)
    p50 = {name: statistics.median(values) for name, values in samples.items()}
    # Per round, what LogMetric took beyond its two floors: the part a change to the service can
    # move, and steadier than the ratio when the disk's COMMITs come and go (0.2-2.6 ms).
    over = [call - noop - write for noop, write, call in zip(*samples.values(), strict=True)]
    return [
        info("T1+F interleaved: no-op p50", p50["noop"], "ms"),
        info("T1+F interleaved: INSERT + COMMIT p50", p50["write"], "ms"),
        info("T1+F interleaved: LogMetric p50", p50["log_metric"], "ms"),
        info(
            "T1+F interleaved: T1 p50 as % of floor",
            100 * (p50["noop"] + p50["write"]) / p50["log_metric"],
            "%",
        ),
        info("T1+F interleaved: LogMetric over its floor, p50", statistics.median(over), "ms"),
    ]


def t3_create_runs(stub, experiment_id: str, runs: int) -> list[Row]:
    """Runs with 10 params and 5 tags: in one CreateRun (params and tags in its request, one
    transaction), and as MLflow clients do it, CreateRun then LogBatch."""
    params = [pb.Param(key=f"param_{i}", value=str(i)) for i in range(10)]
    tags = [pb.RunTag(key=f"tag_{i}", value="v") for i in range(5)]
    one_call = pb.CreateRunRequest(experiment_id=experiment_id, params=params, tags=tags)
    stub.CreateRun(one_call)  # the service learns the experiment's artifact location
    start = time.perf_counter()
    for _ in range(runs):
        stub.CreateRun(one_call)
    one_call_rate = runs / (time.perf_counter() - start)
    start = time.perf_counter()
    for _ in range(runs):
        run_id = new_run(stub, experiment_id)
        stub.LogBatch(pb.LogBatchRequest(run_id=run_id, params=params, tags=tags))
    two_call_rate = runs / (time.perf_counter() - start)
    return [
        at_least(f"T3 CreateRun(10p,5t) x{runs}, one call", one_call_rate, "runs/s", 500),
        at_least(f"T3 CreateRun+LogBatch(10p,5t) x{runs}", two_call_rate, "runs/s", 500),
    ]


def seed_search_runs(stub, experiment_id: str, runs: int) -> None:
    values = [f"{v / 10:.1f}" for v in range(1, 11)]  # "0.1" … "1.0"
    for i in range(runs):
        run_id = new_run(stub, experiment_id)
        stub.LogBatch(
            pb.LogBatchRequest(
                run_id=run_id,
                metrics=[
                    pb.Metric(key="rmse", value=random.random(), timestamp=1),
                    pb.Metric(key="r2", value=random.random(), timestamp=1),
                    pb.Metric(key="mae", value=random.random(), timestamp=1),
                ],
                params=[
                    pb.Param(key="alpha", value=values[i % 10]),
                    pb.Param(key="l1_ratio", value=values[(i // 10) % 10]),
                ],
                tags=[pb.RunTag(key="team", value="ml")],
            )
        )


def t4_search(stub, experiment_id: str, runs: int, repeat: int, db_uri: str) -> list[Row]:
    seed_search_runs(stub, experiment_id, runs)
    settle_statistics(db_uri)
    filtered = pb.SearchRunsRequest(
        experiment_ids=[experiment_id],
        filter="metrics.rmse < 0.5 and params.alpha = '0.1'",
        order_by=["metrics.rmse"],
        max_results=100,
    )
    ordered = pb.SearchRunsRequest(
        experiment_ids=[experiment_id], order_by=["metrics.r2 DESC"], max_results=100
    )
    assert stub.SearchRuns(filtered).runs and len(stub.SearchRuns(ordered).runs) == 100
    filtered_p50 = statistics.median(timed(lambda: stub.SearchRuns(filtered), repeat))
    ordered_p50 = statistics.median(timed(lambda: stub.SearchRuns(ordered), repeat))

    def page_all() -> None:
        request = pb.SearchRunsRequest(experiment_ids=[experiment_id], max_results=1000)
        seen = 0
        while True:
            response = stub.SearchRuns(request)
            seen += len(response.runs)
            if not response.next_page_token:
                break
            request.page_token = response.next_page_token
        assert seen == runs, seen

    paging = statistics.median(timed(page_all, 3)) / 1000
    return [
        at_most(f"T4 SearchRuns filter+order, 100 of {runs} p50", filtered_p50, "ms", 10),
        at_most(f"T4 SearchRuns order by metric, 100 of {runs} p50", ordered_p50, "ms", 15),
        at_most(f"T4 SearchRuns page all {runs}, 1000/page", paging, "s", 0.5),
    ]


def t5_history(stub, experiment_id: str, points: int, repeat: int) -> list[Row]:
    run_id = new_run(stub, experiment_id)
    for start in range(0, points, 1000):
        stub.LogBatch(
            pb.LogBatchRequest(run_id=run_id, metrics=metric_batch("hist", start, 1000, 1))
        )
    request = pb.GetMetricHistoryRequest(run_id=run_id, metric_key="hist")
    assert len(stub.GetMetricHistory(request).metrics) == points
    series = pb.GetMetricHistoryRequest(
        run_id=run_id, metric_key="hist", view=pb.METRIC_HISTORY_VIEW_SERIES
    )
    assert len(stub.GetMetricHistory(series).series.values) == points
    p50 = statistics.median(timed(lambda: stub.GetMetricHistory(request), repeat))
    series_p50 = statistics.median(timed(lambda: stub.GetMetricHistory(series), repeat))
    return [
        at_most(f"T5 GetMetricHistory {points} points p50, Metric view", p50, "ms", 30),
        at_most(f"T5 GetMetricHistory {points} points p50, series view", series_p50, "ms", 30),
    ]


def print_table(rows: list[Row]) -> None:
    width = max(len(r.test) for r in rows)
    print(f"{'test':<{width}}  {'figure':>12}  {'unit':<9}  {'target':<10}  ok")
    print("-" * (width + 42))
    for r in rows:
        verdict = "" if r.ok is None else ("yes" if r.ok else "NO")
        figure = f"{r.figure:,.0f}" if r.figure >= 100 else f"{r.figure:.2f}"
        print(f"{r.test:<{width}}  {figure:>12}  {r.unit:<9}  {r.target:<10}  {verdict}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    parser.add_argument(
        "--mysql-url",
        default=os.environ.get("MLGRPC_TEST_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306"),
        help="the database server (no database): MariaDB/MySQL, or postgresql://USER@HOST:PORT",
    )
    parser.add_argument("--workers", type=int, default=16, help="server threads")
    parser.add_argument(
        "--py-spy", default="", metavar="FILE", help="sample the server with py-spy into FILE"
    )
    parser.add_argument(
        "--only",
        default="",
        help="comma-separated subset, e.g. F,T1,T4 (F: the floors of T1; T1F: T1 and its floors"
        " interleaved, round by round)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    quick = args.quick
    search_runs = 1000 if quick else 10_000
    repeat = 10 if quick else 30
    everything = {"F", "T1", "T1F", "T2", "T3", "T4", "T5"}
    selected = set(args.only.upper().split(",")) if args.only else everything
    random.seed(7)
    bench = BenchServer(args.mysql_url, args.workers, args.py_spy)
    rows: list[Row] = []
    try:
        with grpc.insecure_channel(bench.address, options=CHANNEL_OPTIONS) as channel:
            stub = pb_grpc.TrackingServiceStub(channel)

            def experiment() -> str:
                name = f"bench-{uuid.uuid4().hex[:8]}"
                return stub.CreateExperiment(pb.CreateExperimentRequest(name=name)).experiment_id

            steps: dict[str, Callable[[], list[Row]]] = {
                "F": lambda: floors(channel, bench, 300 if quick else 2000),
                "T1": lambda: t1_log_metric(stub, experiment(), 300 if quick else 2000),
                "T1F": lambda: t1_interleaved(
                    channel, stub, bench, experiment(), 300 if quick else 2000
                ),
                "T2": lambda: t2_ingestion(stub, experiment(), bench, 20 if quick else 200),
                "T3": lambda: t3_create_runs(stub, experiment(), 50 if quick else 200),
                "T4": lambda: t4_search(stub, experiment(), search_runs, repeat, bench.db_uri),
                "T5": lambda: t5_history(stub, experiment(), 10_000, repeat),
            }
            for name, step in steps.items():
                if name in selected:
                    rows += step()
                    print(f"{name} done", file=sys.stderr, flush=True)
    finally:
        bench.close()
    print_table([*rows, *t1_against_floor(rows)])
    return 0


def t1_against_floor(rows: list[Row]) -> list[Row]:
    """T1 as % of the floor of the same run, both ways: the calls/s of T1 (a mean: every stall of
    a loaded machine counts) against the floor's bound (from medians), and T1's p50 against the
    sum of the floors' p50s (like against like)."""
    figures = {row.test: row.figure for row in rows}
    bound = figures.get("floor: T1 bound, 1 / (no-op + write)")
    rate = next((row.figure for row in rows if row.test.startswith("T1 LogMetric x")), None)
    p50 = figures.get("T1 LogMetric p50")
    if bound is None or rate is None or p50 is None:
        return []
    floor_ms = figures["floor: no-op gRPC call (health) p50"]
    floor_ms += figures["floor: INSERT + COMMIT, one trip p50"]
    return [
        info("T1 calls/s as % of the floor's bound", 100 * rate / bound, "%"),
        info("T1 p50 as % of the floor (p50s)", 100 * floor_ms / p50, "%"),
    ]


if __name__ == "__main__":
    sys.exit(main())
