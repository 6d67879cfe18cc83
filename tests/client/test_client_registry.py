"""The registry through the client: `MlgrpcClient`'s registry methods, `mlgrpc.register_model`,
`log_model(registered_model_name=…)` and `models:/` URIs loading models."""

from __future__ import annotations

import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import ElasticNet

import mlgrpc
from mlgrpc.client import MlgrpcClient
from mlgrpc.exceptions import NotFoundError

WINE_CSV = Path(__file__).resolve().parent.parent / "fixtures" / "winequality-red.csv"


@pytest.fixture(scope="module")
def wine_model() -> tuple[ElasticNet, pd.DataFrame]:
    data = pd.read_csv(WINE_CSV, sep=";")
    x = data.drop(columns=["quality"])
    model = ElasticNet(alpha=0.5, l1_ratio=0.5, random_state=42).fit(x, data["quality"])
    return model, x


@pytest.fixture
def services(tracking_server: str, registry_server: str) -> tuple[str, str]:
    mlgrpc.set_tracking_uri(tracking_server)
    mlgrpc.set_registry_uri(registry_server)
    return tracking_server, registry_server


def _name() -> str:
    return f"wine-{uuid.uuid4().hex[:8]}"


def test_mlgrpc_client_answers_mlflow_client_registry_methods(services: tuple[str, str]) -> None:
    tracking, registry = services
    client = MlgrpcClient(tracking, registry_uri=registry)
    name = _name()
    client.create_registered_model(name, description="seed")
    run = client.create_run("0")
    version = client.create_model_version(name, f"runs:/{run.info.run_id}/model", run.info.run_id)
    client.set_registered_model_alias(name, "champion", version.version)
    assert client.get_model_version_by_alias(name, "champion").version == version.version
    assert client.get_registered_model(name).description == "seed"


def test_unknown_attribute_of_the_client_is_still_an_attribute_error(
    services: tuple[str, str],
) -> None:
    with pytest.raises(AttributeError):
        MlgrpcClient(services[0]).no_such_method  # noqa: B018


def test_log_model_with_registered_model_name_creates_version_one_then_two(
    services: tuple[str, str], wine_model: tuple[ElasticNet, pd.DataFrame]
) -> None:
    model, _x = wine_model
    name = _name()
    with mlgrpc.start_run():
        first = mlgrpc.sklearn.log_model(model, "model", registered_model_name=name)
    with mlgrpc.start_run():
        second = mlgrpc.sklearn.log_model(model, "model", registered_model_name=name)
    assert (first.registered_model_version, second.registered_model_version) == (1, 2)


def test_models_uri_with_alias_loads_the_version_it_points_at(
    services: tuple[str, str], wine_model: tuple[ElasticNet, pd.DataFrame]
) -> None:
    model, x = wine_model
    name = _name()
    with mlgrpc.start_run() as run:
        mlgrpc.sklearn.log_model(model, "model")
    version = mlgrpc.register_model(f"runs:/{run.info.run_id}/model", name)
    MlgrpcClient(registry_uri=services[1]).set_registered_model_alias(
        name, "champion", version.version
    )
    for uri in (f"models:/{name}@champion", f"models:/{name}/1", f"models:/{name}/latest"):
        loaded = mlgrpc.pyfunc.load_model(uri)
        np.testing.assert_allclose(loaded.predict(x.head(5)), model.predict(x.head(5)))


def test_models_uri_of_an_unknown_model_is_not_found(services: tuple[str, str]) -> None:
    with pytest.raises(NotFoundError):
        mlgrpc.pyfunc.load_model(f"models:/{_name()}/1")
