"""The model cache serves a model's own files, never another model's that has the same name and
version: two stacks (two databases, two artifact roots) whose `wine` v1 are different models,
one scoring cache directory."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from mlgrpc import artifacts
from mlgrpc.registry.v1 import registry_service_pb2 as rpb
from mlgrpc.registry.v1 import registry_service_pb2_grpc as rpb_grpc
from mlgrpc.scoring.v1 import scoring_service_pb2 as pb
from mlgrpc.scoring.v1 import scoring_service_pb2_grpc as pb_grpc
from mlgrpc.tracking.v1 import tracking_service_pb2 as tpb
from mlgrpc.tracking.v1 import tracking_service_pb2_grpc as tpb_grpc
from scoring_service.config import ModelSpec, ServeConfig
from scoring_service.models.file_cache import MANIFEST

from .conftest import SEED_COLUMNS, SEED_ROW


class Stack:
    """A tracking and a registry service on their own database and artifact root, holding
    `wine` v1 made from one model directory."""

    def __init__(self, db_uri: str, artifact_root: Path, model_dir: Path) -> None:
        from registry_service.server import create_server as create_registry
        from tracking_service.server import create_server as create_tracking

        self.tracking = create_tracking(
            backend_store_uri=db_uri, default_artifact_root=str(artifact_root), port=0
        )
        self.tracking_address = f"127.0.0.1:{self.tracking.port}"
        self.registry = create_registry(
            backend_store_uri=db_uri, tracking_address=self.tracking_address, port=0
        )
        self.registry_address = f"127.0.0.1:{self.registry.port}"
        with (
            grpc.insecure_channel(self.tracking_address) as tch,
            grpc.insecure_channel(self.registry_address) as rch,
        ):
            tracking = tpb_grpc.TrackingServiceStub(tch)
            run = tracking.CreateRun(tpb.CreateRunRequest(experiment_id="0")).run
            self.run_id = run.info.run_id
            artifacts.upload_dir(tracking, self.run_id, model_dir, "model")
            registry = rpb_grpc.ModelRegistryServiceStub(rch)
            registry.CreateRegisteredModel(rpb.CreateRegisteredModelRequest(name="wine"))
            created = registry.CreateModelVersion(
                rpb.CreateModelVersionRequest(name="wine", source=f"runs:/{self.run_id}/model")
            )
        assert created.model_version.version == 1

    def stop(self) -> None:
        self.registry.stop(grace=0)
        self.tracking.stop(grace=0)


def _in_process_prediction(model_dir: Path) -> float:
    import pandas as pd

    from mlgrpc.pyfunc import load_model_from_dir

    frame = pd.DataFrame([SEED_ROW], columns=SEED_COLUMNS)
    return float(load_model_from_dir(model_dir).predict(frame)[0])


@pytest.fixture
def stacks(
    new_database: Callable[[str], str],
    tmp_path: Path,
    wine_model_dir: Path,
    other_wine_model_dir: Path,
) -> Iterator[tuple[Stack, Stack]]:
    first = Stack(new_database("sqlite"), tmp_path / "artifacts-a", wine_model_dir)
    second = Stack(new_database("mysql"), tmp_path / "artifacts-b", other_wine_model_dir)
    yield first, second
    first.stop()
    second.stop()


@pytest.fixture(scope="module")
def other_wine_model_dir(tmp_path_factory: pytest.TempPathFactory, wine: Any) -> Path:
    """Another `wine` model: different coefficients, so a different prediction."""
    from sklearn.linear_model import ElasticNet

    from mlgrpc import sklearn as mlgrpc_sklearn

    x = wine.drop(columns=["quality"])
    model = ElasticNet(alpha=0.1, l1_ratio=0.2).fit(x, wine["quality"])
    path = tmp_path_factory.mktemp("models") / "other-wine"
    mlgrpc_sklearn.save_model(model, path, input_example=x.head(3))
    return path


def _serve_and_predict(stack: Stack, cache_dir: Path, **config: Any) -> tuple[float, str]:
    """Serve `models:/wine/1` of `stack`; the seed row's prediction and the served run id."""
    from scoring_service.server import create_server

    server = create_server(
        ServeConfig(
            models=(ModelSpec("models:/wine/1"),),
            port=0,
            registry_address=stack.registry_address,
            tracking_address=stack.tracking_address,
            cache_dir=cache_dir,
            **config,
        )
    )
    try:
        request = pb.PredictRequest(model_name="wine")
        request.dataframe_split.columns.extend(SEED_COLUMNS)
        request.dataframe_split.data.add().extend(SEED_ROW)
        with grpc.insecure_channel(server.address) as channel:
            stub = pb_grpc.ScoringServiceStub(channel)
            predicted = stub.Predict(request, timeout=30).predictions.values[0].number_value
            [info] = stub.ListModels(pb.ListModelsRequest(), timeout=30).models
        return predicted, info.run_id
    finally:
        server.stop(grace=0)


