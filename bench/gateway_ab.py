"""Two checkouts of the gateway and tracking service side by side, on ONE database, driven in
turn by MLflow's own client: a before/after of a change that one bench run each cannot show on a
shared machine (single-round figures move 2× with the load; see README).

    PYTHONPATH=client:. .venv/bin/python -m bench.gateway_ab --base /path/to/other/worktree

This checkout and `--base` (another worktree of the repository, e.g. `git worktree add --detach
/work/base main`, run with this venv: `PYTHONPATH` points each process at its own tree) each
start a tracking service and a gateway on the same fresh MariaDB database (the schema must be
the same: no migration between them); `--runs` runs of the gateway bench's shape are written
once. One MLflow client process (the gateway bench's peer venv) then, round after round, the
order of the two sides alternating: pages through every run 1,000 a page, runs the filtered
search of 100 five times, and logs three batches of 1,000 metrics. Medians per side.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.gateway_bench import (
    MLFLOW_BENCH_REQUIREMENTS,
    SERVER_URLS,
    populate_ours,
    seed_runs,
    wait_http_ok,
)
from bench.http_bench import peer_env, peer_venv
from bench.tracking_bench import BenchServer, free_port
from mlgrpc._channel import TRACKING_SERVICE, get_channel
from mlgrpc.tracking.v1 import tracking_service_pb2 as pb
from mlgrpc.tracking.v1 import tracking_service_pb2_grpc as pb_grpc

HERE = Path(__file__).resolve().parent.parent

#: The MLflow side: argv = urls (comma-separated), experiment id, rounds, run ids (one a url).
CLIENT = """
import json, sys, time
from mlflow.entities import Metric
from mlflow.tracking import MlflowClient

urls, experiment_id = sys.argv[1].split(","), sys.argv[2]
rounds, run_ids = int(sys.argv[3]), sys.argv[4].split(",")
clients = [MlflowClient(tracking_uri=url) for url in urls]
found = {url: {"all": [], "filtered": [], "batch": []} for url in urls}


def timed(samples, call):
    start = time.perf_counter()
    result = call()
    samples.append((time.perf_counter() - start) * 1000)
    return result


def page_all(client):
    seen, token = 0, None
    while True:
        page = client.search_runs([experiment_id], max_results=1000, page_token=token)
        seen, token = seen + len(page), page.token
        if not token:
            return seen


step = 0
for round_number in range(rounds):
    sides = list(range(len(urls)))
    for side in sides if round_number % 2 == 0 else reversed(sides):
        client, samples = clients[side], found[urls[side]]
        timed(samples["all"], lambda: page_all(client))
        for _ in range(5):
            timed(samples["filtered"], lambda: client.search_runs(
                [experiment_id], "metrics.rmse < 0.5 and params.alpha = '0.1'",
                order_by=["metrics.rmse"], max_results=100))
        for _ in range(3):
            metrics = [Metric("ingest", (step + i) % 997 / 997, 1_700_000_000_000, step + i)
                       for i in range(1000)]
            step += 1000
            timed(samples["batch"], lambda: client.log_batch(run_ids[side], metrics=metrics))
print(json.dumps(found))
"""


def tree_env(root: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": f"{root / 'client'}{os.pathsep}{root}"}


def start(command: list[str], root: Path, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, *command], env=tree_env(root), cwd=root,
        stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", type=Path, required=True, help="the other checkout")
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args(argv)
    mlflow_bin = peer_venv("mlflow-bench", MLFLOW_BENCH_REQUIREMENTS)
    logs = Path(tempfile.mkdtemp(prefix="gateway-ab-"))
    server = BenchServer(SERVER_URLS["mysql"], workers=16)  # this checkout's tracking service
    processes: list[subprocess.Popen[bytes]] = []
    try:
        base_port = free_port()
        processes.append(start(
            ["-m", "tracking_service", "--backend-store-uri", server.db_uri,
             "--default-artifact-root", tempfile.mkdtemp(dir=logs), "--port", str(base_port),
             "--workers", "16", "--log-level", "WARNING"],
            args.base.resolve(), logs / "base-tracking.log",
        ))  # fmt: skip
        urls: dict[str, str] = {}
        sides = (("this", HERE, server.address), ("base", args.base.resolve(),
                 f"127.0.0.1:{base_port}"))  # fmt: skip
        for side, root, address in sides:
            port, log = free_port(), logs / f"{side}-gateway.log"
            process = start(
                ["-m", "gateway", "--port", str(port), "--tracking-address", address,
                 "--registry-address", "", "--log-level", "WARNING"],
                root, log,
            )  # fmt: skip
            processes.append(process)
            urls[side] = f"http://127.0.0.1:{port}"
            wait_http_ok(urls[side], process, 60, log)
        stub = pb_grpc.TrackingServiceStub(get_channel(server.address, TRACKING_SERVICE))
        experiment_id = stub.CreateExperiment(pb.CreateExperimentRequest(name="ab")).experiment_id
        started = time.monotonic()
        populate_ours(server.address, experiment_id, seed_runs(args.runs))
        print(f"{args.runs} runs in {time.monotonic() - started:.0f} s", file=sys.stderr)
        batches = stub.CreateExperiment(pb.CreateExperimentRequest(name="ab-batches"))
        run_ids = [
            stub.CreateRun(pb.CreateRunRequest(experiment_id=batches.experiment_id)).run.info.run_id
            for _ in urls
        ]
        answer = subprocess.run(
            [str(mlflow_bin / "python"), "-c", CLIENT, ",".join(urls.values()), experiment_id,
             str(args.rounds), ",".join(run_ids)],
            env=peer_env(mlflow_bin), capture_output=True, text=True, check=True,
        )  # fmt: skip
        found = json.loads(answer.stdout.strip().splitlines()[-1])
        for side, url in urls.items():
            samples = found[url]
            batch = statistics.median(samples["batch"])
            print(
                f"{side:5s} page all {args.runs}: {statistics.median(samples['all']):,.0f} ms "
                f"(min {min(samples['all']):,.0f}); filtered 100: "
                f"{statistics.median(samples['filtered']):.1f} ms; log_batch 1,000: "
                f"{batch:.1f} ms = {1e6 / batch:,.0f} metrics/s"
            )
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(20)
        server.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
