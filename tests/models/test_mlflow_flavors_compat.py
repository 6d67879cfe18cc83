"""MLmodel both ways with MLflow 3.17 for the custom pyfunc, XGBoost and LightGBM flavors:
what MLflow saves loads here and predicts the same numbers, and what we save loads in MLflow.
(scikit-learn both ways: test_mlflow_compat.py.) MLflow runs in its own peer venv."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mlgrpc.lightgbm
import mlgrpc.pyfunc
import mlgrpc.xgboost

NAMES = ("custom", "lgb-booster", "xgb-booster", "xgb-regressor")

# The custom model's source: compiled under a module name that is not importable, so that
# cloudpickle stores the class by value (a class from an importable test module would be stored
# as a reference the other venv cannot resolve). `BASE` is mlflow's or mlgrpc's PythonModel.
CUSTOM_MODEL = """
from pathlib import Path

class AddOffset(BASE):
    def load_context(self, context):
        self.offset = float(Path(context.artifacts["offset"]).read_text())

    def predict(self, context, model_input, params=None):
        return (model_input["alcohol"] * 2.0 + self.offset).to_numpy()
"""

TRAIN_AND_SAVE = r"""
import sys, numpy as np, pandas as pd, lightgbm as lgb, xgboost as xgb
{imports}
csv, out = sys.argv[1], sys.argv[2]
wine = pd.read_csv(csv, sep=";")
x, y = wine.drop(columns=["quality"]), wine["quality"]
example = x.head(3)
namespace = {{"__name__": "custom_offset_model", "BASE": PythonModel}}
exec(CUSTOM_MODEL, namespace)
open(f"{{out}}/offset.txt", "w").write("0.5")
custom = namespace["AddOffset"]()
save_pyfunc(f"{{out}}/custom", python_model=custom, artifacts={{"offset": f"{{out}}/offset.txt"}},
            input_example=example)
xgb_booster = xgb.train({{"max_depth": 3}}, xgb.DMatrix(x, label=y), num_boost_round=8)
save_xgb(xgb_booster, f"{{out}}/xgb-booster", input_example=example)
xgb_reg = xgb.XGBRegressor(n_estimators=8, max_depth=3).fit(x, y)
save_xgb(xgb_reg, f"{{out}}/xgb-regressor", input_example=example, model_format="json")
lgb_booster = lgb.train({{"verbose": -1, "num_leaves": 8}}, lgb.Dataset(x, label=y),
                        num_boost_round=8)
save_lgb(lgb_booster, f"{{out}}/lgb-booster", input_example=example)
"""

MLFLOW_IMPORTS = """
import mlflow.pyfunc, mlflow.xgboost, mlflow.lightgbm
from mlflow.pyfunc import PythonModel
save_pyfunc, save_xgb, save_lgb = (
    mlflow.pyfunc.save_model, mlflow.xgboost.save_model, mlflow.lightgbm.save_model)
"""

MLFLOW_PREDICTS = r"""
import sys, numpy as np, pandas as pd, mlflow.pyfunc
csv, root = sys.argv[1], sys.argv[2]
x = pd.read_csv(csv, sep=";").drop(columns=["quality"])
for name in sys.argv[3:]:
    model = mlflow.pyfunc.load_model(f"{root}/{name}")
    np.save(f"{root}/{name}.mlflow.npy", np.asarray(model.predict(x), dtype=np.float64))
    # MLflow enforces our signature: columns in another order predict the same.
    shuffled = np.asarray(model.predict(x[sorted(x.columns)]), dtype=np.float64)
    np.save(f"{root}/{name}.mlflow-shuffled.npy", shuffled)
