"""Scale-out benchmark: 1 vs 2 stateless service processes behind the client's round_robin.

    .venv/bin/python -m bench.scale_out [--quick] [--duration 8] [--clients 4] [--threads 4]

R1 tracking: N = 1, then N = 2 `python -m tracking_service` processes on ONE MariaDB database
(same `MLGRPC_PAGE_TOKEN_SECRET`), loaded by `--clients` client processes × `--threads` threads
through `mlgrpc.MlgrpcClient("grpc://127.0.0.1:P1,127.0.0.1:P2")`, with a mixed logging load:
each cycle is CreateRun, 5 × LogMetric, one LogBatch (20 metrics, 3 params, 2 tags), GetRun,
SetTag, UpdateRun(FINISHED) = 10 calls. Afterwards the database is checked row by row: every
cycle's run, 25 metric rows, 21 latest-metric rows, 3 params and 3 tags, all runs FINISHED.
R2 scoring: N = 1, then N = 2 `python -m scoring_service` processes (one process each, separate
ports) serving the seed's ElasticNet, loaded the same way with the seed's single-row Predict;
every answer is checked against the in-process prediction.

Figures: calls/s, p50/p99 latency (ms) and the N=2/N=1 ratio. Every process — servers, clients
and MariaDB — shares the machine's cores: on 2 cores the ratio is bounded by them, not by the
services (they share nothing but the database).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench.scoring_bench import (
    PREDICT,
    free_port,
    save_seed_model,
    seed_predict_request,
    start,
    stop,
    wait_until_answering,
)
from bench.tracking_bench import percentile

MYSQL_URL = os.environ.get("MLGRPC_TEST_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306")
SCORING_SERVICE = "mlgrpc.scoring.v1.ScoringService"
CALLS_PER_CYCLE = 10
#: Rows one tracking cycle must leave, whatever replica served which call.
ROWS_PER_CYCLE = {"runs": 1, "metrics": 25, "latest_metrics": 21, "params": 3, "tags": 3}


@dataclass
class LoadResult:
    calls: int = 0
    cycles: int = 0
    errors: int = 0
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    bad_answers: int = 0
    #: Percentiles when only a summary is known (h2load): the worst replica's.
    summary_ms: tuple[float, float] | None = None

    def merge(self, other: LoadResult) -> None:
        self.calls += other.calls
        self.cycles += other.cycles
        self.errors += other.errors
        self.seconds = max(self.seconds, other.seconds)
        self.latencies_ms.extend(other.latencies_ms)
        self.bad_answers += other.bad_answers


#: (load, number of server processes, result, CPU use, verdict of the conflict check)
Measurement = tuple[str, int, LoadResult, "CpuUse", str]


# ---- load, in client processes -----------------------------------------------------------------


def _run_threads(threads: int, start_at: float, duration: float, one_cycle: Callable) -> LoadResult:
    """`threads` threads repeating `one_cycle(record)` from `start_at` for `duration` seconds.

    A cycle that has begun is finished, so that the rows it writes are whole.
    """
    results = [LoadResult() for _ in range(threads)]

    def worker(result: LoadResult) -> None:
        def record(call: Callable[[], Any]) -> Any:
            began = time.perf_counter()
            try:
                answer = call()
            except Exception:  # noqa: BLE001 - counted; the check afterwards tells the damage
                result.errors += 1
                return None
            result.latencies_ms.append((time.perf_counter() - began) * 1000)
            result.calls += 1
            return answer

        one_cycle(lambda call: call())  # warm-up: connections to every replica, not counted
        time.sleep(max(0.0, start_at - time.time()))
        while time.time() < start_at + duration:
            one_cycle(record)
            result.cycles += 1
        result.seconds = time.time() - start_at

    pool = [threading.Thread(target=worker, args=(r,)) for r in results]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    total = LoadResult()
    for result in results:
        total.merge(result)
    return total


def tracking_client_main(
    uri: str, experiment_id: str, threads: int, start_at: float, duration: float
) -> LoadResult:
    """One client process of the tracking load (each thread also runs one warm-up cycle)."""
    import mlgrpc
    from mlgrpc.entities import Metric, Param, RunTag

    client = mlgrpc.MlgrpcClient(uri)

    def one_cycle(record: Callable[[Callable[[], Any]], Any]) -> None:
        run = record(lambda: client.create_run(experiment_id))
        if run is None:
            return
        run_id = run.info.run_id
        for step in range(5):
            record(lambda step=step: client.log_metric(run_id, "loss", 1 / (step + 1), step=step))
        now = int(time.time() * 1000)
        metrics = [Metric(f"m{i}", float(i), now, 0) for i in range(20)]
        params = [Param(f"p{i}", str(i)) for i in range(3)]
        tags = [RunTag("t", "x"), RunTag("u", "y")]
        record(lambda: client.log_batch(run_id, metrics=metrics, params=params, tags=tags))
        record(lambda: client.get_run(run_id))
        record(lambda: client.set_tag(run_id, "phase", "done"))
        record(lambda: client.set_terminated(run_id))

    return _run_threads(threads, start_at, duration, one_cycle)


def scoring_client_main(
    uri: str, expected: float, threads: int, start_at: float, duration: float
) -> LoadResult:
    """One client process of the Predict load; every answer is compared with `expected`."""
    from mlgrpc._channel import get_channel
    from mlgrpc.scoring.v1 import scoring_service_pb2 as pb
    from mlgrpc.scoring.v1 import scoring_service_pb2_grpc as pb_grpc

    stub = pb_grpc.ScoringServiceStub(get_channel(uri, SCORING_SERVICE))
    request = pb.PredictRequest.FromString(seed_predict_request())
    bad = [0]

    def one_cycle(record: Callable[[Callable[[], Any]], Any]) -> None:
        response = record(lambda: stub.Predict(request, timeout=30))
        if response is not None and abs(_first_prediction(response) - expected) > 1e-9:
            bad[0] += 1

    result = _run_threads(threads, start_at, duration, one_cycle)
    result.bad_answers = bad[0]
    return result


def _first_prediction(response: Any) -> float:
    from google.protobuf import json_format

    predictions = json_format.MessageToDict(response)["predictions"]
    return float(predictions[0] if not isinstance(predictions[0], list) else predictions[0][0])


def run_load(
    target: Callable[..., Any],
    args: tuple[Any, ...],
    clients: int,
    duration: float,
    servers: list[Any],
) -> tuple[list[Any], CpuUse]:
    """Run `clients` processes of `target`; also measure where the machine's CPU went."""
    # Spawned, not forked: gRPC's threads do not survive a fork.
    start_at = time.time() + 4  # client processes import mlgrpc and warm up meanwhile
    with ProcessPoolExecutor(clients, mp_context=get_context("spawn")) as pool:
        jobs = [pool.submit(target, *args, start_at, duration) for _ in range(clients)]
        time.sleep(max(0.0, start_at - time.time()))
        before = CpuUse.now([p.pid for p in servers])
        time.sleep(duration)
        used = CpuUse.now([p.pid for p in servers]) - before
        return [job.result() for job in jobs], used


