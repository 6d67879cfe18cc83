"""Where the gateway's W2 page and W3 log_batch spend their time (issue #14 point 7).

    PYTHONPATH=client:. .venv/bin/python -m bench.gateway_breakdown [--runs 2000] [--rounds 15]

One fresh MariaDB database, a tracking service in a subprocess on it (`BenchServer`, as the
gateway bench starts it) and a gateway subprocess before it; this process times, as medians
of `--rounds` interleaved rounds:

- (a) a SearchRuns page of 1,000 runs: the store's `search_runs` in this process (the same
  database), the servicer's proto assembly and serialization, the gRPC call to the service,
  the gateway's proto → JSON (`convert.run_json`) and orjson, and the HTTP POST `runs/search`
  through the gateway (raw HTTP: no MLflow client parsing);
- (b) a log_batch of 1,000 metrics: the gateway's JSON → proto (`json.loads`, its handler),
  the store's `log_batch` in this process, the gRPC LogBatch, and the HTTP POST `runs/log-batch`.

Then the CPU time the gateway and the tracking service processes spend per HTTP request of
each kind (from /proc, over `--rounds` × 2 requests): on a shared machine, where wall times move
with the load, the CPU a request costs each process moves much less. MariaDB's own CPU is not
shown: other clients of the same server would be counted in it.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import orjson

from bench.gateway_bench import SERVER_URLS, populate_ours, seed_runs, wait_http_ok
from bench.tracking_bench import BenchServer, free_port
from gateway import convert, tracking_routes
from mlgrpc._channel import TRACKING_SERVICE, get_channel
from mlgrpc.tracking.v1 import tracking_service_pb2 as pb
from mlgrpc.tracking.v1 import tracking_service_pb2_grpc as pb_grpc
from tracking_service import convert as service_convert
from tracking_service.store.sql_store import SqlTrackingStore


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


class Timings:
    def __init__(self) -> None:
        self.samples: dict[str, list[float]] = {}

    def time(self, name: str, call: Callable[[], Any]) -> Any:
        start = time.perf_counter()
        result = call()
        self.samples.setdefault(name, []).append(time.perf_counter() - start)
        return result

    def show(self) -> None:
        for name, samples in self.samples.items():
            print(f"{name:58s} p50 {median_ms(samples):8.2f} ms  (min {min(samples) * 1000:.2f})")


def search_response(store: SqlTrackingStore, experiment_id: str, timings: Timings) -> bytes:
    """What the servicer does for SearchRuns, piece by piece."""
    page = timings.time(
        "a1 store.search_runs 1,000 runs",
        lambda: store.search_runs([experiment_id], max_results=1000),
    )

    def assemble() -> pb.SearchRunsResponse:
        response = pb.SearchRunsResponse(next_page_token=page.next_page_token)
        for run in page.items:
            service_convert.fill_run(response.runs.add(), run)
        return response

    response = timings.time("a2 servicer: domain → proto (fill_run ×1,000)", assemble)
    timings.time(
        "a3 store.get_runs_io (datasets/models of the page)",
        lambda: store.get_runs_io([run.info.run_id for run in page.items]),
    )
    data: bytes = timings.time("a4 SerializeToString", response.SerializeToString)
    return data


def log_batch_body(run_id: str, step: int) -> bytes:
    """The body MLflow's client sends for log_batch of 1,000 metrics (`message_to_json`)."""
    metrics = [
        {"key": "ingest", "value": (step + i) % 997 / 997, "timestamp": 1_700_000_000_000,
         "step": step + i}
        for i in range(1000)
    ]  # fmt: skip
    return json.dumps({"run_id": run_id, "metrics": metrics, "params": [], "tags": []}).encode()


def post(connection: http.client.HTTPConnection, path: str, body: bytes) -> bytes:
    connection.request("POST", path, body, {"Content-Type": "application/json"})
    response = connection.getresponse()
    data = response.read()
    if response.status != 200:
        raise RuntimeError(f"{path}: {response.status} {data[:300]!r}")
    return data


class RecordingCalls:
    """The gateway's handler's calls, recorded instead of sent (what it would send)."""

    def call(self, method: str, request: Any) -> None:
        self.request = request

    async def call_async(self, method: str, request: Any) -> None:
        self.request = request


def finish(coroutine: Coroutine[Any, Any, Any]) -> Any:
    """A handler's coroutine run to its end without an event loop: with `RecordingCalls` it never
    waits, so the time is the handler's own."""
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value
    raise RuntimeError("the handler waited for something")


