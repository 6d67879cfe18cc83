"""Mixed load: 32 concurrent clients logging, searching and registering against MariaDB.

    .venv/bin/python -m bench.load_mixed [--seconds 30] [--processes 1] [--threads 32]

Starts a tracking server and a registry server (subprocesses) on a fresh MariaDB database,
seeds one experiment, then runs `processes × threads` client threads for `--seconds`. Each client
picks its next call at random with the weights of MIX: LogMetric, LogBatch (100 metrics),
SearchRuns (a filter and an order, 100 runs a page), GetRun, CreateRegisteredModel,
CreateModelVersion, SetRegisteredModelAlias and GetModelVersionByAlias. Prints calls/s overall
and per kind, p50/p99 per kind, and every error (there must be none: exit status 1 otherwise).
The database is dropped at the end.
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

import grpc

from bench.tracking_bench import CHANNEL_OPTIONS, BenchServer, free_port, percentile
from mlgrpc.registry.v1 import registry_service_pb2 as rpb
from mlgrpc.registry.v1 import registry_service_pb2_grpc as rpb_grpc
from mlgrpc.tracking.v1 import tracking_service_pb2 as tpb
from mlgrpc.tracking.v1 import tracking_service_pb2_grpc as tpb_grpc

#: Call kind → weight. Logging dominates, as in training; registry writes are rarer.
MIX: dict[str, int] = {
    "LogMetric": 30,
    "LogBatch": 10,
    "SearchRuns": 12,
    "GetRun": 18,
    "CreateRegisteredModel": 4,
    "CreateModelVersion": 8,
    "SetRegisteredModelAlias": 8,
    "GetModelVersionByAlias": 10,
}
#: Registered models shared by all clients: versions and aliases contend on their rows.
SHARED_MODELS = 4
CALL_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Target:
    tracking: str
    registry: str
    experiment_id: str
    shared_models: tuple[str, ...]


@dataclass
class Tally:
    """One client's (or one process's) results: latencies in ms by kind, and the errors."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: Counter[str] = field(default_factory=Counter)
    first_errors: list[str] = field(default_factory=list)

    def merge(self, other: Tally) -> None:
        for kind, samples in other.latencies.items():
            self.latencies[kind].extend(samples)
        self.errors.update(other.errors)
        self.first_errors.extend(other.first_errors[: max(0, 10 - len(self.first_errors))])


