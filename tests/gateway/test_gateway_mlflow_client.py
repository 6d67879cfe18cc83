"""The real `mlflow` 3.17 client, unchanged, in its peer venv, against the gateway: what it logs
and reads must be what our own gRPC client reads from the tracking service behind it."""

from __future__ import annotations

import json
import math
import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

import mlgrpc

RunScript = Callable[..., subprocess.CompletedProcess[str]]

#: Runs in the MLflow venv: argv = tracking URI, experiment name. Prints one JSON document.
LOG_AND_READ = """
import json, sys
import mlflow
from mlflow import MlflowClient

mlflow.set_tracking_uri(sys.argv[1])
experiment = mlflow.set_experiment(sys.argv[2])
with mlflow.start_run(run_name="trained") as run:
    mlflow.log_param("alpha", 0.5)
    mlflow.log_params({"l1_ratio": 0.25, "n_estimators": 3})
    for step in range(5):
        mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
    mlflow.log_metrics({"rmse": 0.79, "r2": 0.11}, step=7)
    mlflow.set_tag("team", "ml")
client = MlflowClient()
history = client.get_metric_history(run.info.run_id, "loss")
finished = client.get_run(run.info.run_id)

scores = {}
for index, score in enumerate([0.5, 0.1, 0.9, 0.3, 0.7]):
    with mlflow.start_run(run_name=f"s{index}") as scored:
        mlflow.log_metric("score", score)
        scores[scored.info.run_id] = score
frame = mlflow.search_runs(
    experiment_ids=[experiment.experiment_id],
    filter_string="metrics.score > 0.2",
    order_by=["metrics.score DESC"],
)
pages, token = [], None
while True:
    page = client.search_runs(
        [experiment.experiment_id], "metrics.score > 0.2", order_by=["metrics.score ASC"],
        max_results=2, page_token=token,
    )
    pages.append([r.info.run_name for r in page])
    token = page.token
    if not token:
        break
print(json.dumps({
    "experiment_id": experiment.experiment_id,
    "run_id": run.info.run_id,
    "history": [[m.step, m.value, m.timestamp] for m in history],
    "status": finished.info.status,
    "params": finished.data.params,
    "metrics": finished.data.metrics,
    "tags": finished.data.tags,
    "search_names": frame["tags.mlflow.runName"].tolist(),
    "search_scores": frame["metrics.score"].tolist(),
    "pages": pages,
}))
"""


@pytest.fixture(scope="module")
def logged(gateway_url: str, run_in_mlflow_venv: RunScript) -> dict:
    name = f"mlflow-client-{uuid.uuid4().hex[:8]}"
    result = run_in_mlflow_venv(LOG_AND_READ, gateway_url, name)
    return dict(json.loads(result.stdout.strip().splitlines()[-1]), name=name)


@pytest.fixture(scope="module")
def ours(tracking_server: str) -> mlgrpc.MlgrpcClient:
    return mlgrpc.MlgrpcClient(f"grpc://{tracking_server}")


def test_mlflow_set_experiment_creates_it_in_the_tracking_service(
    logged: dict, ours: mlgrpc.MlgrpcClient
) -> None:
    experiment = ours.get_experiment_by_name(logged["name"])
    assert experiment is not None
    assert experiment.experiment_id == logged["experiment_id"]


def test_mlflow_run_is_what_our_client_reads(logged: dict, ours: mlgrpc.MlgrpcClient) -> None:
    run = ours.get_run(logged["run_id"])
    assert run.info.status == logged["status"] == "FINISHED"
    assert run.info.end_time is not None
    assert run.data.params == logged["params"]
    assert run.data.params == {"alpha": "0.5", "l1_ratio": "0.25", "n_estimators": "3"}
    assert run.data.metrics == logged["metrics"]
    assert run.data.metrics == {"loss": 0.2, "rmse": 0.79, "r2": 0.11}
    assert run.data.tags == logged["tags"]
    assert run.data.tags["team"] == "ml"
    assert run.data.tags["mlflow.runName"] == "trained"


def test_mlflow_metric_history_is_ours_with_steps(logged: dict, ours: mlgrpc.MlgrpcClient) -> None:
    history = ours.get_metric_history(logged["run_id"], "loss")
    assert logged["history"] == [[m.step, m.value, m.timestamp] for m in history]
    assert [step for step, _, _ in logged["history"]] == [0, 1, 2, 3, 4]
    expected = [1.0 / (step + 1) for step in range(5)]
    assert all(math.isclose(v, e) for (_, v, _), e in zip(logged["history"], expected, strict=True))


def test_mlflow_search_runs_filters_and_orders(logged: dict, ours: mlgrpc.MlgrpcClient) -> None:
    assert logged["search_names"] == ["s2", "s4", "s0", "s3"]
    assert logged["search_scores"] == [0.9, 0.7, 0.5, 0.3]
    page = ours.search_runs(
        [logged["experiment_id"]], "metrics.score > 0.2", order_by=["metrics.score DESC"]
    )
    assert [run.info.run_name for run in page] == logged["search_names"]


def test_mlflow_search_runs_pages(logged: dict) -> None:
    assert logged["pages"] == [["s3", "s0"], ["s4", "s2"]]


#: Runs in the MLflow venv: argv = tracking URI, experiment name, a scratch directory.
ARTIFACTS = """
import json, os, sys
import mlflow
from mlflow import MlflowClient

mlflow.set_tracking_uri(sys.argv[1])
mlflow.set_experiment(sys.argv[2])
scratch = sys.argv[3]
with open(os.path.join(scratch, "weights.bin"), "wb") as out:
    out.write(bytes(range(256)) * 8192)
with mlflow.start_run() as run:
    mlflow.log_artifact(os.path.join(scratch, "weights.bin"), artifact_path="model")
    mlflow.log_text("hello", "notes/readme.txt")
client = MlflowClient()
root = [(f.path, f.is_dir, f.file_size) for f in client.list_artifacts(run.info.run_id)]
# By artifact URI: with a run id and a path, MLflow 3 resolves runs:/ through LoggedModels
# (logged-models/search), which the gateway does not serve yet.
listed = mlflow.artifacts.list_artifacts(artifact_uri=run.info.artifact_uri + "/model")
model = [(f.path, f.is_dir, f.file_size) for f in listed]
local = mlflow.artifacts.download_artifacts(
    artifact_uri=run.info.artifact_uri + "/notes/readme.txt", dst_path=os.path.join(scratch, "dl")
)
print(json.dumps({
    "run_id": run.info.run_id,
    "artifact_uri": run.info.artifact_uri,
    "root": root,
    "model": model,
    "text": open(local).read(),
}))
"""


def test_mlflow_artifacts_go_through_the_proxy(
    gateway_url: str,
    run_in_mlflow_venv: RunScript,
    ours: mlgrpc.MlgrpcClient,
    tmp_path: Path,
) -> None:
    name = f"mlflow-artifacts-{uuid.uuid4().hex[:8]}"
    result = run_in_mlflow_venv(ARTIFACTS, gateway_url, name, str(tmp_path))
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["artifact_uri"].startswith("mlflow-artifacts:/")
    assert seen["root"] == [["model", True, None], ["notes", True, None]]
    assert seen["model"] == [["model/weights.bin", False, 256 * 8192]]
    assert seen["text"] == "hello"
    local = ours.download_artifacts(seen["run_id"], "model/weights.bin", str(tmp_path / "ours"))
    assert Path(local).read_bytes() == bytes(range(256)) * 8192