@dataclass
class CpuUse:
    """CPU seconds of the server processes and of the whole machine (busy and idle), Linux."""

    servers: float
    busy: float
    idle: float

    @staticmethod
    def now(pids: list[int]) -> CpuUse:
        tick = os.sysconf("SC_CLK_TCK")
        servers = 0.0
        for pid in pids:
            # utime, stime and those of reaped children, in clock ticks (proc(5)).
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            servers += sum(int(v) for v in fields[11:15]) / tick
        cpu = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
        idle = (cpu[3] + cpu[4]) / tick
        return CpuUse(servers, sum(cpu[:8]) / tick - idle, idle)

    def __sub__(self, other: CpuUse) -> CpuUse:
        return CpuUse(self.servers - other.servers, self.busy - other.busy, self.idle - other.idle)

    def describe(self, seconds: float, calls: float) -> str:
        """Cores used by the servers, their CPU per call, how busy the machine was."""
        share = self.busy / (self.busy + self.idle) if self.busy + self.idle else 0.0
        per_call = self.servers / calls * 1e6 if calls else 0.0
        return (
            f"servers {self.servers / seconds:.2f} cores ({per_call:,.0f} µs CPU per call), "
            f"machine {share:.0%} busy"
        )


# ---- R1: tracking ------------------------------------------------------------------------------


def start_tracking(db_uri: str, artifacts: str, count: int) -> tuple[list[Any], list[str]]:
    processes, addresses = [], []
    for _ in range(count):
        port = free_port()
        processes.append(
            start(
                [
                    sys.executable, "-m", "tracking_service",
                    "--backend-store-uri", db_uri, "--default-artifact-root", artifacts,
                    "--port", str(port), "--log-level", "WARNING",
                ]
            )
        )  # fmt: skip
        addresses.append(f"127.0.0.1:{port}")
        # One at a time: the first migrates the empty database.
        wait_for_tracking(addresses[-1])
    return processes, addresses