class Client:
    """One simulated user: its own run and model; a stub pair on its process's channels."""

    def __init__(
        self,
        target: Target,
        tracking: tpb_grpc.TrackingServiceStub,
        registry: rpb_grpc.ModelRegistryServiceStub,
        seed: int,
    ) -> None:
        self.target = target
        self.tracking = tracking
        self.registry = registry
        self.random = random.Random(seed)
        self.tag = uuid.uuid4().hex[:8]
        self.run_id = tracking.CreateRun(
            tpb.CreateRunRequest(experiment_id=target.experiment_id, run_name=f"load-{self.tag}"),
            timeout=CALL_TIMEOUT_S,
        ).run.info.run_id
        self.step = 0
        self.models_created = 0
        self.calls: dict[str, Callable[[], object]] = {
            "LogMetric": self.log_metric,
            "LogBatch": self.log_batch,
            "SearchRuns": self.search_runs,
            "GetRun": self.get_run,
            "CreateRegisteredModel": self.create_model,
            "CreateModelVersion": self.create_version,
            "SetRegisteredModelAlias": self.set_alias,
            "GetModelVersionByAlias": self.get_by_alias,
        }
        self.kinds = list(MIX)
        self.weights = [MIX[k] for k in self.kinds]

    def log_metric(self) -> object:
        self.step += 1
        return self.tracking.LogMetric(
            tpb.LogMetricRequest(
                run_id=self.run_id, key="loss", value=self.random.random(), step=self.step
            ),
            timeout=CALL_TIMEOUT_S,
        )

    def log_batch(self) -> object:
        now = time.time_ns() // 1_000_000
        metrics = [
            tpb.Metric(key=f"m{i % 5}", value=self.random.random(), timestamp=now, step=self.step)
            for i in range(100)
        ]
        self.step += 1
        return self.tracking.LogBatch(
            tpb.LogBatchRequest(run_id=self.run_id, metrics=metrics), timeout=CALL_TIMEOUT_S
        )

    def search_runs(self) -> object:
        return self.tracking.SearchRuns(
            tpb.SearchRunsRequest(
                experiment_ids=[self.target.experiment_id],
                filter="metrics.loss < 0.5",
                order_by=["metrics.loss ASC"],
                max_results=100,
            ),
            timeout=CALL_TIMEOUT_S,
        )

    def get_run(self) -> object:
        return self.tracking.GetRun(tpb.GetRunRequest(run_id=self.run_id), timeout=CALL_TIMEOUT_S)

    def create_model(self) -> object:
        self.models_created += 1
        return self.registry.CreateRegisteredModel(
            rpb.CreateRegisteredModelRequest(name=f"load-{self.tag}-{self.models_created}"),
            timeout=CALL_TIMEOUT_S,
        )

    def _shared_model(self) -> str:
        return self.random.choice(self.target.shared_models)

    def create_version(self) -> object:
        return self.registry.CreateModelVersion(
            rpb.CreateModelVersionRequest(
                name=self._shared_model(), source=f"runs:/{self.run_id}/model"
            ),
            timeout=CALL_TIMEOUT_S,
        )

    def set_alias(self) -> object:
        # Version 1 of every shared model exists from the seeding: the alias moves between
        # existing versions only, so the call always has a valid target.
        return self.registry.SetRegisteredModelAlias(
            rpb.SetRegisteredModelAliasRequest(
                name=self._shared_model(), alias=f"a{self.random.randrange(4)}", version=1
            ),
            timeout=CALL_TIMEOUT_S,
        )

    def get_by_alias(self) -> object:
        return self.registry.GetModelVersionByAlias(
            rpb.GetModelVersionByAliasRequest(name=self._shared_model(), alias="champion"),
            timeout=CALL_TIMEOUT_S,
        )

    def run_until(self, deadline: float, tally: Tally) -> None:
        while time.monotonic() < deadline:
            kind = self.random.choices(self.kinds, self.weights)[0]
            start = time.perf_counter()
            try:
                self.calls[kind]()
            except grpc.RpcError as error:
                tally.errors[f"{kind} {error.code().name}"] += 1  # type: ignore[attr-defined]
                if len(tally.first_errors) < 10:
                    tally.first_errors.append(f"{kind}: {error.details()}")  # type: ignore[attr-defined]
                continue
            tally.latencies[kind].append((time.perf_counter() - start) * 1000)


