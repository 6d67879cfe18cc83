"""Fixtures of the model-format tests: the shipped wine data, the seed's ElasticNet, and a
virtualenv with the real MLflow for the compatibility tests."""

from __future__ import annotations

import functools
import os
import subprocess
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
WINE_CSV = FIXTURES / "winequality-red.csv"
#: An existing MLflow virtualenv to use instead of the shared peer venv (optional).
MLFLOW_VENV = os.environ.get("MLGRPC_MLFLOW_VENV")


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
def mlflow_python(peer_python: Callable[[str, list[str]], Path]) -> Path:
    """The python of a virtualenv holding the real `mlflow`; created on first use.

    Its scikit-learn is pinned to ours so that pickles and skops files travel both ways.
    """
    if MLFLOW_VENV:
        return Path(MLFLOW_VENV) / "bin" / "python"
    sklearn_pin = f"scikit-learn=={metadata.version('scikit-learn')}"
    return peer_python("mlflow", ["mlflow", sklearn_pin, "pandas"])


@pytest.fixture(scope="session")
def wine_csv() -> Path:
    return WINE_CSV


@pytest.fixture(scope="session")
def run_in_mlflow_venv(mlflow_python: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """`run(script, *args)` runs `script` with the MLflow venv's python (fails the test with
    its stderr on error)."""
    return functools.partial(_run_in_mlflow_venv, mlflow_python)


def _run_in_mlflow_venv(python: Path, script: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        # MLflow 3.17 refuses to deserialize any model (skops included) without this.
        "MLFLOW_ALLOW_PICKLE_DESERIALIZATION": "true",
        "PYTHONWARNINGS": "ignore",
    }
    env.pop("PYTHONPATH", None)
    result = subprocess.run(
        [str(python), "-c", script, *args], capture_output=True, text=True, env=env, timeout=300
    )
    if result.returncode != 0:
        pytest.fail(f"MLflow script failed:\n{result.stderr[-4000:]}")
    return result