def wait_for_tracking(address: str) -> None:
    from mlgrpc.tracking.v1 import tracking_service_pb2 as pb

    body = pb.GetExperimentRequest(experiment_id="0").SerializeToString()
    wait_until_answering(address, "/mlgrpc.tracking.v1.TrackingService/GetExperiment", body)


def count_rows(engine: sa.Engine, experiment_id: str) -> dict[str, int]:
    joined = "JOIN runs r ON r.run_uuid = x.run_uuid WHERE r.experiment_id = :e"
    queries = {
        "runs": "SELECT COUNT(*) FROM runs WHERE experiment_id = :e",
        "finished": "SELECT COUNT(*) FROM runs WHERE experiment_id = :e AND status = 'FINISHED'",
        "metrics": f"SELECT COUNT(*) FROM metrics x {joined}",
        "latest_metrics": f"SELECT COUNT(*) FROM latest_metrics x {joined}",
        "params": f"SELECT COUNT(*) FROM params x {joined}",
        "tags": f"SELECT COUNT(*) FROM tags x {joined} AND x.key IN ('t', 'u', 'phase')",
    }
    with engine.connect() as connection:
        return {
            name: int(connection.execute(sa.text(sql), {"e": int(experiment_id)}).scalar_one())
            for name, sql in queries.items()
        }


def h2load_get_run(
    addresses: list[str], run_id: str, args: argparse.Namespace, servers: list[Any]
) -> tuple[LoadResult, CpuUse]:
    """GetRun of one run by h2load, 8 streams split over the replicas (one h2load each)."""
    from bench.scoring_bench import h2load
    from mlgrpc.tracking.v1 import tracking_service_pb2 as pb

    body = pb.GetRunRequest(run_id=run_id).SerializeToString()
    method = "/mlgrpc.tracking.v1.TrackingService/GetRun"
    per_replica = max(1, 8 // len(addresses))
    seconds = max(2, int(args.duration))
    answers: list[tuple[float, float, float, int]] = []

    def drive(address: str) -> None:
        answers.append(h2load(address, method, body, per_replica, seconds))

    threads = [threading.Thread(target=drive, args=(address,)) for address in addresses]
    before = CpuUse.now([p.pid for p in servers])
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    used = CpuUse.now([p.pid for p in servers]) - before
    result = LoadResult(seconds=float(seconds))
    for rate, _p50, _p99, bad in answers:
        result.calls += int(rate * seconds)
        result.errors += bad
    result.summary_ms = (max(a[1] for a in answers), max(a[2] for a in answers))
    return result, used


def bench_tracking(args: argparse.Namespace) -> list[Measurement]:
    import mlgrpc

    admin = sa.create_engine(args.mysql_url, isolation_level="AUTOCOMMIT")
    name = f"mlgrpc_bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.execute(
            sa.text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
        )
    db_uri = f"{args.mysql_url}/{name}?charset=utf8mb4"
    engine = sa.create_engine(db_uri)
    rows = []
    reads_rows: list[Measurement] = []
    try:
        with tempfile.TemporaryDirectory(prefix="mlgrpc-scale-") as artifacts:
            for count in (1, 2):
                processes, addresses = start_tracking(db_uri, artifacts, count)
                try:
                    uri = "grpc://" + ",".join(addresses)
                    experiment_id = mlgrpc.MlgrpcClient(uri).create_experiment(
                        f"scale-out-{count}-{uuid.uuid4().hex[:6]}"
                    )
                    outputs, cpu = run_load(
                        tracking_client_main,
                        (uri, experiment_id, args.threads),
                        args.clients,
                        args.duration,
                        processes,
                    )
                    # Reads driven by h2load (C, ~no client CPU), one instance per replica:
                    # on 2 cores Python clients would take the CPU the second replica needs.
                    any_run = mlgrpc.MlgrpcClient(uri).search_runs([experiment_id], max_results=1)[
                        0
                    ]
                    run_id = any_run.info.run_id
                    reads, read_cpu = h2load_get_run(addresses, run_id, args, processes)
                finally:
                    for process in processes:
                        stop(process)
                total = LoadResult()
                for result in outputs:
                    total.merge(result)
                # Each thread's warm-up cycle wrote its rows too.
                cycles = total.cycles + args.clients * args.threads
                verdict = check_rows(engine, experiment_id, cycles, total.errors)
                rows.append(("tracking mixed", count, total, cpu, verdict))
                read_verdict = (
                    "OK: every GetRun answered grpc-status 0"
                    if reads.errors == 0 and reads.calls
                    else f"FAILED: {reads.errors} non-OK answers"
                )
                reads_rows.append(("GetRun (h2load)", count, reads, read_cpu, read_verdict))
    finally:
        engine.dispose()
        with admin.connect() as connection:
            connection.execute(sa.text(f"DROP DATABASE IF EXISTS `{name}`"))
        admin.dispose()
    return rows + reads_rows


