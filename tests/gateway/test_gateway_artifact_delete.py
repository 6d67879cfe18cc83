"""DELETE through the artifact proxy: MLflow's own client (its `mlflow-artifacts:` repository,
which `mlflow gc` and the UI use) deletes a run's file or directory, and our gRPC client sees it
gone; the run's root and paths of no run are refused in MLflow's error shape."""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Callable

from gateway_helpers import Gateway

import mlgrpc

RunScript = Callable[..., subprocess.CompletedProcess[str]]

#: Runs in the MLflow venv: argv = tracking URI, experiment name.
LOG_THEN_DELETE = """
import json, sys
import mlflow
from mlflow import MlflowClient
from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

mlflow.set_tracking_uri(sys.argv[1])
mlflow.set_experiment(sys.argv[2])
with mlflow.start_run() as run:
    mlflow.log_text("a", "notes/a.txt")
    mlflow.log_text("b", "notes/deeper/b.txt")
    mlflow.log_text("w", "model/weights.txt")
repository = get_artifact_repository(run.info.artifact_uri)
repository.delete_artifacts("model/weights.txt")
after_file = sorted(f.path for f in MlflowClient().list_artifacts(run.info.run_id))
repository.delete_artifacts("notes")
after_dir = sorted(f.path for f in MlflowClient().list_artifacts(run.info.run_id))
# By URI: with a run id and a path MLflow 3 would ask for LoggedModels, not served here yet.
model = mlflow.artifacts.list_artifacts(artifact_uri=run.info.artifact_uri + "/model")
print(json.dumps({
    "run_id": run.info.run_id,
    "after_file": after_file,
    "after_dir": after_dir,
    "in_model": [f.path for f in model],
}))
"""


def test_mlflow_client_deletes_a_file_and_a_directory_through_the_proxy(
    gateway_url: str, tracking_server: str, run_in_mlflow_venv: RunScript
) -> None:
    name = f"mlflow-delete-{uuid.uuid4().hex[:8]}"
    result = run_in_mlflow_venv(LOG_THEN_DELETE, gateway_url, name)
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    # A file's directory stays, empty, as in MLflow's local artifact store.
    assert seen["after_file"] == ["model", "notes"]
    assert seen["in_model"] == []
    assert seen["after_dir"] == ["model"]
    ours = mlgrpc.MlgrpcClient(f"grpc://{tracking_server}")
    assert [file.path for file in ours.list_artifacts(seen["run_id"])] == ["model"]


def test_deleting_a_runs_root_is_400(gateway: Gateway) -> None:
    run = gateway.post("runs/create", {"experiment_id": "0"}).body["run"]["info"]
    answer = gateway.call(
        "DELETE", f"/api/2.0/mlflow-artifacts/artifacts/0/{run['run_id']}/artifacts"
    )
    assert answer.status == 400, answer
    assert answer.body["error_code"] == "INVALID_PARAMETER_VALUE"


def test_deleting_nothing_answers_an_empty_object(gateway: Gateway) -> None:
    run = gateway.post("runs/create", {"experiment_id": "0"}).body["run"]["info"]
    path = f"/api/2.0/mlflow-artifacts/artifacts/0/{run['run_id']}/artifacts/never/there"
    answer = gateway.call("DELETE", path)
    assert (answer.status, answer.body) == (200, {})
