"""`artifacts/list` through the gateway: MLflow's FileInfo shape over the run's artifacts."""

from __future__ import annotations

import os
import socket
import time
import uuid
from pathlib import Path

import pytest
from gateway_helpers import Gateway

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


def test_runs_show_the_proxied_artifact_root(gateway: Gateway, run_with_files: str) -> None:
    info = gateway.get("runs/get", run_id=run_with_files).body["run"]["info"]
    assert (
        info["artifact_uri"]
        == f"mlflow-artifacts:/{info['experiment_id']}/{run_with_files}/artifacts"
    )


def _proxied(gateway: Gateway, run_id: str) -> str:
    info = gateway.get("runs/get", run_id=run_id).body["run"]["info"]
    return f"/api/2.0/mlflow-artifacts/artifacts/{info['experiment_id']}/{run_id}/artifacts"


def test_proxy_put_then_get_round_trips_a_large_file(
    gateway: Gateway, run_with_files: str, tracking_server: str, tmp_path: Path
) -> None:
    content = os.urandom(3 * 1024 * 1024 + 17)
    base = _proxied(gateway, run_with_files)
    put = gateway.call("PUT", f"{base}/data/blob.bin", content)
    assert (put.status, put.body) == (200, "")  # as MLflow's server answers
    got = gateway.raw("GET", f"{base}/data/blob.bin")
    assert got == content
    client = mlgrpc.MlgrpcClient(f"grpc://{tracking_server}")
    local = client.download_artifacts(run_with_files, "data/blob.bin", str(tmp_path))
    assert Path(local).read_bytes() == content


def test_proxy_listing_names_entries_by_base_name(gateway: Gateway, run_with_files: str) -> None:
    base = _proxied(gateway, run_with_files).removeprefix("/api/2.0/mlflow-artifacts/artifacts/")
    answer = gateway.call(
        "GET", "/api/2.0/mlflow-artifacts/artifacts", query={"path": f"{base}/model"}
    )
    assert answer.status == 200
    assert answer.body == {"files": [{"path": "MLmodel", "is_dir": False, "file_size": 12}]}


def test_proxy_get_of_missing_file_is_resource_does_not_exist(
    gateway: Gateway, run_with_files: str
) -> None:
    answer = gateway.call("GET", _proxied(gateway, run_with_files) + "/absent.txt")
    assert (answer.status, answer.body["error_code"]) == (404, "RESOURCE_DOES_NOT_EXIST")


def test_proxy_get_of_directory_is_invalid_parameter_value(
    gateway: Gateway, run_with_files: str
) -> None:
    answer = gateway.call("GET", _proxied(gateway, run_with_files) + "/model")
    assert (answer.status, answer.body["error_code"]) == (400, "INVALID_PARAMETER_VALUE")


def test_proxy_path_with_another_experiment_is_resource_does_not_exist(
    gateway: Gateway, run_with_files: str
) -> None:
    path = f"/api/2.0/mlflow-artifacts/artifacts/987654/{run_with_files}/artifacts/notes.txt"
    answer = gateway.call("GET", path)
    assert (answer.status, answer.body["error_code"]) == (404, "RESOURCE_DOES_NOT_EXIST")


def test_proxy_path_outside_runs_is_invalid_parameter_value(gateway: Gateway) -> None:
    answer = gateway.call("PUT", "/api/2.0/mlflow-artifacts/artifacts/0/models/x", b"data")
    assert (answer.status, answer.body["error_code"]) == (400, "INVALID_PARAMETER_VALUE")


def test_proxy_put_escaping_the_run_is_invalid_parameter_value(
    gateway: Gateway, run_with_files: str
) -> None:
    answer = gateway.call("PUT", _proxied(gateway, run_with_files) + "/a/%2E%2E/%2E%2E/x", b"d")
    assert (answer.status, answer.body["error_code"]) == (400, "INVALID_PARAMETER_VALUE")


def test_proxy_put_cut_short_stores_nothing(
    gateway: Gateway, run_with_files: str, tracking_server: str
) -> None:
    base = _proxied(gateway, run_with_files)
    host, port = gateway.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        head = (
            f"PUT {base}/cut/part.bin HTTP/1.1\r\nHost: {host}\r\n"
            "Content-Length: 4000000\r\nContent-Type: application/octet-stream\r\n\r\n"
        )
        sock.sendall(head.encode() + b"x" * 100_000)
    client = mlgrpc.MlgrpcClient(f"grpc://{tracking_server}")
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:  # the gateway notices the disconnect a little later
        time.sleep(0.2)
        assert [f.path for f in client.list_artifacts(run_with_files, "cut")] == []
