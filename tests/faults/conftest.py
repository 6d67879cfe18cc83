"""Fixtures of the fault tests: saved wine models for the scoring service."""

from __future__ import annotations

from pathlib import Path

import pytest

from .processes import ROOT

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
