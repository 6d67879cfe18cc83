"""The scoring service serves `models:/m-<id>` (an MLflow 3 LoggedModel, resolved by the
registry, its files downloaded from the tracking service by model id), and a registered
version that points at a LoggedModel."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest

import mlgrpc
from mlgrpc.registry.v1 import registry_service_pb2 as rpb
from mlgrpc.registry.v1 import registry_service_pb2_grpc as rpb_grpc
from mlgrpc.scoring.v1 import scoring_service_pb2 as pb
from mlgrpc.scoring.v1 import scoring_service_pb2_grpc as pb_grpc
from scoring_service.config import ModelSpec, ServeConfig
from scoring_service.server import create_server

from .conftest import SEED_COLUMNS, SEED_ROW


@pytest.fixture(scope="module")
def logged_model_id(tracking_server: str, wine_model_dir: Path) -> str:
    client = mlgrpc.MlgrpcClient(f"grpc://{tracking_server}")
    run_id = client.create_run("0").info.run_id
    model = client.create_logged_model("0", name="wine", source_run_id=run_id)
    client.log_artifacts(model.model_id, wine_model_dir)
    client.finalize_logged_model(model.model_id, "READY")
    return model.model_id


def _predict(config: ServeConfig) -> float:
    server = create_server(config)
    try:
        request = pb.PredictRequest()
        request.dataframe_split.columns.extend(SEED_COLUMNS)
        request.dataframe_split.data.add().extend(SEED_ROW)
        with grpc.insecure_channel(server.address) as channel:
            response = pb_grpc.ScoringServiceStub(channel).Predict(request, timeout=30)
        return float(response.predictions.values[0].number_value)
    finally:
        server.stop(grace=0)


@pytest.mark.parametrize("registered", [False, True], ids=["logged-model", "registered-version"])
def test_models_uri_of_a_logged_model_is_served(
    registered: bool,
    logged_model_id: str,
    tracking_server: str,
    registry_server: str,
    expected_seed_prediction: float,
    tmp_path: Path,
) -> None:
    uri = f"models:/{logged_model_id}"
    if registered:
        name = f"wine-logged-{tmp_path.name[-8:]}"
        with grpc.insecure_channel(registry_server) as channel:
            registry = rpb_grpc.ModelRegistryServiceStub(channel)
            registry.CreateRegisteredModel(rpb.CreateRegisteredModelRequest(name=name))
            registry.CreateModelVersion(rpb.CreateModelVersionRequest(name=name, source=uri))
        uri = f"models:/{name}/1"
    config = ServeConfig(
        models=(ModelSpec(uri, "wine"),),
        port=0,
        registry_address=registry_server,
        tracking_address=tracking_server,
        cache_dir=tmp_path / "cache",
    )
    assert _predict(config) == pytest.approx(expected_seed_prediction, rel=1e-12)
