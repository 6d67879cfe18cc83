"""Model control (LoadModel/UnloadModel) is off unless enabled, and the health service follows
the served models: one entry per model name, and the server as a whole NOT_SERVING while no
model is served."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from mlgrpc.scoring.v1 import scoring_service_pb2 as pb
from mlgrpc.scoring.v1 import scoring_service_pb2_grpc as pb_grpc
from scoring_service.cli import build_parser, config_from_args
from scoring_service.config import ModelSpec, ServeConfig
from scoring_service.server import INFERENCE_SERVICE, SCORING_SERVICE, create_server

from .conftest import SEED_COLUMNS, SEED_ROW

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


def _serve(model_dir: Path, *, model_control: bool, load: bool = True) -> Any:
    config = ServeConfig(
        models=(ModelSpec(str(model_dir), "a"),), port=0, model_control=model_control
    )
    return create_server(config, load=load)


@pytest.fixture()
def controlled(wine_model_dir: Path) -> Iterator[Any]:
    server = _serve(wine_model_dir, model_control=True)
    yield server
    server.stop(grace=0)


def _health(address: str, service: str) -> int:
    with grpc.insecure_channel(address) as channel:
        request = health_pb2.HealthCheckRequest(service=service)
        return health_pb2_grpc.HealthStub(channel).Check(request, timeout=5).status


def _statuses(address: str, *services: str) -> dict[str, int]:
    return {service: _health(address, service) for service in services}


def _predict(stub: pb_grpc.ScoringServiceStub, model_name: str) -> pb.PredictResponse:
    request = pb.PredictRequest(model_name=model_name)
    request.dataframe_split.columns.extend(SEED_COLUMNS)
    request.dataframe_split.data.add().extend(SEED_ROW)
    return stub.Predict(request, timeout=10)


def test_load_and_unload_are_refused_unless_model_control_is_enabled(
    wine_model_dir: Path,
) -> None:
    server = _serve(wine_model_dir, model_control=False)
    try:
        with grpc.insecure_channel(server.address) as channel:
            stub = pb_grpc.ScoringServiceStub(channel)
            calls = {
                "LoadModel": lambda: stub.LoadModel(
                    pb.LoadModelRequest(model_name="b", model_uri=str(wine_model_dir)), timeout=30
                ),
                "UnloadModel": lambda: stub.UnloadModel(
                    pb.UnloadModelRequest(model_name="a"), timeout=10
                ),
            }
            for rpc, call in calls.items():
                with pytest.raises(grpc.RpcError) as caught:
                    call()
                assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION, rpc
                assert f"{rpc} is disabled" in caught.value.details()
                assert "--enable-model-control" in caught.value.details()
                assert "MLGRPC_ENABLE_MODEL_CONTROL" in caught.value.details()
            assert _predict(stub, "a").model_name == "a"  # nothing changed
        assert server.manager.registry.names() == ["a"]
    finally:
        server.stop(grace=0)


@pytest.mark.parametrize(
    ("argv", "env", "enabled"),
    [
        ([], {}, False),
        (["--enable-model-control"], {}, True),
        ([], {"MLGRPC_ENABLE_MODEL_CONTROL": "true"}, True),
    ],
)
def test_model_control_flag_and_environment(
    monkeypatch: pytest.MonkeyPatch, argv: list[str], env: dict[str, str], enabled: bool
) -> None:
    monkeypatch.delenv("MLGRPC_ENABLE_MODEL_CONTROL", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    config = config_from_args(build_parser().parse_args(["-m", "/m", *argv]))
    assert config.model_control is enabled
    assert "--enable-model-control" in build_parser().format_help()


def test_health_has_an_entry_per_model_that_follows_load_and_unload(
    controlled: Any, wine_model_dir: Path
) -> None:
    address = controlled.address
    services = ("", SCORING_SERVICE, INFERENCE_SERVICE)
    assert _statuses(address, *services, "a") == dict.fromkeys((*services, "a"), SERVING)
    with grpc.insecure_channel(address) as channel:
        stub = pb_grpc.ScoringServiceStub(channel)
        stub.LoadModel(pb.LoadModelRequest(model_name="b", model_uri=str(wine_model_dir)))
        assert _health(address, "b") == SERVING
        stub.UnloadModel(pb.UnloadModelRequest(model_name="b"), timeout=10)
        assert _statuses(address, "", "a", "b") == {"": SERVING, "a": SERVING, "b": NOT_SERVING}

        stub.UnloadModel(pb.UnloadModelRequest(model_name="a"), timeout=10)
        assert _statuses(address, *services, "a") == dict.fromkeys((*services, "a"), NOT_SERVING)

        stub.LoadModel(pb.LoadModelRequest(model_name="a", model_uri=str(wine_model_dir)))
        assert _statuses(address, *services, "a") == dict.fromkeys((*services, "a"), SERVING)
        assert _predict(stub, "a").model_name == "a"


def test_health_of_a_name_never_served_is_not_found(controlled: Any) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        _health(controlled.address, "no-such-model")
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND


def test_a_model_named_at_start_is_not_serving_until_it_loads(wine_model_dir: Path) -> None:
    server = _serve(wine_model_dir, model_control=False, load=False)
    try:
        assert _statuses(server.address, "", "a") == {"": NOT_SERVING, "a": NOT_SERVING}
        server.load_models()
        assert _statuses(server.address, "", "a") == {"": SERVING, "a": SERVING}
    finally:
        server.stop(grace=0)