def _entry(cache_dir: Path, run_id: str) -> Path:
    import json

    for manifest in (cache_dir / "runs").glob(f"*/{MANIFEST}"):
        if json.loads(manifest.read_text())["run_id"] == run_id:
            return manifest.parent
    raise AssertionError(f"no cache entry of run {run_id}")


def test_two_stacks_with_a_different_wine_v1_each_serve_their_own(
    stacks: tuple[Stack, Stack], tmp_path: Path, wine_model_dir: Path, other_wine_model_dir: Path
) -> None:
    first, second = stacks
    cache_dir = tmp_path / "cache"
    expected_first = _in_process_prediction(wine_model_dir)
    expected_second = _in_process_prediction(other_wine_model_dir)
    assert expected_first != pytest.approx(expected_second)

    assert _serve_and_predict(first, cache_dir) == (pytest.approx(expected_first), first.run_id)
    assert _serve_and_predict(second, cache_dir) == (pytest.approx(expected_second), second.run_id)
    # And back: each stack's entry is still there and still its own.
    assert _serve_and_predict(first, cache_dir) == (pytest.approx(expected_first), first.run_id)
    assert _entry(cache_dir, first.run_id) != _entry(cache_dir, second.run_id)


def test_a_cached_file_that_changed_is_downloaded_again_not_served(
    stacks: tuple[Stack, Stack], tmp_path: Path, wine_model_dir: Path, other_wine_model_dir: Path
) -> None:
    first, _ = stacks
    cache_dir = tmp_path / "cache"
    expected = _in_process_prediction(wine_model_dir)
    _serve_and_predict(first, cache_dir)
    entry = _entry(cache_dir, first.run_id)
    # Another model's files where this one's were (same names, other content).
    for path in other_wine_model_dir.iterdir():
        if path.is_file():
            (entry / path.name).write_bytes(path.read_bytes())

    assert _serve_and_predict(first, cache_dir) == (pytest.approx(expected), first.run_id)
    assert (entry / "MLmodel").read_bytes() == (wine_model_dir / "MLmodel").read_bytes()


def test_with_tracking_down_a_verified_entry_is_served_and_a_changed_one_is_not(
    stacks: tuple[Stack, Stack], tmp_path: Path, wine_model_dir: Path, other_wine_model_dir: Path
) -> None:
    from scoring_service.server import create_server

    first, _ = stacks
    cache_dir = tmp_path / "cache"
    expected = _in_process_prediction(wine_model_dir)
    _serve_and_predict(first, cache_dir)
    first.tracking.stop(grace=0)

    assert _serve_and_predict(first, cache_dir) == (pytest.approx(expected), first.run_id)

    entry = _entry(cache_dir, first.run_id)
    model_files = [p for p in entry.iterdir() if p.is_file() and p.name.startswith("model")]
    assert model_files
    model_files[0].write_bytes(model_files[0].read_bytes() + b"\0")
    from mlgrpc_server.errors import Unavailable

    with pytest.raises(Unavailable, match=f"downloading runs:/{first.run_id}/model failed"):
        create_server(
            ServeConfig(
                models=(ModelSpec("models:/wine/1"),),
                port=0,
                registry_address=first.registry_address,
                tracking_address=first.tracking_address,
                cache_dir=cache_dir,
            )
        )
