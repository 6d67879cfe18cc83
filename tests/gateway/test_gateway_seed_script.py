"""Done-when 1 of issue #14: the seed's script, verbatim (`import mlflow`, `import mlflow.sklearn`,
`set_tracking_uri("http://localhost:5000")`), run with the real `mlflow` 3.17 in its peer venv
against the gateway in front of our tracking service: it logs its run, params, metrics and
`mlflow.sklearn.log_model`; our gRPC CLI shows the run; MLflow's own client finds the model
with `search_logged_models` and loads `models:/m-…` to the same predictions as in-process.

Not one byte of the script changes. What it reaches over HTTP goes through a loopback proxy
(`network_standin`, via HTTP_PROXY): `localhost:5000` is forwarded to the gateway's port, and the
UCI CSV URL is answered with the shipped copy (no network at run time).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from gateway_helpers import serve_gateway
from network_standin import network_standin
from sklearn.model_selection import train_test_split

import mlgrpc
import mlgrpc.pyfunc

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SEED = FIXTURES / "seed_train_mlflow.py.txt"
WINE_CSV = FIXTURES / "winequality-red.csv"
UCI_CSV_URL = (
    "http://archive.ics.uci.edu/ml/machine-learning-databases/wine-quality/winequality-red.csv"
)

#: Runs in the MLflow venv after the seed: argv = experiment name, CSV path. Reads back through
#: MLflow's own client and prints one JSON document.
READ_BACK = """
import json, sys
import numpy as np, pandas as pd
import mlflow
from mlflow import MlflowClient
from sklearn.linear_model import ElasticNet
from sklearn.model_selection import train_test_split

mlflow.set_tracking_uri("http://localhost:5000")
experiment = mlflow.get_experiment_by_name(sys.argv[1])
client = MlflowClient()
models = client.search_logged_models(experiment_ids=[experiment.experiment_id])
runs = client.search_runs([experiment.experiment_id])
model = models[0]
loaded = mlflow.pyfunc.load_model(f"models:/{model.model_id}")

# In-process: the seed's own training, same seed and split.
np.random.seed(40)
data = pd.read_csv(sys.argv[2], sep=";")
train, test = train_test_split(data)
lr = ElasticNet(alpha=0.5, l1_ratio=0.5, random_state=42)
lr.fit(train.drop(["quality"], axis=1), train[["quality"]])
test_x = test.drop(["quality"], axis=1)
print(json.dumps({
    "models": [[m.model_id, m.name, m.source_run_id, str(m.status)] for m in models],
    "run_ids": [r.info.run_id for r in runs],
    "run_outputs": [
        o.model_id for o in client.get_run(runs[0].info.run_id).outputs.model_outputs
    ],
    "loaded": np.asarray(loaded.predict(test_x)).ravel().tolist(),
    "in_process": np.asarray(lr.predict(test_x)).ravel().tolist(),
}))
"""


def _mlflow_env(proxy: str) -> dict[str, str]:
    env = {
        **os.environ,
        "HTTP_PROXY": proxy,
        "http_proxy": proxy,
        "MLFLOW_ALLOW_PICKLE_DESERIALIZATION": "true",
        "PYTHONWARNINGS": "ignore",
    }
    for name in ("PYTHONPATH", "NO_PROXY", "no_proxy", "MLFLOW_TRACKING_URI"):
        env.pop(name, None)
    return env


@pytest.fixture(scope="module")
def seeded(tracking_server: str, mlflow_python: Path, tmp_path_factory) -> dict:
    workdir = tmp_path_factory.mktemp("seed")
    script = workdir / "train.py"
    script.write_bytes(SEED.read_bytes())  # verbatim
    with (
        serve_gateway(tracking_server) as gateway_url,
        network_standin(
            {UCI_CSV_URL: WINE_CSV}, {"localhost:5000": gateway_url.removeprefix("http://")}
        ) as proxy,
    ):
        env = _mlflow_env(proxy)
        trained = subprocess.run(
            [str(mlflow_python), str(script)],
            cwd=workdir,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert trained.returncode == 0, trained.stderr[-4000:]
        read = subprocess.run(
            [str(mlflow_python), "-c", READ_BACK, "AirBnb Tracking", str(WINE_CSV)],
            cwd=workdir,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert read.returncode == 0, read.stderr[-4000:]
    return {
        "stdout": trained.stdout,
        **json.loads(read.stdout.strip().splitlines()[-1]),
    }


def test_seed_prints_its_metrics(seeded: dict) -> None:
    assert "Elasticnet model (alpha=0.500000, l1_ratio=0.500000):" in seeded["stdout"]


def test_cli_describes_the_seeds_run_over_grpc(
    seeded: dict, tracking_server: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from mlgrpc.cli.main import main

    (run_id,) = seeded["run_ids"]
    capsys.readouterr()
    assert main(["runs", "describe", run_id, "--tracking-uri", tracking_server, "-O", "json"]) == 0
    described = json.loads(capsys.readouterr().out)
    run = described["run"]
    assert run["info"]["status"] == "FINISHED"
    assert run["data"]["params"] == {"alpha": "0.5", "l1_ratio": "0.5"}
    printed_rmse = float(seeded["stdout"].split("RMSE: ")[1].split()[0])
    assert run["data"]["metrics"]["rmse"] == pytest.approx(printed_rmse, rel=1e-12)
    assert {"r2", "mae"} <= set(run["data"]["metrics"])


def test_search_logged_models_finds_the_seeds_model(seeded: dict) -> None:
    (run_id,) = seeded["run_ids"]
    [[model_id, name, source_run_id, status]] = seeded["models"]
    assert model_id.startswith("m-") and name == "model"
    assert source_run_id == run_id
    assert status == "READY"
    assert seeded["run_outputs"] == [model_id]


def test_models_uri_loads_to_the_in_process_predictions(seeded: dict) -> None:
    assert len(seeded["loaded"]) == len(seeded["in_process"]) > 100
    assert seeded["loaded"] == pytest.approx(seeded["in_process"], rel=1e-12, abs=1e-12)


def test_the_model_linked_the_runs_metrics(seeded: dict, tracking_server: str) -> None:
    import grpc

    from mlgrpc.tracking.v1 import logged_models_pb2 as lm
    from mlgrpc.tracking.v1 import tracking_service_pb2_grpc as pb_grpc

    [[model_id, *_]] = seeded["models"]
    with grpc.insecure_channel(tracking_server) as channel:
        stub = pb_grpc.TrackingServiceStub(channel)
        model = stub.GetLoggedModel(lm.GetLoggedModelRequest(model_id=model_id)).model
    assert {m.key for m in model.metrics} == {"rmse", "r2", "mae"}
    assert {f.path for f in []} == set()


def test_our_client_loads_the_same_models_uri_over_grpc(
    seeded: dict, tracking_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", "true")
    [[model_id, *_]] = seeded["models"]
    mlgrpc.set_tracking_uri(f"grpc://{tracking_server}")
    model = mlgrpc.pyfunc.load_model(f"models:/{model_id}")
    np.random.seed(40)
    _, test = train_test_split(pd.read_csv(WINE_CSV, sep=";"))
    predicted = np.asarray(model.predict(test.drop(["quality"], axis=1))).ravel().tolist()
    assert predicted == pytest.approx(seeded["in_process"], rel=1e-12, abs=1e-12)
