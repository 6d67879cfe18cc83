"""Fixtures of the scoring tests: the seed's wine ElasticNet saved in the MLmodel format, and a
real scoring server on a free loopback port serving it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
WINE_CSV = FIXTURES / "winequality-red.csv"

#: The seed's request: columns deliberately NOT in training order.
SEED_COLUMNS = [
    "alcohol", "chlorides", "citric acid", "density", "fixed acidity", "free sulfur dioxide",
    "pH", "residual sugar", "sulphates", "total sulfur dioxide", "volatile acidity",
]  # fmt: skip
SEED_ROW = [12.8, 0.029, 0.48, 0.98, 6.2, 29, 3.33, 1.2, 0.39, 75, 0.66]
#: The peer venv of the real tritonclient (gRPC and HTTP): it needs protobuf < 7, we need 7.
TRITON_REQUIREMENTS = ["tritonclient[grpc,http]==2.73.0", "numpy"]


@pytest.fixture(scope="session")
def wine() -> Any:
    import pandas as pd

    return pd.read_csv(WINE_CSV, sep=";")


@pytest.fixture(scope="session")
def elastic_net(wine: Any) -> Any:
    """The seed script's model: ElasticNet(alpha=0.5, l1_ratio=0.5) on a 75/25 split."""
    from sklearn.linear_model import ElasticNet
    from sklearn.model_selection import train_test_split

    train, _test = train_test_split(wine, random_state=40)
    model = ElasticNet(alpha=0.5, l1_ratio=0.5, random_state=42)
    model.fit(train.drop(columns=["quality"]), train[["quality"]])
    return model


@pytest.fixture(scope="session")
def wine_model_dir(tmp_path_factory: pytest.TempPathFactory, elastic_net: Any, wine: Any) -> Path:
    from mlgrpc import sklearn as mlgrpc_sklearn

    path = tmp_path_factory.mktemp("models") / "wine"
    example = wine.drop(columns=["quality"]).head(3)
    mlgrpc_sklearn.save_model(elastic_net, path, input_example=example)
    return path


@pytest.fixture(scope="session")
def pickled_model_dir(
    tmp_path_factory: pytest.TempPathFactory, elastic_net: Any, wine: Any
) -> Path:
    from mlgrpc import sklearn as mlgrpc_sklearn

    path = tmp_path_factory.mktemp("models") / "wine-pickle"
    example = wine.drop(columns=["quality"]).head(3)
    mlgrpc_sklearn.save_model(
        elastic_net, path, serialization_format="cloudpickle", input_example=example
    )
    return path


@pytest.fixture(scope="session")
def expected_seed_prediction(elastic_net: Any) -> float:
    import pandas as pd

    frame = pd.DataFrame([SEED_ROW], columns=SEED_COLUMNS)[list(elastic_net.feature_names_in_)]
    return float(elastic_net.predict(frame)[0])


@pytest.fixture(scope="module")
def scoring_server(wine_model_dir: Path) -> Iterator[Any]:
    from scoring_service.config import ModelSpec, ServeConfig
    from scoring_service.server import create_server

    config = ServeConfig(
        models=(ModelSpec(str(wine_model_dir), "wine"),),
        port=0,
        max_request_rows=50_000,
        model_control=True,  # the fuzz regressions call LoadModel
    )
    server = create_server(config)
    yield server
    server.stop(grace=0)


@pytest.fixture(scope="module")
def channel(scoring_server: Any) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(scoring_server.address) as ch:
        yield ch
