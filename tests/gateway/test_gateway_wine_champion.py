"""Done-when 2 and 4 of issue #14 on the seed's wine model: the real `mlflow` 3.17 client in its
peer venv trains the seed's ElasticNet against the gateway, registers it as `wine`, aliases it
`champion`; then `models:/wine@champion` loads (`mlflow.pyfunc.load_model`), downloads
(`mlflow.artifacts.download_artifacts`) and is served by MLflow's own `mlflow models serve`
(`MLFLOW_TRACKING_URI` at the gateway), each predicting what the model predicts in-process.

Already covered elsewhere, not repeated here: `search_runs` filter/order/paging and
`get_metric_history` (test_gateway_mlflow_client.py), `register_model` and
`set_registered_model_alias` on a toy model (test_gateway_registry_mlflow_client.py),
`search_logged_models` without a filter (test_gateway_seed_script.py).
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from mlflow_processes import free_port, mlflow_env, mlflow_process

WINE_CSV = Path(__file__).resolve().parents[1] / "fixtures" / "winequality-red.csv"

#: Runs in the MLflow venv: argv = tracking URI, CSV path, scratch directory. Writes the test
#: features (MLflow's `dataframe_split`) to scratch/test_x.json; prints one JSON document.
TRAIN_REGISTER_READ = """
import json, os, sys
import numpy as np, pandas as pd
import mlflow
import mlflow.sklearn
from mlflow import MlflowClient
from sklearn.linear_model import ElasticNet
from sklearn.metrics import mean_squared_error
from sklearn.model_selection import train_test_split

uri, csv, scratch = sys.argv[1:4]
mlflow.set_tracking_uri(uri)
experiment = mlflow.set_experiment("wine-champion")
np.random.seed(40)
train, test = train_test_split(pd.read_csv(csv, sep=";"))
train_x, test_x = train.drop(["quality"], axis=1), test.drop(["quality"], axis=1)
runs = {}
for alpha in (0.5, 0.1):
    with mlflow.start_run(run_name=f"alpha-{alpha}") as run:
        lr = ElasticNet(alpha=alpha, l1_ratio=0.5, random_state=42).fit(train_x, train[["quality"]])
        mlflow.log_param("alpha", alpha)
        rmse = float(np.sqrt(mean_squared_error(test[["quality"]], lr.predict(test_x))))
        mlflow.log_metric("rmse", rmse)
        info = mlflow.sklearn.log_model(lr, name="model")
        runs[alpha] = (run.info.run_id, info.model_id, lr)

client = MlflowClient()
best = mlflow.search_runs(
    experiment_ids=[experiment.experiment_id],
    filter_string="params.alpha = '0.1' and metrics.rmse > 0",
    order_by=["metrics.rmse ASC"],
    max_results=1,
)
run_id, model_id, lr = runs[0.1]
version = mlflow.register_model(f"runs:/{run_id}/model", "wine")
client.set_registered_model_alias("wine", "champion", version.version)
loaded = mlflow.pyfunc.load_model("models:/wine@champion")
local = mlflow.artifacts.download_artifacts(
    "models:/wine@champion", dst_path=os.path.join(scratch, "dl")
)
filtered = client.search_logged_models(
    experiment_ids=[experiment.experiment_id], filter_string=f"source_run_id = '{run_id}'"
)
with open(os.path.join(scratch, "test_x.json"), "w") as out:
    # json.dumps keeps every digit (pandas' to_json rounds to 10 significant digits).
    split = {"columns": list(test_x.columns), "data": test_x.values.tolist()}
    json.dump({"dataframe_split": split}, out)
print(json.dumps({
    "run_id": run_id,
    "model_id": model_id,
    "best_run_ids": best["run_id"].tolist(),
    "version": version.version,
    "champion": client.get_model_version_by_alias("wine", "champion").version,
    "loaded": np.asarray(loaded.predict(test_x)).ravel().tolist(),
    "in_process": np.asarray(lr.predict(test_x)).ravel().tolist(),
    "downloaded": sorted(os.listdir(local)),
    "filtered_models": [m.model_id for m in filtered],
}))
"""


@pytest.fixture(scope="module")
def champion(
    registry_gateway_url: str,
    run_in_mlflow_venv: Callable[..., Any],
    tmp_path_factory: pytest.TempPathFactory,
) -> dict:
    scratch = tmp_path_factory.mktemp("wine-champion")
    result = run_in_mlflow_venv(
        TRAIN_REGISTER_READ, registry_gateway_url, str(WINE_CSV), str(scratch)
    )
    return dict(json.loads(result.stdout.strip().splitlines()[-1]), scratch=scratch)


def test_search_runs_filters_on_params_and_metrics_of_the_wine_runs(champion: dict) -> None:
    assert champion["best_run_ids"] == [champion["run_id"]]


def test_champion_alias_points_at_the_registered_version(champion: dict) -> None:
    assert champion["version"] == champion["champion"] == "1"


def test_load_model_of_wine_at_champion_predicts_as_in_process(champion: dict) -> None:
    assert len(champion["loaded"]) == len(champion["in_process"]) > 100
    assert champion["loaded"] == pytest.approx(champion["in_process"], rel=1e-12, abs=1e-12)


def test_download_artifacts_of_wine_at_champion_gives_the_model_files(champion: dict) -> None:
    assert {"MLmodel", "requirements.txt", "python_env.yaml"} <= set(champion["downloaded"])


def test_search_logged_models_filters_by_source_run(champion: dict) -> None:
    assert champion["filtered_models"] == [champion["model_id"]]


def test_mlflow_models_serve_of_wine_at_champion_through_the_gateway(
    champion: dict, registry_gateway_url: str, mlflow_python: Path
) -> None:
    port = free_port()
    env = mlflow_env(MLFLOW_TRACKING_URI=registry_gateway_url)
    args = ["models", "serve", "-m", "models:/wine@champion", "--env-manager", "local"]
    args += ["-h", "127.0.0.1", "-p", str(port)]
    log = champion["scratch"] / "serve.log"
    with mlflow_process(mlflow_python, args, "/ping", port, env, log) as url:
        request = urllib.request.Request(
            url + "/invocations",
            data=(champion["scratch"] / "test_x.json").read_bytes(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            served = json.loads(response.read())["predictions"]
    assert served == pytest.approx(champion["in_process"], rel=1e-12, abs=1e-12)
