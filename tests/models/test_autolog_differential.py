"""Autologging, differential: the same training script with MLflow 3.17's autolog against
MLflow's own server (SQLite, in the `mlflow-flavors` peer venv) and with ours against mlgrpc;
the sets of params, metrics (with their steps), tags and artifact paths must match.

Differences, by design (asserted below, so that a new one fails the test):
- the model: MLflow 3 logs it as a LoggedModel outside the run's artifacts; we log it as run
  artifacts under `model/` (LoggedModels are another issue's contract);
- tags `mlflow.*`: set by each client's run context, not by autologging; not compared.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

SCRIPT = r"""
import json, sys, warnings
warnings.filterwarnings("ignore")
import pandas as pd, xgboost as xgb, lightgbm as lgb
from sklearn.linear_model import ElasticNet
{import_line}
mlflow.set_tracking_uri(sys.argv[1])
wine = pd.read_csv(sys.argv[2], sep=";")
x, y = wine.drop(columns=["quality"]), wine["quality"]
mlflow.autolog()
ids = {{}}
with mlflow.start_run() as run:
    ElasticNet(alpha=0.5, l1_ratio=0.5, random_state=42).fit(x, y)
ids["sklearn"] = run.info.run_id
with mlflow.start_run() as run:
    d = xgb.DMatrix(x, label=y)
    xgb.train({{"max_depth": 3}}, d, num_boost_round=5, evals=[(d, "train")], verbose_eval=False)
ids["xgboost"] = run.info.run_id
with mlflow.start_run() as run:
    ds = lgb.Dataset(x, label=y)
    lgb.train({{"verbose": -1, "num_leaves": 8}}, ds, num_boost_round=5, valid_sets=[ds],
              valid_names=["train"])
ids["lightgbm"] = run.info.run_id
print(json.dumps(ids))
"""

SUMMARY = r"""
import json, sys
{import_line}
client = mlflow.MlflowClient(sys.argv[1]) if hasattr(mlflow, "MlflowClient") else None
ids = json.loads(sys.argv[2])
def paths(run_id, path=None):
    out = []
    for f in client.list_artifacts(run_id, path):
        out.extend(paths(run_id, f.path) if f.is_dir else [f.path])
    return out
summary = {{}}
for name, run_id in ids.items():
    run = client.get_run(run_id)
    summary[name] = {{
        "params": sorted(run.data.params),
        "metrics": {{k: sorted(m.step for m in client.get_metric_history(run_id, k))
                    for k in run.data.metrics}},
        "tags": sorted(k for k in run.data.tags if not k.startswith("mlflow.")),
        "artifacts": sorted(paths(run_id)),
    }}
print(json.dumps(summary))
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run(python: Path | str, script: str, *args: str) -> str:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    env.pop("PYTHONPATH", None)
    result = subprocess.run(
        [str(python), "-c", script, *args], capture_output=True, text=True, env=env, timeout=600
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return result.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def mlflow_server(
    peer_python: Callable[[str, list[str]], Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Path, str]]:
    sklearn_pin = f"scikit-learn=={metadata.version('scikit-learn')}"
    python = peer_python(
        "mlflow-flavors", ["mlflow==3.17.*", sklearn_pin, "xgboost-cpu", "lightgbm", "pandas"]
    )
    root = tmp_path_factory.mktemp("mlflow-server")
    port = _free_port()
    server = subprocess.Popen(
        [str(python), "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port),
         "--backend-store-uri", f"sqlite:///{root}/mlflow.db",
         "--default-artifact-root", str(root / "artifacts"), "--workers", "1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.5)
        yield python, url
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.fixture(scope="module")
def mlflow_summary(mlflow_server: tuple[Path, str], wine_csv: Path) -> dict[str, Any]:
    python, url = mlflow_server
    ids = _run(python, SCRIPT.format(import_line="import mlflow"), url, str(wine_csv))
    summary = _run(python, SUMMARY.format(import_line="import mlflow"), url, ids)
    return dict(json.loads(summary))


@pytest.fixture(scope="module")
def our_summary(tracking_server: str, wine_csv: Path) -> dict[str, Any]:
    uri = f"grpc://{tracking_server}"
    ids = _run(sys.executable, SCRIPT.format(import_line="import mlgrpc as mlflow"), uri,
               str(wine_csv))  # fmt: skip
    from mlgrpc import MlgrpcClient

    client = MlgrpcClient(uri)
    summary: dict[str, Any] = {}
    for name, run_id in json.loads(ids).items():
        run = client.get_run(run_id)
        summary[name] = {
            "params": sorted(run.data.params),
            "metrics": {
                k: sorted(m.step for m in client.get_metric_history(run_id, k))
                for k in run.data.metrics
            },
            "tags": sorted(k for k in run.data.tags if not k.startswith("mlflow.")),
            "artifacts": sorted(_paths(client, run_id)),
        }
    return summary


def _paths(client: Any, run_id: str, path: str | None = None) -> list[str]:
    out: list[str] = []
    for f in client.list_artifacts(run_id, path):
        out.extend(_paths(client, run_id, f.path) if f.is_dir else [f.path])
    return out


@pytest.mark.parametrize("library", ["sklearn", "xgboost", "lightgbm"])
@pytest.mark.parametrize("part", ["params", "metrics", "tags"])
def test_autolog_logs_what_mlflow_logs(
    mlflow_summary: dict[str, Any], our_summary: dict[str, Any], library: str, part: str
) -> None:
    assert our_summary[library][part] == mlflow_summary[library][part]


@pytest.mark.parametrize("library", ["sklearn", "xgboost", "lightgbm"])
def test_autolog_artifacts_are_mlflows_plus_the_model_directory(
    mlflow_summary: dict[str, Any], our_summary: dict[str, Any], library: str
) -> None:
    ours = our_summary[library]["artifacts"]
    assert [p for p in ours if not p.startswith("model/")] == mlflow_summary[library]["artifacts"]
    assert "model/MLmodel" in ours
