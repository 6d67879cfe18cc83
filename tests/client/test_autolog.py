"""Autologging flags and run handling, against the real tracking service."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import mlgrpc as mlflow
import mlgrpc.pyfunc

WINE = Path(__file__).resolve().parents[1] / "fixtures" / "winequality-red.csv"


@pytest.fixture(autouse=True)
def autolog_off_afterwards() -> Iterator[None]:
    yield
    mlflow.autolog(disable=True)


@pytest.fixture(scope="module")
def xy() -> tuple[pd.DataFrame, pd.Series]:
    wine = pd.read_csv(WINE, sep=";").head(300)
    return wine.drop(columns=["quality"]), wine["quality"]


def _runs(experiment_id: str) -> list[mlflow.Run]:
    return list(mlflow.search_runs([experiment_id], output_format="list"))


@pytest.fixture()
def experiment_id(tracking_uri: str) -> str:
    import uuid

    return str(mlflow.set_experiment(f"autolog-{uuid.uuid4().hex[:8]}").experiment_id)


def test_fit_without_a_run_starts_and_finishes_one_with_a_servable_model(
    experiment_id: str, xy: tuple[pd.DataFrame, pd.Series]
) -> None:
    from sklearn.linear_model import Ridge

    mlflow.sklearn.autolog()
    model = Ridge(alpha=2.0).fit(*xy)
    assert mlflow.active_run() is None
    (run,) = _runs(experiment_id)
    assert run.info.status == "FINISHED"
    assert run.data.params["alpha"] == "2.0"
    assert run.data.tags["estimator_class"] == "sklearn.linear_model._ridge.Ridge"
    loaded = mlgrpc.pyfunc.load_model(f"runs:/{run.info.run_id}/model", allow_pickle=False)
    assert loaded.metadata.signature is not None
    x = xy[0]
    np.testing.assert_allclose(loaded.predict(x[sorted(x.columns)]), model.predict(x))


def test_a_pipeline_logs_once_with_its_nested_params(
    experiment_id: str, xy: tuple[pd.DataFrame, pd.Series]
) -> None:
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    mlflow.sklearn.autolog(log_models=False)
    make_pipeline(StandardScaler(), Ridge()).fit(*xy)
    (run,) = _runs(experiment_id)
    assert run.data.tags["estimator_name"] == "Pipeline"
    assert "ridge__alpha" in run.data.params
    assert "training_r2_score" in run.data.metrics


def test_log_models_false_logs_no_model(
    experiment_id: str, xy: tuple[pd.DataFrame, pd.Series]
) -> None:
    from sklearn.linear_model import Ridge

    mlflow.sklearn.autolog(log_models=False)
    Ridge().fit(*xy)
    (run,) = _runs(experiment_id)
    paths = [f.path for f in mlflow.MlgrpcClient().list_artifacts(run.info.run_id)]
    assert "model" not in paths and "estimator.html" in paths


def test_disable_logs_nothing(experiment_id: str, xy: tuple[pd.DataFrame, pd.Series]) -> None:
    from sklearn.linear_model import Ridge

    mlflow.autolog()
    mlflow.autolog(disable=True)
    Ridge().fit(*xy)
    assert _runs(experiment_id) == []


def test_exclusive_leaves_a_users_run_alone(
    experiment_id: str, xy: tuple[pd.DataFrame, pd.Series]
) -> None:
    from sklearn.linear_model import Ridge

    mlflow.sklearn.autolog(exclusive=True, log_models=False)
    with mlflow.start_run() as run:
        Ridge().fit(*xy)
    assert mlflow.get_run(run.info.run_id).data.params == {}


def test_xgboost_eval_metrics_are_logged_at_each_iteration(
    experiment_id: str, xy: tuple[pd.DataFrame, pd.Series]
) -> None:
    import xgboost as xgb

    mlflow.xgboost.autolog(log_models=False)
    d = xgb.DMatrix(xy[0], label=xy[1])
    with mlflow.start_run() as run:
        xgb.train({"max_depth": 2}, d, num_boost_round=4, evals=[(d, "train")], verbose_eval=False)
    history = mlflow.MlgrpcClient().get_metric_history(run.info.run_id, "train-rmse")
    assert sorted(m.step for m in history) == [0, 1, 2, 3]
    values = [m.value for m in sorted(history, key=lambda m: m.step)]
    assert values == sorted(values, reverse=True)  # training error falls


def test_lightgbm_autolog_logs_params_metrics_and_a_native_model(
    experiment_id: str, xy: tuple[pd.DataFrame, pd.Series]
) -> None:
    import lightgbm as lgb

    mlflow.lightgbm.autolog()
    ds = lgb.Dataset(xy[0], label=xy[1])
    with mlflow.start_run() as run:
        lgb.train({"verbose": -1}, ds, num_boost_round=3, valid_sets=[ds], valid_names=["t"])
    data = mlflow.get_run(run.info.run_id).data
    assert data.params["num_boost_round"] == "3"
    assert "t-l2" in data.metrics
    model = mlgrpc.pyfunc.load_model(f"runs:/{run.info.run_id}/model", allow_pickle=False)
    assert len(model.predict(xy[0])) == len(xy[0])


def test_without_input_examples_the_model_still_has_a_signature(
    experiment_id: str, xy: tuple[pd.DataFrame, pd.Series]
) -> None:
    from sklearn.linear_model import Ridge

    mlflow.sklearn.autolog(log_input_examples=False)
    Ridge().fit(*xy)
    (run,) = _runs(experiment_id)
    model = mlgrpc.pyfunc.load_model(f"runs:/{run.info.run_id}/model", allow_pickle=False)
    assert model.metadata.signature is not None
    assert model.metadata.saved_input_example_info is None


def test_training_data_is_logged_as_a_run_input_without_error(
    experiment_id: str, xy: tuple[pd.DataFrame, pd.Series], caplog: pytest.LogCaptureFixture
) -> None:
    from sklearn.linear_model import Ridge

    from mlgrpc.autologging.datasets import dataset_input

    mlflow.sklearn.autolog(log_models=False)
    with caplog.at_level("WARNING"):
        Ridge().fit(*xy)
    assert not [r for r in caplog.records if "dataset" in r.getMessage()]
    from mlgrpc.tracking.v1 import tracking_service_pb2 as pb

    (run,) = _runs(experiment_id)
    reply = mlflow.MlgrpcClient()._call("GetRun", pb.GetRunRequest(run_id=run.info.run_id))
    (stored,) = reply.run.inputs.dataset_inputs
    assert stored.dataset.name == "dataset" and stored.dataset.source_type == "code"
    assert {t.key: t.value for t in stored.tags} == {"mlflow.data.context": "train"}
    item = dataset_input(xy[0], "dataset", "train")
    assert item.tags == {"mlflow.data.context": "train"}
    assert item.dataset.source_type == "code" and len(item.dataset.digest) == 8
    assert '"num_rows": 300' in item.dataset.profile
    assert '"name": "alcohol"' in item.dataset.schema


def _logged_models(experiment_id: str) -> list[Any]:
    return list(mlflow.MlgrpcClient().search_logged_models([experiment_id]))


def _run_outputs(run_id: str) -> list[str]:
    from mlgrpc.tracking.v1 import tracking_service_pb2 as pb

    reply = mlflow.MlgrpcClient()._call("GetRun", pb.GetRunRequest(run_id=run_id))
    return [output.model_id for output in reply.run.outputs.model_outputs]


def test_the_model_is_a_ready_logged_model_of_its_run(
    experiment_id: str, xy: tuple[pd.DataFrame, pd.Series]
) -> None:
    from sklearn.linear_model import Ridge

    mlflow.sklearn.autolog()
    model = Ridge(alpha=3.0).fit(*xy)
    (run,) = _runs(experiment_id)
    (logged,) = _logged_models(experiment_id)
    assert (logged.name, logged.status, logged.source_run_id) == ("model", "READY", run.info.run_id)
    assert logged.params["alpha"] == "3.0" and logged.params == run.data.params
    assert logged.tags["mlflow.source.type"] == "LOCAL"
    # the training metrics are about the model and the training data, as MLflow logs them
    assert {m.key for m in logged.metrics} == set(run.data.metrics)
    assert {m.dataset_name for m in logged.metrics} == {"dataset"}
    assert _run_outputs(run.info.run_id) == [logged.model_id]
    run_files = [f.path for f in mlflow.MlgrpcClient().list_artifacts(run.info.run_id)]
    assert "model" not in run_files  # as MLflow 3: the files are the LoggedModel's
    loaded = mlgrpc.pyfunc.load_model(logged.model_uri, allow_pickle=False)
    assert loaded.metadata.model_id == logged.model_id
    x = xy[0]
    np.testing.assert_allclose(loaded.predict(x[sorted(x.columns)]), model.predict(x))


def test_fit_does_not_wait_for_the_model_upload_and_end_run_does(
    experiment_id: str, xy: tuple[pd.DataFrame, pd.Series]
) -> None:
    import threading

    from sklearn.linear_model import Ridge

    from mlgrpc.autologging.background import UPLOADS

    mlflow.sklearn.autolog()
    release = threading.Event()
    UPLOADS.submit("a gate", lambda: release.wait(30))  # holds the upload thread
    try:
        with mlflow.start_run():
            Ridge().fit(*xy)
            # fit has returned while its upload waits behind the gate: nothing is created yet
            assert _logged_models(experiment_id) == []
            release.set()
    finally:
        release.set()
    (logged,) = _logged_models(experiment_id)  # end_run waited for the upload
    assert logged.status == "READY"


@pytest.mark.parametrize("library", ["xgboost", "lightgbm"])
def test_scikit_learn_wrappers_of_the_boosters_are_autologged(
    experiment_id: str, xy: tuple[pd.DataFrame, pd.Series], library: str
) -> None:
    if library == "xgboost":
        from xgboost import XGBRegressor as Regressor

        metric, params = "validation_0-rmse", {"max_depth": 2}
    else:
        from lightgbm import LGBMRegressor as Regressor

        metric, params = "valid_0-l2", {"num_leaves": 4, "verbose": -1}
    getattr(mlflow, library).autolog()
    x, y = xy
    with mlflow.start_run() as run:
        estimator = Regressor(n_estimators=3, **params).fit(x, y, eval_set=[(x[:100], y[:100])])
    history = mlflow.MlgrpcClient().get_metric_history(run.info.run_id, metric)
    assert sorted(m.step for m in history) == [0, 1, 2]
    data = mlflow.get_run(run.info.run_id).data
    assert data.params[next(iter(params))] == str(next(iter(params.values())))
    (logged,) = _logged_models(experiment_id)
    assert (logged.status, logged.source_run_id) == ("READY", run.info.run_id)
    # as MLflow: the step-0 values are linked to the model; the run's history has no duplicate
    assert [(m.key, m.step) for m in logged.metrics] == [(metric, 0)]
    assert len(mlflow.MlgrpcClient().get_metric_history(run.info.run_id, metric)) == 3
    loaded = mlgrpc.pyfunc.load_model(f"runs:/{run.info.run_id}/model", allow_pickle=False)
    assert loaded.metadata.flavors[library]["data"]
    np.testing.assert_allclose(loaded.predict(x), estimator.predict(x), rtol=1e-6)


EXIT_SCRIPT = """
import sys, warnings
warnings.filterwarnings("ignore")
import pandas as pd
from sklearn.linear_model import Ridge
import mlgrpc as mlflow
mlflow.set_tracking_uri(sys.argv[1])
mlflow.set_experiment(experiment_id=sys.argv[3])
wine = pd.read_csv(sys.argv[2], sep=";").head(200)
mlflow.autolog()
mlflow.start_run()
Ridge().fit(wine.drop(columns=["quality"]), wine["quality"])
# no end_run: the exit handlers end the run, after the model's background upload
"""


def test_a_script_that_exits_without_end_run_still_uploads_its_model(
    experiment_id: str, tracking_uri: str
) -> None:
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-c", EXIT_SCRIPT, tracking_uri, str(WINE), experiment_id],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (run,) = _runs(experiment_id)
    (logged,) = _logged_models(experiment_id)
    assert run.info.status == "FINISHED"
    assert (logged.status, logged.source_run_id) == ("READY", run.info.run_id)
    files = [f.path for f in mlflow.MlgrpcClient().list_artifacts(logged.model_id)]
    assert "MLmodel" in files and "model.skops" in files
