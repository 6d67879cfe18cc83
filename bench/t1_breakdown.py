"""Where sequential LogMetric's time goes between its floor and T1, in one process, interleaved.

Each round times, one after the other (medians over the rounds, so that a load spike hits all
parts alike): the floor's durable write (bare PyMySQL, INSERT + COMMIT in one trip, as
`tracking_bench` part F); LogMetric's own one-trip script through bare PyMySQL (what the
database does for a LogMetric); `SqlTrackingStore.log_batch` of one metric (the script plus
the store's Python); a no-op gRPC call; LogMetric over gRPC; and, on a bare gRPC server with
the service's options, a handler that returns at once and one that blocks 1 ms without the GIL
(what a sync gRPC server adds when its handler waits on anything, e.g. a database), beside the
same 1 ms sleep with no gRPC at all.

    PYTHONPATH=client:. .venv/bin/python -m bench.t1_breakdown [--rounds 300]
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from concurrent import futures

import grpc
import pymysql
from grpc_health.v1 import health_pb2, health_pb2_grpc
from pymysql.constants import CLIENT

from mlgrpc.tracking.v1 import tracking_service_pb2 as pb
from mlgrpc.tracking.v1 import tracking_service_pb2_grpc as pb_grpc
from mlgrpc_server.bootstrap import SERVER_OPTIONS
from tracking_service import domain
from tracking_service.server import create_server
from tracking_service.store.dialects import mysql_log_batch, mysql_one_query
from tracking_service.store.sql_store import SqlTrackingStore


def bare_server() -> tuple[grpc.Server, int]:
    """A gRPC server with two raw-bytes methods: /t/noop answers at once, /t/block after 1 ms
    of sleep (the GIL released, as while waiting on a database)."""

    def noop(request: bytes, context: grpc.ServicerContext) -> bytes:
        return b""

    def block(request: bytes, context: grpc.ServicerContext) -> bytes:
        time.sleep(0.001)
        return b""

    handler = grpc.method_handlers_generic_handler(
        "t",
        {
            "noop": grpc.unary_unary_rpc_method_handler(noop),
            "block": grpc.unary_unary_rpc_method_handler(block),
        },
    )
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4), options=SERVER_OPTIONS)
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return server, port


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3306, help="MariaDB's (root, no password)")
    args = parser.parse_args()
    db = "t1_breakdown_" + uuid.uuid4().hex[:8]
    admin = pymysql.connect(host=args.host, port=args.port, user="root")
    admin.cursor().execute(f"CREATE DATABASE `{db}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
    uri = f"mysql+pymysql://root@{args.host}:{args.port}/{db}?charset=utf8mb4"
    try:
        measure(uri, db, args.host, args.port, args.rounds)
    finally:
        admin.cursor().execute(f"DROP DATABASE `{db}`")
        admin.close()


def measure(uri: str, db: str, host: str, port: int, rounds: int) -> None:
    running = create_server(backend_store_uri=uri, default_artifact_root=tempfile.mkdtemp(),
                            max_workers=4)  # fmt: skip
    bare, bare_port = bare_server()
    channel = grpc.insecure_channel(f"127.0.0.1:{running.port}")
    stub = pb_grpc.TrackingServiceStub(channel)
    health = health_pb2_grpc.HealthStub(channel)
    bare_channel = grpc.insecure_channel(f"127.0.0.1:{bare_port}")
    bare_noop = bare_channel.unary_unary("/t/noop")
    bare_block = bare_channel.unary_unary("/t/block")
    experiment = stub.CreateExperiment(pb.CreateExperimentRequest(name="t1")).experiment_id
    grpc_run = stub.CreateRun(pb.CreateRunRequest(experiment_id=experiment)).run.info.run_id
    store_run = stub.CreateRun(pb.CreateRunRequest(experiment_id=experiment)).run.info.run_id
    store = SqlTrackingStore(uri, tempfile.mkdtemp())
    flags = CLIENT.MULTI_STATEMENTS | CLIENT.FOUND_ROWS
    connection = pymysql.connect(host=host, port=port, user="root", database=db, charset="utf8mb4",
                                 client_flag=flags)  # fmt: skip
    cursor = connection.cursor()
    cursor.execute("CREATE TABLE floor_writes LIKE metrics")
    steps = itertools.count()
    check = health_pb2.HealthCheckRequest()

    def run_script(sql: str) -> None:
        cursor.execute(sql)
        while cursor.nextset():
            pass

    def floor_write() -> None:
        run_script(f"INSERT INTO floor_writes VALUES ('r', 'k', {next(steps)}, 1, 0.5, 0); COMMIT")

    def log_metric_script() -> None:
        row = (store_run, "script", next(steps), 1, 0.5, 0)
        transaction = mysql_one_query.OneQueryTransaction(cursor)
        mysql_log_batch.add_log_batch(transaction, store_run, [row], [row], {}, {}, "", 1)
        run_script(";\n".join([*transaction.statements, "COMMIT"]))

    parts: dict[str, Callable[[], object]] = {
        "floor: INSERT + COMMIT (bare PyMySQL)": floor_write,
        "LogMetric's script (bare PyMySQL)": log_metric_script,
        "store.log_batch, 1 metric": lambda: store.log_batch(
            store_run, metrics=[domain.Metric("store", 0.5, 1, next(steps))]
        ),
        "floor: no-op gRPC (health)": lambda: health.Check(check),
        "LogMetric over gRPC": lambda: stub.LogMetric(
            pb.LogMetricRequest(run_id=grpc_run, key="grpc", value=0.5, step=next(steps))
        ),
        "bare gRPC handler, returns at once": lambda: bare_noop(b""),
        "bare gRPC handler, sleeps 1 ms": lambda: bare_block(b""),
        "time.sleep(0.001) alone, no gRPC": lambda: time.sleep(0.001),
    }
    samples: dict[str, list[float]] = {name: [] for name in parts}
    try:
        for call in parts.values():
            for _ in range(50):
                call()
        for _ in range(rounds):
            for name, call in parts.items():
                start = time.perf_counter()
                call()
                samples[name].append((time.perf_counter() - start) * 1000)
    finally:
        store.dispose()
        connection.close()
        bare.stop(0)
        running.stop(0)
    p50 = {name: statistics.median(values) for name, values in samples.items()}
    for name in parts:
        print(f"{name:40s} p50 {p50[name]:6.3f} ms")
    floor = p50["floor: INSERT + COMMIT (bare PyMySQL)"] + p50["floor: no-op gRPC (health)"]
    print(f"{'T1 p50 as % of the floor p50 sum':40s} {floor / p50['LogMetric over gRPC']:6.0%}")
    blocked = p50["bare gRPC handler, sleeps 1 ms"] - p50["bare gRPC handler, returns at once"]
    print(f"{'a 1 ms block costs the gRPC call':40s} {blocked:6.3f} ms")
    # What the sync server's thread hop adds when the handler blocks: the block's cost to the
    # call less the same sleep's own length (Linux overshoots a 1 ms sleep by ~0.05-0.1 ms).
    hop = blocked - p50["time.sleep(0.001) alone, no gRPC"]
    print(f"{'of which the server adds (hop)':40s} {hop:6.3f} ms")


if __name__ == "__main__":
    main()
