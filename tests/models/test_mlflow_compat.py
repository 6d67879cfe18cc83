"""Compatibility with the real MLflow, run in a virtualenv of its own (see `mlflow_python`).

Both directions: MLflow saves → mlgrpc loads, and mlgrpc saves → MLflow loads; predictions must
be bit-identical. One MLflow process per direction keeps the suite at a few seconds once the
virtualenv exists (creating it takes a minute or two the first time).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import mlgrpc.pyfunc
import mlgrpc.sklearn
from mlgrpc.models import Model, infer_signature

FORMATS = ("skops", "pickle", "cloudpickle")

# Runs in the MLflow venv: train the seed's model, save it once per format with MLflow, and
# store what MLflow's own pyfunc predicts on the whole data set.
MLFLOW_SAVES = """
import sys, numpy as np, pandas as pd, mlflow, mlflow.pyfunc, mlflow.sklearn
from mlflow.models import infer_signature
from sklearn.linear_model import ElasticNet
csv, out = sys.argv[1], sys.argv[2]
data = pd.read_csv(csv, sep=";")
x = data.drop(columns=["quality"])
model = ElasticNet(alpha=0.5, l1_ratio=0.5, random_state=42).fit(x, data[["quality"]])
signature = infer_signature(x, model.predict(x))
for fmt in ("skops", "pickle", "cloudpickle"):
    path = f"{out}/{fmt}"
    mlflow.sklearn.save_model(model, path, serialization_format=fmt, signature=signature,
                              input_example=x.head(3), pip_requirements=["scikit-learn"])
    np.save(f"{out}/{fmt}.npy", mlflow.pyfunc.load_model(path).predict(x))
"""

# Runs in the MLflow venv: load each model mlgrpc saved, with both MLflow loaders.
MLFLOW_LOADS = """
import json, sys, numpy as np, pandas as pd, mlflow.pyfunc, mlflow.sklearn
from mlflow.models import Model
csv, root = sys.argv[1], sys.argv[2]
x = pd.read_csv(csv, sep=";").drop(columns=["quality"])
report = {}
for fmt in ("skops", "pickle", "cloudpickle"):
    path = f"{root}/{fmt}"
    np.save(f"{root}/{fmt}-pyfunc.npy", mlflow.pyfunc.load_model(path).predict(x))
    np.save(f"{root}/{fmt}-sklearn.npy", mlflow.sklearn.load_model(path).predict(x))
    signature = Model.load(path).signature
    report[fmt] = {
        "inputs": signature.inputs.input_names(),
        "input_types": [t.name for t in signature.inputs.input_types()],
        "outputs": signature.outputs.to_dict(),
        # MLflow's pyfunc enforces our signature: shuffled columns must predict the same.
        "shuffled_equal": bool(np.array_equal(
            mlflow.pyfunc.load_model(path).predict(x[sorted(x.columns)]),
            mlflow.pyfunc.load_model(path).predict(x))),
    }
print(json.dumps(report))
"""


@pytest.fixture(scope="module")
def mlflow_saved(
    run_in_mlflow_venv: Callable[..., Any], wine_csv: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    out = tmp_path_factory.mktemp("mlflow-saved")
    run_in_mlflow_venv(MLFLOW_SAVES, str(wine_csv), str(out))
    return out


@pytest.fixture(scope="module")
def mlgrpc_saved(
    run_in_mlflow_venv: Callable[..., Any],
    wine_csv: Path,
    tmp_path_factory: pytest.TempPathFactory,
    wine: pd.DataFrame,
    wine_x: pd.DataFrame,
) -> tuple[Path, dict[str, Any], Any]:
    from sklearn.linear_model import ElasticNet

    model = ElasticNet(alpha=0.5, l1_ratio=0.5, random_state=42)
    model.fit(wine_x, wine[["quality"]])
    signature = infer_signature(wine_x, model.predict(wine_x))
    root = tmp_path_factory.mktemp("mlgrpc-saved")
    for fmt in FORMATS:
        mlgrpc.sklearn.save_model(
            model,
            root / fmt,
            serialization_format=fmt,
            signature=signature,
            input_example=wine_x.head(3),
        )
    result = run_in_mlflow_venv(MLFLOW_LOADS, str(wine_csv), str(root))
    return root, json.loads(result.stdout.strip().splitlines()[-1]), model


@pytest.mark.parametrize("fmt", FORMATS)
def test_mlflow_model_loads_with_our_pyfunc_and_predicts_identically(
    fmt: str, mlflow_saved: Path, wine_x: pd.DataFrame
) -> None:
    ours = mlgrpc.pyfunc.load_model(mlflow_saved / fmt).predict(wine_x)
    np.testing.assert_array_equal(ours, np.load(mlflow_saved / f"{fmt}.npy"))


@pytest.mark.parametrize("fmt", FORMATS)
def test_mlflow_model_loads_with_our_sklearn_flavor(
    fmt: str, mlflow_saved: Path, wine_x: pd.DataFrame
) -> None:
    ours = mlgrpc.sklearn.load_model(mlflow_saved / fmt).predict(wine_x)
    np.testing.assert_array_equal(ours, np.load(mlflow_saved / f"{fmt}.npy"))


def test_mlflow_signature_and_example_read_back(mlflow_saved: Path, wine_x: pd.DataFrame) -> None:
    meta = Model.load(mlflow_saved / "skops")
    assert meta.signature is not None and meta.signature.inputs is not None
    assert meta.signature.inputs.input_names() == list(wine_x.columns)
    example = mlgrpc.pyfunc.load_model(mlflow_saved / "skops").load_input_example()
    pd.testing.assert_frame_equal(example, wine_x.head(3).reset_index(drop=True))


def test_mlflow_model_shuffled_columns_predict_the_same(
    mlflow_saved: Path, wine_x: pd.DataFrame
) -> None:
    model = mlgrpc.pyfunc.load_model(mlflow_saved / "skops")
    np.testing.assert_array_equal(
        model.predict(wine_x[sorted(wine_x.columns)]), np.load(mlflow_saved / "skops.npy")
    )


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("loader", ["pyfunc", "sklearn"])
def test_our_model_loads_in_mlflow_and_predicts_identically(
    fmt: str, loader: str, mlgrpc_saved: tuple[Path, dict[str, Any], Any], wine_x: pd.DataFrame
) -> None:
    root, _report, model = mlgrpc_saved
    np.testing.assert_array_equal(np.load(root / f"{fmt}-{loader}.npy"), model.predict(wine_x))


def test_mlflow_reads_our_signature(
    mlgrpc_saved: tuple[Path, dict[str, Any], Any], wine_x: pd.DataFrame
) -> None:
    _root, report, _model = mlgrpc_saved
    assert report["skops"]["inputs"] == list(wine_x.columns)
    assert set(report["skops"]["input_types"]) == {"double"}
    assert report["skops"]["outputs"] == [
        {"type": "tensor", "tensor-spec": {"dtype": "float64", "shape": [-1]}}
    ]


def test_mlflow_enforces_our_signature_by_name(
    mlgrpc_saved: tuple[Path, dict[str, Any], Any],
) -> None:
    _root, report, _model = mlgrpc_saved
    assert all(entry["shuffled_equal"] for entry in report.values())
