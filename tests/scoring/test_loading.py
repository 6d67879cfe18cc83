"""Health while loading, pickle refusal, admin LoadModel/UnloadModel, several models."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from mlgrpc.scoring.v1 import scoring_service_pb2 as pb
from mlgrpc.scoring.v1 import scoring_service_pb2_grpc as pb_grpc
from mlgrpc_server.errors import FailedPrecondition
from scoring_service.config import ModelSpec, ServeConfig
from scoring_service.server import create_server

from .conftest import SEED_COLUMNS, SEED_ROW


def _health(address: str) -> int:
    with grpc.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        return stub.Check(health_pb2.HealthCheckRequest(), timeout=5).status


def test_health_is_not_serving_until_every_model_is_loaded(wine_model_dir: Path) -> None:
    config = ServeConfig(models=(ModelSpec(str(wine_model_dir)),), port=0)
    server = create_server(config, load=False)
    try:
        assert _health(server.address) == health_pb2.HealthCheckResponse.NOT_SERVING
        server.load_models()
        assert _health(server.address) == health_pb2.HealthCheckResponse.SERVING
    finally:
        server.stop(grace=0)


def test_default_model_name_is_the_folder_name(wine_model_dir: Path) -> None:
    server = create_server(ServeConfig(models=(ModelSpec(str(wine_model_dir)),), port=0))
    try:
        assert server.manager.registry.names() == ["wine"]
    finally:
        server.stop(grace=0)


def test_pickled_model_is_refused_without_allow_pickle(pickled_model_dir: Path) -> None:
    config = ServeConfig(models=(ModelSpec(str(pickled_model_dir)),), port=0)
    with pytest.raises(FailedPrecondition) as caught:
        create_server(config)
    # The operator's remedy, not the library parameter the service passes for them.
    assert "--allow-pickle or MLGRPC_ALLOW_PICKLE=1" in caught.value.message
    assert "allow_pickle=True" not in caught.value.message


def test_pickled_model_loads_with_allow_pickle(pickled_model_dir: Path) -> None:
    config = ServeConfig(models=(ModelSpec(str(pickled_model_dir)),), port=0, allow_pickle=True)
    server = create_server(config)
    try:
        assert server.manager.registry.get().name == "wine-pickle"
    finally:
        server.stop(grace=0)


@pytest.fixture()
def two_model_server(wine_model_dir: Path) -> Any:
    config = ServeConfig(
        models=(ModelSpec(str(wine_model_dir), "a"), ModelSpec(str(wine_model_dir), "b")),
        port=0,
        model_control=True,
    )
    server = create_server(config)
    yield server
    server.stop(grace=0)


def _seed_request(model_name: str = "") -> pb.PredictRequest:
    request = pb.PredictRequest(model_name=model_name)
    request.dataframe_split.columns.extend(SEED_COLUMNS)
    request.dataframe_split.data.add().extend(SEED_ROW)
    return request


def test_several_models_are_served_by_name_and_the_first_is_the_default(
    two_model_server: Any,
) -> None:
    with grpc.insecure_channel(two_model_server.address) as channel:
        stub = pb_grpc.ScoringServiceStub(channel)
        assert stub.Predict(_seed_request(), timeout=5).model_name == "a"
        assert stub.Predict(_seed_request("b"), timeout=5).model_name == "b"


def test_load_and_unload_model_through_the_admin_rpcs(
    two_model_server: Any, wine_model_dir: Path
) -> None:
    with grpc.insecure_channel(two_model_server.address) as channel:
        stub = pb_grpc.ScoringServiceStub(channel)
        loaded = stub.LoadModel(
            pb.LoadModelRequest(model_name="c", model_uri=f"file://{wine_model_dir}"), timeout=30
        )
        assert loaded.model.name == "c"
        assert stub.Predict(_seed_request("c"), timeout=5).model_name == "c"
        stub.UnloadModel(pb.UnloadModelRequest(model_name="c"), timeout=5)
        with pytest.raises(grpc.RpcError) as caught:
            stub.Predict(_seed_request("c"), timeout=5)
        assert caught.value.code() == grpc.StatusCode.NOT_FOUND


def test_load_model_of_a_missing_directory_is_not_found(two_model_server: Any) -> None:
    with grpc.insecure_channel(two_model_server.address) as channel:
        stub = pb_grpc.ScoringServiceStub(channel)
        with pytest.raises(grpc.RpcError) as caught:
            stub.LoadModel(pb.LoadModelRequest(model_uri="/nonexistent/model"), timeout=30)
        assert caught.value.code() == grpc.StatusCode.NOT_FOUND


def test_second_server_on_a_busy_port_fails_to_bind(
    two_model_server: Any, wine_model_dir: Path
) -> None:
    config = ServeConfig(models=(ModelSpec(str(wine_model_dir)),), port=two_model_server.port)
    with pytest.raises(RuntimeError):
        create_server(config, load=False)


def test_reflection_lists_and_describes_the_services_without_proto_files(
    two_model_server: Any,
) -> None:
    import subprocess

    from .helpers import GRPCURL

    listed = subprocess.run(
        [GRPCURL, "-plaintext", two_model_server.address, "list"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert listed.returncode == 0, listed.stderr
    services = set(listed.stdout.split())
    assert {"mlgrpc.scoring.v1.ScoringService", "inference.GRPCInferenceService"} <= services
    described = subprocess.run(
        [
            GRPCURL,
            "-plaintext",
            two_model_server.address,
            "describe",
            "inference.GRPCInferenceService",
        ],  # fmt: skip
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert "rpc ModelInfer" in described.stdout


def test_a_model_saved_by_another_sklearn_is_logged_at_start(
    wine_model_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import shutil

    copy = tmp_path / "old-wine"
    shutil.copytree(wine_model_dir, copy)
    mlmodel = copy / "MLmodel"
    text = mlmodel.read_text()
    assert "sklearn_version:" in text
    lines = [
        "    sklearn_version: 0.24.2" if line.strip().startswith("sklearn_version:") else line
        for line in text.splitlines()
    ]
    mlmodel.write_text("\n".join(lines) + "\n")
    with caplog.at_level("WARNING"):
        server = create_server(ServeConfig(models=(ModelSpec(str(copy)),), port=0))
        server.stop(grace=0)
    assert any("scikit-learn 0.24.2" in r.getMessage() for r in caplog.records)
