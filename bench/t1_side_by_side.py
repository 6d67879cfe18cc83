"""Sequential LogMetric of two source trees' tracking servers, side by side in one run.

Before/after pairs of `tracking_bench` run a minute apart; on a shared machine the floor's
durable write alone moved 0.2-2.6 ms between such runs (other sessions' COMMITs on the same disk),
far more than a change to LogMetric's path can. Here both trees' servers run at once, each on its
own fresh MariaDB database, and every round times, in a new random order: one durable write (the
floor's INSERT + COMMIT, bare PyMySQL), and for each tree a no-op call (health) and a LogMetric.
A load that comes and goes then hits both trees alike. Printed: p50 of each part, each tree's
T1 p50 as % of its floor (no-op + write), its LogMetric over that floor (paired per round), its
server's CPU per round (every thread; gRPC's pollers included, so compare the trees, and mind the
spread of an A/A run), and the paired difference of the two trees' LogMetric.

    PYTHONPATH=client:. .venv/bin/python -m bench.t1_side_by_side \\
        --tree before=/path/to/main-worktree --tree after=. [--rounds 600]

Each tree runs as `python -m tracking_service` from its own directory (PYTHONPATH=tree/client:
tree), with this interpreter: the trees must need the same dependencies. Give the same tree
twice to see the spread of the method itself (an A/A run).
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
from collections.abc import Callable
from dataclasses import dataclass

import grpc
import pymysql
from grpc_health.v1 import health_pb2, health_pb2_grpc
from pymysql.constants import CLIENT

from mlgrpc.tracking.v1 import tracking_service_pb2 as pb
from mlgrpc.tracking.v1 import tracking_service_pb2_grpc as pb_grpc


@dataclass
class TreeServer:
    name: str
    process: subprocess.Popen[bytes]
    channel: grpc.Channel
    database: str


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start(name: str, tree: str, admin: pymysql.Connection, host: str, port: int) -> TreeServer:
    database = f"t1_side_{name}_{uuid.uuid4().hex[:8]}"
    with admin.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE `{database}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
    server_port = free_port()
    tree = os.path.abspath(tree)
    process = subprocess.Popen(
        [
            sys.executable, "-m", "tracking_service",
            "--backend-store-uri", f"mysql+pymysql://root@{host}:{port}/{database}?charset=utf8mb4",
            "--default-artifact-root", tempfile.mkdtemp(prefix="t1-side-"),
            "--port", str(server_port), "--log-level", "WARNING",
        ],
        cwd=tree,
        env={**os.environ, "PYTHONPATH": f"{tree}/client:{tree}"},
    )  # fmt: skip
    channel = grpc.insecure_channel(f"127.0.0.1:{server_port}")
    health = health_pb2_grpc.HealthStub(channel)
    deadline = time.monotonic() + 60
    while True:
        try:
            health.Check(health_pb2.HealthCheckRequest(), timeout=1)
            break
        except grpc.RpcError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    return TreeServer(name, process, channel, database)


def cpu_seconds(process: subprocess.Popen[bytes]) -> float:
    """CPU time of every thread of `process` so far (Linux: nanoseconds in each thread's
    schedstat, finer than /proc/PID/stat's clock ticks)."""
    total = 0
    for task in os.listdir(f"/proc/{process.pid}/task"):
        try:
            with open(f"/proc/{process.pid}/task/{task}/schedstat") as stat:
                total += int(stat.read().split()[0])
        except (FileNotFoundError, ProcessLookupError):
            pass  # a thread that ended meanwhile
    return total / 1e9


def measure(
    servers: list[TreeServer], host: str, port: int, rounds: int
) -> tuple[dict[str, list[float]], dict[str, float]]:
    """Per part, its times in ms; per tree, its server's CPU per round in ms (no-op + LogMetric:
    the no-op is the same code in both trees, so their difference is LogMetric's)."""
    steps = iter(range(10**9))
    floor = pymysql.connect(host=host, port=port, user="root", database=servers[0].database,
                            charset="utf8mb4", client_flag=CLIENT.MULTI_STATEMENTS)  # fmt: skip
    cursor = floor.cursor()
    cursor.execute("CREATE TABLE t1_side_floor LIKE metrics")

    def durable_write() -> None:
        cursor.execute(f"INSERT INTO t1_side_floor VALUES ('r', 'k', {next(steps)}, 1, 0.5, 0);"
                       " COMMIT")  # fmt: skip
        while cursor.nextset():
            pass

    parts: dict[str, Callable[[], object]] = {"write": durable_write}
    for server in servers:
        stub = pb_grpc.TrackingServiceStub(server.channel)
        health = health_pb2_grpc.HealthStub(server.channel)
        experiment = stub.CreateExperiment(pb.CreateExperimentRequest(name="t1")).experiment_id
        run = stub.CreateRun(pb.CreateRunRequest(experiment_id=experiment)).run.info.run_id
        check = health_pb2.HealthCheckRequest()
        parts[f"{server.name} no-op"] = lambda health=health, check=check: health.Check(check)
        parts[f"{server.name} LogMetric"] = lambda stub=stub, run=run: stub.LogMetric(
            pb.LogMetricRequest(run_id=run, key="loss", value=0.5, step=next(steps))
        )
    try:
        for call in parts.values():
            for _ in range(100):
                call()
        samples: dict[str, list[float]] = {name: [] for name in parts}
        cpu_before = {server.name: cpu_seconds(server.process) for server in servers}
        order = list(parts.items())
        shuffle = random.Random(17).shuffle
        for _ in range(rounds):
            shuffle(order)
            for name, call in order:
                started = time.perf_counter()
                call()
                samples[name].append((time.perf_counter() - started) * 1000)
        cpu = {server.name: (cpu_seconds(server.process) - cpu_before[server.name]) * 1000 / rounds
               for server in servers}  # fmt: skip
        cursor.execute("DROP TABLE t1_side_floor")
    finally:
        floor.close()
    return samples, cpu


def report(samples: dict[str, list[float]], cpu: dict[str, float], names: list[str]) -> None:
    p50 = {name: statistics.median(values) for name, values in samples.items()}
    for name, value in p50.items():
        print(f"{name:32s} p50 {value:6.3f} ms")
    for name in names:
        noop, log_metric = samples[f"{name} no-op"], samples[f"{name} LogMetric"]
        ratio = (p50[f"{name} no-op"] + p50["write"]) / p50[f"{name} LogMetric"]
        over = [m - n - w for m, n, w in zip(log_metric, noop, samples["write"], strict=True)]
        print(f"{name}: T1 p50 as % of its floor {ratio:.0%}; "
              f"LogMetric over its floor, paired p50 {statistics.median(over):.3f} ms; "
              f"server CPU per round (no-op + LogMetric) {cpu[name]:.3f} ms")  # fmt: skip
    if len(names) == 2:
        first, second = (samples[f"{name} LogMetric"] for name in names)
        difference = [b - a for a, b in zip(first, second, strict=True)]
        print(f"LogMetric {names[1]} - {names[0]}, paired p50 "
              f"{statistics.median(difference):.3f} ms; server CPU per call "
              f"{cpu[names[1]] - cpu[names[0]]:+.3f} ms")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", action="append", required=True, metavar="NAME=PATH",
                        help="a source tree to serve from (give two)")  # fmt: skip
    parser.add_argument("--rounds", type=int, default=600)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3306, help="MariaDB's (root, no password)")
    args = parser.parse_args()
    trees = [tree.split("=", 1) for tree in args.tree]
    admin = pymysql.connect(host=args.host, port=args.port, user="root", autocommit=True)
    servers: list[TreeServer] = []
    try:
        for name, path in trees:
            servers.append(start(name, path, admin, args.host, args.port))
        samples, cpu = measure(servers, args.host, args.port, args.rounds)
    finally:
        for server in servers:
            server.channel.close()
            server.process.send_signal(signal.SIGTERM)
        for server in servers:
            server.process.wait(30)
            with admin.cursor() as cursor:
                cursor.execute(f"DROP DATABASE IF EXISTS `{server.database}`")
        admin.close()
    report(samples, cpu, [name for name, _ in trees])


if __name__ == "__main__":
    main()
