"""`artifacts/list` through the gateway: MLflow's FileInfo shape over the run's artifacts."""

from __future__ import annotations

import uuid

import pytest
from conftest import Gateway

import mlgrpc


@pytest.fixture(scope="module")
def run_with_files(
    gateway: Gateway, tracking_server: str, tmp_path_factory: pytest.TempPathFactory
) -> str:
    experiment_id = gateway.post(
        "experiments/create", {"name": f"art-{uuid.uuid4().hex[:8]}"}
    ).body["experiment_id"]
    run_id = gateway.post("runs/create", {"experiment_id": experiment_id}).body["run"]["info"][
        "run_id"
    ]
    local = tmp_path_factory.mktemp("upload")
    (local / "model").mkdir()
    (local / "model" / "MLmodel").write_text("flavors: {}\n")
    (local / "notes.txt").write_text("hello")
    client = mlgrpc.MlgrpcClient(f"grpc://{tracking_server}")
    client.log_artifacts(run_id, str(local))
    return str(run_id)


def test_list_root_gives_files_with_size_and_directories_without(
    gateway: Gateway, run_with_files: str
) -> None:
    answer = gateway.get("artifacts/list", run_id=run_with_files)
    assert answer.status == 200
    assert answer.body["root_uri"].endswith(f"{run_with_files}/artifacts")
    assert answer.body["files"] == [
        {"path": "model", "is_dir": True},
        {"path": "notes.txt", "is_dir": False, "file_size": 5},
    ]


def test_list_a_directory(gateway: Gateway, run_with_files: str) -> None:
    answer = gateway.get("artifacts/list", run_id=run_with_files, path="model")
    assert answer.body["files"] == [{"path": "model/MLmodel", "is_dir": False, "file_size": 12}]


def test_list_of_unknown_run_is_resource_does_not_exist(gateway: Gateway) -> None:
    answer = gateway.get("artifacts/list", run_id=uuid.uuid4().hex)
    assert (answer.status, answer.body["error_code"]) == (404, "RESOURCE_DOES_NOT_EXIST")


def test_list_with_path_escaping_the_root_is_invalid_parameter_value(
    gateway: Gateway, run_with_files: str
) -> None:
    answer = gateway.get("artifacts/list", run_id=run_with_files, path="../..")
    assert (answer.status, answer.body["error_code"]) == (400, "INVALID_PARAMETER_VALUE")


def test_list_of_missing_directory_is_empty_as_in_mlflow(
    gateway: Gateway, run_with_files: str
) -> None:
    answer = gateway.get("artifacts/list", run_id=run_with_files, path="absent")
    assert answer.status == 200
    assert "files" not in answer.body