"""


@pytest.fixture(scope="session")
def flavors_python(peer_python: Callable[[str, list[str]], Path]) -> Path:
    """MLflow 3.17 with XGBoost and LightGBM (a peer of its own: the `mlflow` peer has neither)."""
    sklearn_pin = f"scikit-learn=={metadata.version('scikit-learn')}"
    return peer_python(
        "mlflow-flavors", ["mlflow==3.17.*", sklearn_pin, "xgboost-cpu", "lightgbm", "pandas"]
    )


def _run(python: Path, script: str, *args: str) -> None:
    env = {**os.environ, "MLFLOW_ALLOW_PICKLE_DESERIALIZATION": "true", "PYTHONWARNINGS": "ignore"}
    env.pop("PYTHONPATH", None)
    result = subprocess.run(
        [str(python), "-c", script, *args], capture_output=True, text=True, env=env, timeout=600
    )
    if result.returncode != 0:
        pytest.fail(f"script failed:\n{result.stderr[-4000:]}")


def _x(wine_csv: Path) -> pd.DataFrame:
    return pd.read_csv(wine_csv, sep=";").drop(columns=["quality"])


@pytest.fixture(scope="module")
def mlflow_saved(
    flavors_python: Path, wine_csv: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    out = tmp_path_factory.mktemp("mlflow-flavors")
    script = (
        f"CUSTOM_MODEL = {CUSTOM_MODEL!r}\n"
        + TRAIN_AND_SAVE.format(imports=MLFLOW_IMPORTS)
        + MLFLOW_PREDICTS.replace("sys.argv[3:]", repr(list(NAMES)))
    )
    _run(flavors_python, script, str(wine_csv), str(out))
    return out


@pytest.mark.parametrize("name", NAMES)
def test_mlflow_saved_model_predicts_the_same_here(
    mlflow_saved: Path, wine_csv: Path, name: str
) -> None:
    x = _x(wine_csv)
    ours = np.asarray(mlgrpc.pyfunc.load_model(mlflow_saved / name).predict(x), dtype=np.float64)
    np.testing.assert_allclose(ours, np.load(mlflow_saved / f"{name}.mlflow.npy"), rtol=1e-7)


def test_mlflow_saved_boosters_load_with_our_flavor_modules(mlflow_saved: Path) -> None:
    import lightgbm as lgb
    import xgboost as xgb

    assert isinstance(mlgrpc.xgboost.load_model(str(mlflow_saved / "xgb-booster")), xgb.Booster)
    assert isinstance(
        mlgrpc.xgboost.load_model(str(mlflow_saved / "xgb-regressor")), xgb.XGBRegressor
    )
    assert isinstance(mlgrpc.lightgbm.load_model(str(mlflow_saved / "lgb-booster")), lgb.Booster)


def test_mlflow_saved_custom_model_is_refused_without_allow_pickle(mlflow_saved: Path) -> None:
    with pytest.raises(mlgrpc.models.UnsafeModelError):
        mlgrpc.pyfunc.load_model(mlflow_saved / "custom", allow_pickle=False)


@pytest.fixture(scope="module")
def mlgrpc_saved(
    flavors_python: Path, wine_csv: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    out = tmp_path_factory.mktemp("mlgrpc-flavors")
    ours = (
        "import mlgrpc.pyfunc, mlgrpc.xgboost, mlgrpc.lightgbm\n"
        "from mlgrpc.pyfunc import PythonModel\n"
        "save_pyfunc, save_xgb, save_lgb = ("
        "mlgrpc.pyfunc.save_model, mlgrpc.xgboost.save_model, mlgrpc.lightgbm.save_model)\n"
    )
    script = f"CUSTOM_MODEL = {CUSTOM_MODEL!r}\n" + TRAIN_AND_SAVE.format(imports=ours)
    result = subprocess.run(
        [sys.executable, "-c", script, str(wine_csv), str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    for name in NAMES:  # what we predict, for MLflow's numbers to be compared with
        model = mlgrpc.pyfunc.load_model(out / name)
        np.save(out / f"{name}.ours.npy", np.asarray(model.predict(_x(wine_csv)), np.float64))
    _run(flavors_python, MLFLOW_PREDICTS, str(wine_csv), str(out), *NAMES)
    return out


@pytest.mark.parametrize("name", NAMES)
def test_our_model_loads_in_mlflow_and_predicts_the_same(mlgrpc_saved: Path, name: str) -> None:
    ours = np.load(mlgrpc_saved / f"{name}.ours.npy")
    np.testing.assert_allclose(np.load(mlgrpc_saved / f"{name}.mlflow.npy"), ours, rtol=1e-7)
    np.testing.assert_allclose(
        np.load(mlgrpc_saved / f"{name}.mlflow-shuffled.npy"), ours, rtol=1e-7
    )


def test_our_custom_model_pickle_names_mlflows_base_class(mlgrpc_saved: Path) -> None:
    data = (mlgrpc_saved / "custom" / "python_model.pkl").read_bytes()
    assert b"mlflow.pyfunc.model" in data and b"mlgrpc" not in data
