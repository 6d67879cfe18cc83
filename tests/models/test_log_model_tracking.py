"""`mlgrpc.sklearn.log_model` through a real tracking service (SQLite and MariaDB), and model
URI resolution."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import mlgrpc
import mlgrpc.pyfunc
import mlgrpc.sklearn
from mlgrpc import config, fluent, model_uri
from mlgrpc.exceptions import UnavailableError
from mlgrpc.model_uri import register_model_uri_resolver, resolve_model_uri
from mlgrpc.models import ModelUriError


@pytest.fixture
def tracking_uri(tracking_server: str) -> Iterator[str]:
    fluent._reset_state()
    config.reset()
    uri = f"grpc://{tracking_server}"
    mlgrpc.set_tracking_uri(uri)
    yield uri
    while mlgrpc.active_run() is not None:
        mlgrpc.end_run()
    fluent._reset_state()
    config.reset()


def test_log_model_returns_runs_uri_of_the_active_run(
    tracking_uri: str, elastic_net: Any, wine_x: pd.DataFrame
) -> None:
    with mlgrpc.start_run() as run:
        info = mlgrpc.sklearn.log_model(elastic_net, "model", input_example=wine_x.head(2))
    assert info.model_uri == f"runs:/{run.info.run_id}/model"
    assert info.run_id == run.info.run_id
    assert info.signature is not None
    assert "sklearn" in info.flavors


def test_logged_model_loads_back_through_the_tracking_service(
    tracking_uri: str, elastic_net: Any, wine_x: pd.DataFrame, tmp_path: Path
) -> None:
    with mlgrpc.start_run():
        info = mlgrpc.sklearn.log_model(elastic_net, name="wine", input_example=wine_x.head(2))
    model = mlgrpc.pyfunc.load_model(info.model_uri, dst_path=str(tmp_path))
    np.testing.assert_array_equal(model.predict(wine_x), elastic_net.predict(wine_x))
    assert model.metadata.run_id == info.run_id
    assert model.metadata.artifact_path == "wine"


def test_logged_model_uploads_the_whole_directory(
    tracking_uri: str, elastic_net: Any, wine_x: pd.DataFrame
) -> None:
    with mlgrpc.start_run() as run:
        mlgrpc.sklearn.log_model(elastic_net, "model", input_example=wine_x.head(2))
    listed = mlgrpc.MlgrpcClient().list_artifacts(run.info.run_id, "model")
    names = sorted(Path(f.path).name for f in listed)
    assert names == sorted(
        [
            "MLmodel",
            "conda.yaml",
            "input_example.json",
            "model.skops",
            "python_env.yaml",
            "requirements.txt",
            "serving_input_example.json",
        ]
    )


def test_sklearn_load_model_reads_a_runs_uri(
    tracking_uri: str, elastic_net: Any, wine_x: pd.DataFrame
) -> None:
    with mlgrpc.start_run():
        info = mlgrpc.sklearn.log_model(elastic_net, "model", serialization_format="pickle")
    loaded = mlgrpc.sklearn.load_model(info.model_uri)
    np.testing.assert_array_equal(loaded.predict(wine_x), elastic_net.predict(wine_x))


def test_log_model_outside_a_run_starts_one(tracking_uri: str, elastic_net: Any) -> None:
    info = mlgrpc.sklearn.log_model(elastic_net, "model")
    active = mlgrpc.active_run()
    assert active is not None and active.info.run_id == info.run_id


def test_models_uri_with_no_registry_answering_is_unavailable_naming_it() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{sock.getsockname()[1]}"  # closed again: nothing listens there
    mlgrpc.set_registry_uri(address)
    try:
        with pytest.raises(UnavailableError, match=address):
            resolve_model_uri("models:/wine/1")
    finally:
        config.set_registry_uri(None)  # type: ignore[arg-type]


def test_registered_resolver_is_followed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(model_uri, "_RESOLVERS", {})
    register_model_uri_resolver("testscheme", lambda uri: str(tmp_path))
    assert resolve_model_uri("testscheme:/anything") == str(tmp_path.resolve())


def test_file_uri_resolves_to_the_path(tmp_path: Path) -> None:
    assert resolve_model_uri(f"file://{tmp_path}") == str(tmp_path.resolve())


def test_missing_local_path_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelUriError, match="does not exist"):
        resolve_model_uri(tmp_path / "nope")


def test_unknown_scheme_is_refused() -> None:
    with pytest.raises(ModelUriError, match="unsupported model URI scheme"):
        resolve_model_uri("s3://bucket/model")