def check_rows(engine: sa.Engine, experiment_id: str, cycles: int, errors: int) -> str:
    found = count_rows(engine, experiment_id)
    expected = {key: per * cycles for key, per in ROWS_PER_CYCLE.items()}
    expected["finished"] = cycles
    wrong = {k: (found[k], expected[k]) for k in expected if found[k] != expected[k]}
    if wrong or errors:
        return f"MISMATCH {wrong} errors={errors}"
    return f"OK: {cycles} runs, {found['metrics']} metric rows, exactly as expected"


# ---- R2: scoring -------------------------------------------------------------------------------


def bench_scoring(args: argparse.Namespace) -> list[Measurement]:
    import pandas as pd

    import mlgrpc.pyfunc
    from bench.scoring_bench import SEED_COLUMNS, SEED_ROW

    rows = []
    with tempfile.TemporaryDirectory(prefix="mlgrpc-scale-") as tmp:
        model_dir = save_seed_model(Path(tmp))
        frame = pd.DataFrame([SEED_ROW], columns=SEED_COLUMNS)
        expected = float(mlgrpc.pyfunc.load_model(str(model_dir)).predict(frame)[0])
        body = seed_predict_request()
        for count in (1, 2):
            processes, addresses = [], []
            for _ in range(count):
                port = free_port()
                processes.append(
                    start([sys.executable, "-m", "scoring_service", "-m", str(model_dir),
                           "-p", str(port), "--log-level", "WARNING"])
                )  # fmt: skip
                addresses.append(f"127.0.0.1:{port}")
            try:
                for address in addresses:
                    wait_until_answering(address, PREDICT, body)
                outputs, cpu = run_load(
                    scoring_client_main,
                    ("grpc://" + ",".join(addresses), expected, args.threads),
                    args.clients,
                    args.duration,
                    processes,
                )
            finally:
                for process in processes:
                    stop(process)
            total = LoadResult()
            for result in outputs:
                total.merge(result)
            verdict = (
                f"OK: {total.calls} answers = in-process prediction"
                if not total.bad_answers and not total.errors
                else f"MISMATCH bad={total.bad_answers} errors={total.errors}"
            )
            rows.append(("scoring Predict", count, total, cpu, verdict))
    return rows


# ---- report ------------------------------------------------------------------------------------


def print_report(rows: list[Measurement], args: argparse.Namespace) -> None:
    print(
        f"\n{args.clients} client processes × {args.threads} threads, {args.duration:g} s per "
        f"measurement, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}\n"
    )
    print(f"{'load':<16} {'N':>2} {'calls/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'N2/N1':>6}  check")
    first: dict[str, float] = {}
    for load, count, result, cpu, verdict in rows:
        rate = result.calls / result.seconds if result.seconds else 0.0
        first.setdefault(load, rate)
        ratio = f"{rate / first[load]:.2f}" if count > 1 and first[load] else ""
        p50 = percentile(result.latencies_ms, 0.50) if result.latencies_ms else float("nan")
        p99 = percentile(result.latencies_ms, 0.99) if result.latencies_ms else float("nan")
        if result.summary_ms is not None:
            p50, p99 = result.summary_ms
        print(f"{load:<16} {count:>2} {rate:>9,.0f} {p50:>8.2f} {p99:>8.2f} {ratio:>6}  {verdict}")
        usage = cpu.describe(args.duration, rate * args.duration)
        print(f"{'':<16}    CPU during the measurement: {usage}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mysql-url", default=MYSQL_URL)
    parser.add_argument("--duration", type=float, default=8.0, help="seconds per measurement")
    parser.add_argument("--clients", type=int, default=4, help="client processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per client process")
    parser.add_argument("--only", choices=["tracking", "scoring"], help="one part only")
    parser.add_argument("--quick", action="store_true", help="smoke run: 2 s, 2 × 2 clients")
    args = parser.parse_args(argv)
    if args.quick:
        args.duration, args.clients, args.threads = 2.0, 2, 2
    rows = []
    if args.only in (None, "tracking"):
        rows += bench_tracking(args)
    if args.only in (None, "scoring"):
        rows += bench_scoring(args)
    print_report(rows, args)
    return 0 if all(verdict.startswith("OK") for *_, verdict in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
