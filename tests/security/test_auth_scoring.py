"""The scoring service with `--auth` (admin RPCs need an admin token) and `--require-token`
(inference needs a token too); tokens come from the shared database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from auth_helpers import bearer, issue_token, rpc_error
from grpc_health.v1 import health_pb2, health_pb2_grpc

from mlgrpc.inference import grpc_predict_v2_pb2 as oip
from mlgrpc.inference import grpc_predict_v2_pb2_grpc as oip_grpc
from mlgrpc.scoring.v1 import scoring_service_pb2 as pb
from mlgrpc.scoring.v1 import scoring_service_pb2_grpc as pb_grpc

COLUMNS = ["a", "b"]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import pandas as pd
    from sklearn.linear_model import LinearRegression

    from mlgrpc import sklearn as mlgrpc_sklearn

    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [0.0, 1.0, 0.0]})
    model = LinearRegression().fit(frame, [1.0, 3.0, 3.0])
    path = tmp_path_factory.mktemp("auth-models") / "tiny"
    mlgrpc_sklearn.save_model(model, path, input_example=frame.head(2))
    return path


@pytest.fixture(scope="module")
def tokens(db_uri: str) -> dict[str, str]:
    return {role: issue_token(db_uri, role) for role in ("read", "write", "admin")}


def _serve(model_dir: Path, db_uri: str, *, require_token: bool) -> Any:
    from scoring_service.config import ModelSpec, ServeConfig
    from scoring_service.server import create_server

    config = ServeConfig(
        models=(ModelSpec(str(model_dir), "tiny"),),
        port=0,
        auth=True,
        require_token=require_token,
        auth_backend_store_uri=db_uri,
    )
    return create_server(config)


@pytest.fixture(scope="module")
def open_server(model_dir: Path, db_uri: str, tokens: dict[str, str]) -> Iterator[str]:
    server = _serve(model_dir, db_uri, require_token=False)
    yield server.address
    server.stop(grace=0)


@pytest.fixture(scope="module")
def closed_server(model_dir: Path, db_uri: str, tokens: dict[str, str]) -> Iterator[str]:
    server = _serve(model_dir, db_uri, require_token=True)
    yield server.address
    server.stop(grace=0)


def _predict(address: str, metadata: Any = None) -> pb.PredictResponse:
    request = pb.PredictRequest(model_name="tiny")
    for name in COLUMNS:
        request.columnar.columns.add(name=name, doubles=pb.DoubleColumn(values=[1.0]))
    with grpc.insecure_channel(address) as channel:
        return pb_grpc.ScoringServiceStub(channel).Predict(request, metadata=metadata, timeout=10)


def _infer(address: str, metadata: Any = None) -> oip.ModelInferResponse:
    request = oip.ModelInferRequest(model_name="tiny")
    for name in COLUMNS:
        tensor = request.inputs.add(name=name, datatype="FP64", shape=[1])
        tensor.contents.fp64_contents.append(1.0)
    with grpc.insecure_channel(address) as channel:
        stub = oip_grpc.GRPCInferenceServiceStub(channel)
        return stub.ModelInfer(request, metadata=metadata, timeout=10)


def _load_and_unload(address: str, metadata: Any, model_dir: Path) -> None:
    with grpc.insecure_channel(address) as channel:
        stub = pb_grpc.ScoringServiceStub(channel)
        request = pb.LoadModelRequest(model_name="extra", model_uri=str(model_dir))
        stub.LoadModel(request, metadata=metadata, timeout=30)
        stub.UnloadModel(pb.UnloadModelRequest(model_name="extra"), metadata=metadata, timeout=10)


def test_predict_is_open_without_require_token(open_server: str) -> None:
    assert len(_predict(open_server).columnar_predictions.doubles.values) == 1
    assert len(_infer(open_server).outputs) == 1


def test_load_and_unload_need_an_admin_token(
    open_server: str, tokens: dict[str, str], model_dir: Path
) -> None:
    missing = rpc_error(_load_and_unload, open_server, None, model_dir)
    assert missing.code() == grpc.StatusCode.UNAUTHENTICATED
    for role in ("read", "write"):
        denied = rpc_error(_load_and_unload, open_server, bearer(tokens[role]), model_dir)
        assert denied.code() == grpc.StatusCode.PERMISSION_DENIED
        assert "LoadModel needs an admin token" in denied.details()
    _load_and_unload(open_server, bearer(tokens["admin"]), model_dir)


def test_require_token_closes_inference_to_calls_without_one(closed_server: str) -> None:
    for call in (_predict, _infer):
        error = rpc_error(call, closed_server)
        assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    bad = rpc_error(_predict, closed_server, bearer("mlgrpc_" + "z" * 43))
    assert bad.code() == grpc.StatusCode.UNAUTHENTICATED


def test_require_token_accepts_a_read_token(closed_server: str, tokens: dict[str, str]) -> None:
    assert len(_predict(closed_server, bearer(tokens["read"])).columnar_predictions.doubles.values)
    assert len(_infer(closed_server, bearer(tokens["read"])).outputs) == 1


def test_health_and_liveness_stay_open(closed_server: str) -> None:
    with grpc.insecure_channel(closed_server) as channel:
        health = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest())
        live = oip_grpc.GRPCInferenceServiceStub(channel).ServerLive(oip.ServerLiveRequest())
    assert health.status == health_pb2.HealthCheckResponse.SERVING
    assert live.live


def test_auth_without_a_token_database_refuses_to_start(model_dir: Path, tmp_path: Path) -> None:
    from mlgrpc_server.errors import FailedPrecondition

    with pytest.raises(FailedPrecondition, match="mlgrpc db upgrade"):
        _serve(model_dir, f"sqlite:///{tmp_path / 'empty.db'}", require_token=True)