def search_round(
    timings: Timings,
    store: SqlTrackingStore,
    stub: Any,
    connection: http.client.HTTPConnection,
    experiment_id: str,
) -> None:
    search_response(store, experiment_id, timings)
    request = pb.SearchRunsRequest(experiment_ids=[experiment_id], max_results=1000)
    answer = timings.time(
        "a5 gRPC SearchRuns (stub, incl. parse)", lambda: stub.SearchRuns(request)
    )
    runs = timings.time(
        "a6 gateway: proto → JSON (run_json ×1,000)",
        lambda: [convert.run_json(run) for run in answer.runs],
    )
    timings.time("a7 gateway: orjson.dumps", lambda: orjson.dumps({"runs": runs}))
    body = json.dumps({"experiment_ids": [experiment_id], "max_results": 1000}).encode()
    path = "/api/2.0/mlflow/runs/search"
    timings.time("a8 HTTP runs/search via the gateway", lambda: post(connection, path, body))


def log_batch_round(
    timings: Timings,
    store: SqlTrackingStore,
    stub: Any,
    connection: http.client.HTTPConnection,
    run_id: str,
    round_number: int,
) -> None:
    """Steps of each round's batches apart (a new row each time: no duplicate-key no-ops)."""
    step = round_number * 1000
    body = log_batch_body(run_id, step)
    parsed = timings.time("b1 gateway: json.loads of the body", lambda: json.loads(body))
    calls = RecordingCalls()
    timings.time(
        "b2 gateway: JSON → LogBatchRequest (handler)",
        lambda: finish(tracking_routes.log_batch(calls, parsed)),  # type: ignore[arg-type]
    )
    batch = calls.request
    metrics = list(batch.metrics)
    for metric in metrics:
        metric.step += 10**7
    timings.time(
        "b3 store.log_batch 1,000 metrics", lambda: store.log_batch(run_id, metrics=metrics)
    )
    timings.time("b4 gRPC LogBatch", lambda: stub.LogBatch(batch))
    body = log_batch_body(run_id, step + 2 * 10**7)
    path = "/api/2.0/mlflow/runs/log-batch"
    timings.time("b5 HTTP runs/log-batch via the gateway", lambda: post(connection, path, body))


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of process `pid` so far (all its threads)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_per_request(pids: dict[str, int], requests: int, send: Callable[[int], Any]) -> str:
    before = {name: process_cpu_s(pid) for name, pid in pids.items()}
    for number in range(requests):
        send(number)
    return ", ".join(
        f"{name} {(process_cpu_s(pid) - before[name]) / requests * 1000:.1f} ms"
        for name, pid in pids.items()
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args(argv)

    server = BenchServer(SERVER_URLS["mysql"], workers=16)
    gateway: Any = None
    store: SqlTrackingStore | None = None
    try:
        port = free_port()
        log = tempfile.NamedTemporaryFile(prefix="gateway-breakdown-", suffix=".log", delete=False)
        gateway = subprocess.Popen(
            [sys.executable, "-m", "gateway", "--port", str(port), "--tracking-address",
             server.address, "--registry-address", "", "--log-level", "WARNING"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        wait_http_ok(f"http://127.0.0.1:{port}", gateway, 60, Path(log.name))
        stub = pb_grpc.TrackingServiceStub(get_channel(server.address, TRACKING_SERVICE))
        experiment_id = stub.CreateExperiment(
            pb.CreateExperimentRequest(name="breakdown")
        ).experiment_id
        populate_ours(server.address, experiment_id, seed_runs(args.runs))
        run_id = stub.CreateRun(pb.CreateRunRequest(experiment_id=experiment_id)).run.info.run_id
        store = SqlTrackingStore(server.db_uri, tempfile.mkdtemp())
        connection = http.client.HTTPConnection("127.0.0.1", port)

        timings = Timings()
        for round_number in range(args.rounds):
            search_round(timings, store, stub, connection, experiment_id)
            log_batch_round(timings, store, stub, connection, run_id, round_number)
        timings.show()
        pids = {"gateway": gateway.pid, "tracking service": server.process.pid}
        requests = 2 * args.rounds
        search = json.dumps({"experiment_ids": [experiment_id], "max_results": 1000}).encode()
        searched = cpu_per_request(
            pids, requests, lambda _: post(connection, "/api/2.0/mlflow/runs/search", search)
        )
        print(f"CPU per runs/search of 1,000 runs: {searched}")
        logged = cpu_per_request(
            pids,
            requests,
            lambda number: post(
                connection,
                "/api/2.0/mlflow/runs/log-batch",
                log_batch_body(run_id, 3 * 10**7 + number * 1000),
            ),
        )
        print(f"CPU per runs/log-batch of 1,000 metrics: {logged}")
    finally:
        if store is not None:
            store.dispose()
        if gateway is not None:
            gateway.terminate()
            gateway.wait(10)
        server.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
