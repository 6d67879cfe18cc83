"""The MLflow side of `bench.gateway_bench`: MLflow 3.17's own client, unchanged, in the MLflow
peer venv (it imports nothing of ours). It reads one JSON command a line on stdin, runs it
against the tracking URI the command names, and writes one JSON answer a line on stdout, so
that one client process drives both servers turn and turn about.

Commands (`op`): `experiment`, `run`, `log_metric`, `log_batch`, `search`, `count`.
Times are milliseconds of each client call, measured here around MLflow's client call.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from mlflow.entities import Metric
from mlflow.tracking import MlflowClient

#: The two searches of the bench's search workload (the same as bench.tracking_bench's T4).
SEARCHES: dict[str, dict[str, Any]] = {
    "filtered": {
        "filter_string": "metrics.rmse < 0.5 and params.alpha = '0.1'",
        "order_by": ["metrics.rmse"],
        "max_results": 100,
    },
    "ordered": {"order_by": ["metrics.r2 DESC"], "max_results": 100},
}

_clients: dict[str, MlflowClient] = {}


def client_of(url: str) -> MlflowClient:
    if url not in _clients:
        _clients[url] = MlflowClient(tracking_uri=url)
    return _clients[url]


def timed(call: Any, repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def log_metric(client: MlflowClient, command: dict[str, Any]) -> dict[str, Any]:
    run_id, steps = command["run_id"], iter(range(command["first_step"], 10**9))
    samples = timed(lambda: client.log_metric(run_id, "loss", 0.5, step=next(steps)),
                    command["calls"])  # fmt: skip
    return {"samples_ms": samples}


def log_batch(client: MlflowClient, command: dict[str, Any]) -> dict[str, Any]:
    size, first = command["size"], command["first_step"]
    batches = [
        [Metric("ingest", (b * size + i) % 997 / 997, 1_700_000_000_000, first + b * size + i)
         for i in range(size)]
        for b in range(command["batches"])
    ]  # fmt: skip
    it = iter(batches)
    samples = timed(lambda: client.log_batch(command["run_id"], metrics=next(it)), len(batches))
    return {"samples_ms": samples}


def search(client: MlflowClient, command: dict[str, Any]) -> dict[str, Any]:
    experiment_ids, kind = [command["experiment_id"]], command["kind"]
    if kind == "all":  # every run of the experiment, 1,000 a page (MLflow's page limit)

        def page_all() -> int:
            seen, token = 0, None
            while True:
                page = client.search_runs(experiment_ids, max_results=1000, page_token=token)
                seen += len(page)
                token = page.token
                if not token:
                    return seen

        found = page_all()
        return {"samples_ms": timed(page_all, command["repeat"]), "found": found}
    arguments = SEARCHES[kind]
    found = [run.info.run_id for run in client.search_runs(experiment_ids, **arguments)]
    samples = timed(lambda: client.search_runs(experiment_ids, **arguments), command["repeat"])
    return {"samples_ms": samples, "found": len(found)}


def answer(command: dict[str, Any]) -> dict[str, Any]:
    client = client_of(command["url"])
    op = command["op"]
    if op == "experiment":
        return {"experiment_id": client.create_experiment(command["name"])}
    if op == "run":
        return {"run_id": client.create_run(command["experiment_id"]).info.run_id}
    if op == "log_metric":
        return log_metric(client, command)
    if op == "log_batch":
        return log_batch(client, command)
    if op == "search":
        return search(client, command)
    if op == "count":  # metrics a run holds under a key, as the server returns its history
        history = client.get_metric_history(command["run_id"], command["key"])
        return {"count": len(history)}
    raise ValueError(f"unknown op {op!r}")


def main() -> int:
    for line in sys.stdin:
        command = json.loads(line)
        try:
            reply = answer(command)
        except Exception as error:  # the bench prints it and stops
            reply = {"error": f"{type(error).__name__}: {error}"}
        print(json.dumps(reply), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
