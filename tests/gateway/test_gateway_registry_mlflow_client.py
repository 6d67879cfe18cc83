"""The real `mlflow` 3.17 client, unchanged, in its peer venv, against the gateway's registry
endpoints: what it registers, aliases and stages is what our own gRPC registry client reads, and
`models:/name@alias` loads the registered model through the gateway."""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Callable

import pytest

from mlgrpc.registry_client import RegistryClient

RunScript = Callable[..., subprocess.CompletedProcess[str]]

#: Runs in the MLflow venv: argv = tracking URI, experiment name, scratch directory, model name.
REGISTER_AND_READ = """
import json, os, sys
import numpy as np
import mlflow
import mlflow.sklearn
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from sklearn.linear_model import ElasticNet

mlflow.set_tracking_uri(sys.argv[1])
mlflow.set_experiment(sys.argv[2])
scratch, name = sys.argv[3], sys.argv[4]
X = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 1.0], [3.0, 2.0], [4.0, 4.0]])
y = np.array([1.0, 2.0, 3.0, 5.0, 8.0])
model = ElasticNet(alpha=0.1, random_state=0).fit(X, y)
local = os.path.join(scratch, "model")
mlflow.sklearn.save_model(model, local)
with mlflow.start_run() as run:
    mlflow.log_artifacts(local, artifact_path="model")

first = mlflow.register_model(f"runs:/{run.info.run_id}/model", name)
second = mlflow.register_model(f"runs:/{run.info.run_id}/model", name)
client = MlflowClient()
client.set_registered_model_alias(name, "champion", first.version)
by_alias = client.get_model_version_by_alias(name, "champion")
loaded = mlflow.pyfunc.load_model(f"models:/{name}@champion")
client.set_registered_model_tag(name, "team", "wine")
client.set_model_version_tag(name, second.version, "validated", "yes")
client.update_registered_model(name, description="red or white")
client.transition_model_version_stage(name, second.version, "Staging")
staged = client.get_latest_versions(name, stages=["Staging"])
found = client.search_registered_models(filter_string=f"name = '{name}'")
versions = client.search_model_versions(f"name = '{name}'")
download_uri = client.get_model_version_download_uri(name, first.version)

errors = {}
for label, call in {
    "missing_model": lambda: client.get_registered_model(name + "-nope"),
    "missing_version": lambda: client.get_model_version(name, "99"),
    "bad_version": lambda: client.get_model_version(name, "abc"),
    "unset_alias": lambda: client.get_model_version_by_alias(name, "nobody"),
    "bad_stage": lambda: client.transition_model_version_stage(name, first.version, "Shipped"),
}.items():
    try:
        call()
        errors[label] = None
    except MlflowException as error:
        errors[label] = [error.error_code, error.get_http_status_code(), error.message]

client.delete_registered_model_alias(name, "champion")
client.delete_model_version(name, first.version)
after_delete = [mv.version for mv in client.search_model_versions(f"name = '{name}'")]

print(json.dumps({
    "run_id": run.info.run_id,
    "versions": [first.version, second.version],
    "first_source": first.source,
    "by_alias": [by_alias.version, list(by_alias.aliases)],
    "prediction": loaded.predict(X).tolist(),
    "in_process": model.predict(X).tolist(),
    "staged": [[mv.version, mv.current_stage] for mv in staged],
    "found": [[m.name, m.description, m.tags] for m in found],
    "versions_found": sorted(mv.version for mv in versions),
    "second_tags": [mv.tags for mv in versions if mv.version == second.version],
    "download_uri": download_uri,
    "errors": errors,
    "after_delete": after_delete,
}))
"""


@pytest.fixture(scope="module")
def registered(
    registry_gateway_url: str,
    run_in_mlflow_venv: RunScript,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict:
    name = f"wine-{uuid.uuid4().hex[:8]}"
    scratch = tmp_path_factory.mktemp("mlflow-registry")
    result = run_in_mlflow_venv(
        REGISTER_AND_READ, registry_gateway_url, f"registry-{name}", str(scratch), name
    )
    return dict(json.loads(result.stdout.strip().splitlines()[-1]), name=name)


@pytest.fixture(scope="module")
def ours(registry_server: str) -> RegistryClient:
    return RegistryClient(f"grpc://{registry_server}")


def test_register_model_creates_numbered_versions_of_the_run(
    registered: dict, ours: RegistryClient
) -> None:
    assert registered["versions"] == ["1", "2"]
    version = ours.get_model_version(registered["name"], 2)
    assert version.run_id == registered["run_id"]
    assert version.source == f"runs:/{registered['run_id']}/model"


def test_alias_set_by_mlflow_is_read_by_both_clients(
    registered: dict, ours: RegistryClient
) -> None:
    assert registered["by_alias"] == ["1", ["champion"]]


def test_models_uri_with_alias_loads_the_model_through_the_gateway(registered: dict) -> None:
    assert registered["prediction"] == registered["in_process"]


def test_download_uri_is_the_proxied_location_of_the_runs_files(registered: dict) -> None:
    assert registered["download_uri"].startswith("mlflow-artifacts:/")
    assert registered["download_uri"].endswith(f"/{registered['run_id']}/artifacts/model")


def test_stage_tags_and_description_set_by_mlflow(registered: dict, ours: RegistryClient) -> None:
    assert registered["staged"] == [["2", "Staging"]]
    assert registered["found"] == [[registered["name"], "red or white", {"team": "wine"}]]
    assert registered["second_tags"] == [{"validated": "yes"}]
    model = ours.get_registered_model(registered["name"])
    assert model.description == "red or white"
    assert model.tags == {"team": "wine"}


def test_search_and_delete_of_versions(registered: dict, ours: RegistryClient) -> None:
    assert registered["versions_found"] == ["1", "2"]
    assert registered["after_delete"] == ["2"]
    assert [v.version for v in ours.search_model_versions(f"name = '{registered['name']}'")] == [2]


@pytest.mark.parametrize(
    ("case", "code", "status"),
    [
        ("missing_model", "RESOURCE_DOES_NOT_EXIST", 404),
        ("missing_version", "RESOURCE_DOES_NOT_EXIST", 404),
        ("bad_version", "INVALID_PARAMETER_VALUE", 400),
        ("unset_alias", "INVALID_PARAMETER_VALUE", 400),  # as MLflow's server answers it
        ("bad_stage", "INVALID_PARAMETER_VALUE", 400),
    ],
)
def test_mlflow_sees_mlflows_error_codes(
    registered: dict, case: str, code: str, status: int
) -> None:
    error_code, http_status, message = registered["errors"][case]
    assert (error_code, http_status) == (code, status), message


def test_bad_version_message_names_the_field(registered: dict) -> None:
    assert "version" in registered["errors"]["bad_version"][2]
