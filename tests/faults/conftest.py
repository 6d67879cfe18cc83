"""Fixtures of the fault tests: saved wine models for the scoring service, and a tracking
service process on MariaDB that a test may kill and restart."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from .processes import ROOT, ServiceProcess, free_port, wait_serving

WINE_CSV = ROOT / "tests" / "fixtures" / "winequality-red.csv"
#: The seed's request row, columns not in training order.
SEED_COLUMNS = [
    "alcohol", "chlorides", "citric acid", "density", "fixed acidity", "free sulfur dioxide",
    "pH", "residual sugar", "sulphates", "total sulfur dioxide", "volatile acidity",
]  # fmt: skip
SEED_ROW = [12.8, 0.029, 0.48, 0.98, 6.2, 29, 3.33, 1.2, 0.39, 75, 0.66]


@pytest.fixture(scope="session")
def model_dirs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two different linear models of the wine data, saved in the MLmodel format."""
    import pandas as pd
    from sklearn.linear_model import ElasticNet

    from mlgrpc import sklearn as mlgrpc_sklearn

    wine = pd.read_csv(WINE_CSV, sep=";")
    x, y = wine.drop(columns=["quality"]), wine["quality"]
    paths = []
    for index, alpha in enumerate((0.5, 0.1), start=1):
        path = tmp_path_factory.mktemp("models") / f"wine-v{index}"
        model = ElasticNet(alpha=alpha, l1_ratio=0.5).fit(x, y)
        mlgrpc_sklearn.save_model(model, path, input_example=x.head(3))
        paths.append(path)
    return paths[0], paths[1]


@pytest.fixture
def mariadb_uri(new_database: Callable[[str], str]) -> str:
    return new_database("mysql")


@pytest.fixture
def tracking(mariadb_uri: str, tmp_path: Path) -> Iterator[ServiceProcess]:
    port = free_port()
    service = ServiceProcess(
        "tracking_service",
        [
            "--port", str(port),
            "--backend-store-uri", mariadb_uri,
            "--default-artifact-root", str(tmp_path / "artifacts"),
            "--log-level", "WARNING",
        ],
        tmp_path / "tracking.log",
        port,
    )  # fmt: skip
    service.start()
    wait_serving(service.address)
    yield service
    service.stop()
