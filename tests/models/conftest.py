"""Fixtures of the model-format tests: the shipped wine data and the seed's ElasticNet (the real
MLflow's virtualenv, `mlflow_python` / `run_in_mlflow_venv`, is in tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
WINE_CSV = FIXTURES / "winequality-red.csv"


@pytest.fixture(scope="session")
def wine() -> Any:
    import pandas as pd

    return pd.read_csv(WINE_CSV, sep=";")


@pytest.fixture(scope="session")
def wine_x(wine: Any) -> Any:
    return wine.drop(columns=["quality"])


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
def wine_csv() -> Path:
    return WINE_CSV