def run_clients(target: Target, threads: int, seconds: float, seed: int) -> Tally:
    """`threads` clients in this process sharing one channel per service, for `seconds`."""
    with (
        grpc.insecure_channel(target.tracking, options=CHANNEL_OPTIONS) as tracking_channel,
        grpc.insecure_channel(target.registry, options=CHANNEL_OPTIONS) as registry_channel,
    ):
        tracking = tpb_grpc.TrackingServiceStub(tracking_channel)
        registry = rpb_grpc.ModelRegistryServiceStub(registry_channel)
        clients = [Client(target, tracking, registry, seed * 1000 + i) for i in range(threads)]
        tallies = [Tally() for _ in clients]
        deadline = time.monotonic() + seconds
        workers = [
            threading.Thread(target=c.run_until, args=(deadline, t), daemon=True)
            for c, t in zip(clients, tallies, strict=True)
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    total = Tally()
    for tally in tallies:
        total.merge(tally)
    return total


def _process_main(target: Target, threads: int, seconds: float, seed: int, queue: object) -> None:
    tally = run_clients(target, threads, seconds, seed)
    queue.put((dict(tally.latencies), tally.errors, tally.first_errors))  # type: ignore[attr-defined]


def run_load(target: Target, processes: int, threads: int, seconds: float) -> Tally:
    if processes == 1:
        return run_clients(target, threads, seconds, seed=1)
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    children = [
        context.Process(target=_process_main, args=(target, threads, seconds, p + 1, queue))
        for p in range(processes)
    ]
    for child in children:
        child.start()
    total = Tally()
    for _ in children:
        latencies, errors, first_errors = queue.get(timeout=seconds + 120)
        total.merge(Tally(defaultdict(list, latencies), Counter(errors), first_errors))
    for child in children:
        child.join()
    return total


class RegistryProcess:
    """A registry server subprocess beside the bench's tracking server, on its database."""

    def __init__(self, db_uri: str, tracking_address: str, workers: int) -> None:
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [
                sys.executable, "-m", "registry_service",
                "--backend-store-uri", db_uri,
                "--tracking-address", tracking_address,
                "--port", str(self.port),
                "--workers", str(workers),
                "--log-level", "WARNING",
            ],
        )  # fmt: skip
        with grpc.insecure_channel(self.address) as channel:
            grpc.channel_ready_future(channel).result(timeout=60)

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def seed(tracking_address: str, registry_address: str) -> Target:
    with (
        grpc.insecure_channel(tracking_address, options=CHANNEL_OPTIONS) as tc,
        grpc.insecure_channel(registry_address, options=CHANNEL_OPTIONS) as rc,
    ):
        tracking = tpb_grpc.TrackingServiceStub(tc)
        registry = rpb_grpc.ModelRegistryServiceStub(rc)
        experiment_id = tracking.CreateExperiment(
            tpb.CreateExperimentRequest(name=f"load-{uuid.uuid4().hex[:8]}")
        ).experiment_id
        run_id = tracking.CreateRun(tpb.CreateRunRequest(experiment_id=experiment_id)).run.info
        names = []
        for i in range(SHARED_MODELS):
            name = f"shared-{i}"
            registry.CreateRegisteredModel(rpb.CreateRegisteredModelRequest(name=name))
            registry.CreateModelVersion(
                rpb.CreateModelVersionRequest(name=name, source=f"runs:/{run_id.run_id}/model")
            )
            registry.SetRegisteredModelAlias(
                rpb.SetRegisteredModelAliasRequest(name=name, alias="champion", version=1)
            )
            names.append(name)
    return Target(tracking_address, registry_address, experiment_id, tuple(names))


def report(tally: Tally, seconds: float, clients: int, label: str) -> None:
    total = sum(len(s) for s in tally.latencies.values())
    errors = sum(tally.errors.values())
    print(f"\n{label}: {clients} clients, {seconds:g} s")
    print(f"{'kind':<26}{'calls':>8}{'calls/s':>10}{'p50 ms':>9}{'p99 ms':>9}")
    for kind in MIX:
        samples = tally.latencies.get(kind, [])
        if not samples:
            print(f"{kind:<26}{0:>8}")
            continue
        print(
            f"{kind:<26}{len(samples):>8}{len(samples) / seconds:>10.1f}"
            f"{percentile(samples, 0.5):>9.2f}{percentile(samples, 0.99):>9.2f}"
        )
    every = [x for s in tally.latencies.values() for x in s]
    p99 = percentile(every, 0.99) if every else float("nan")
    print(f"{'all':<26}{total:>8}{total / seconds:>10.1f}{'':>9}{p99:>9.2f}")
    print(f"errors: {errors}" + (f" {dict(tally.errors)}" if errors else ""))
    for message in tally.first_errors:
        print(f"  {message[:300]}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="length of the load (s)")
    parser.add_argument("--processes", type=int, default=1, help="client processes")
    parser.add_argument(
        "--threads", type=int, default=32, help="client threads per process (32 in all)"
    )
    parser.add_argument(
        "--tracking-workers", type=int, default=16, help="tracking server threads (its default)"
    )
    parser.add_argument(
        "--registry-workers", type=int, default=32, help="registry server threads (its default)"
    )
    parser.add_argument("--mysql-url", default="mysql+pymysql://root@127.0.0.1:3306")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    bench = BenchServer(args.mysql_url, args.tracking_workers)
    registry = None
    try:
        registry = RegistryProcess(bench.db_uri, bench.address, args.registry_workers)
        target = seed(bench.address, registry.address)
        tally = run_load(target, args.processes, args.threads, args.seconds)
        clients = args.processes * args.threads
        report(tally, args.seconds, clients, f"{args.processes} process(es) × {args.threads}")
        return 1 if sum(tally.errors.values()) else 0
    finally:
        if registry is not None:
            registry.close()
        bench.close()


if __name__ == "__main__":
    sys.exit(main())
