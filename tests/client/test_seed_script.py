"""The user's own training script, as their blog post shows it, against mlgrpc.

The promise of the client issue: the script runs with one line of code changed,
`import mlflow` → `import mlgrpc as mlflow`. Its `import mlflow.sklearn` line stays (it resolves to
`mlgrpc.sklearn`), and so does `set_tracking_uri("http://…")` (gRPC is HTTP/2; mlgrpc reads an
http URI as a plaintext gRPC address). Besides that one line, only *where things are* changes: the
CSV comes from the shipped copy instead of the UCI URL (no network at run time) and the URI's
port is the test server's instead of 5000.
"""

from __future__ import annotations

import difflib
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mlgrpc
import mlgrpc.pyfunc

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SEED = FIXTURES / "seed_train_mlflow.py.txt"
WINE_CSV = FIXTURES / "winequality-red.csv"
SEED_CSV_URL = (
    "'http://archive.ics.uci.edu/ml/machine-learning-databases/wine-quality/winequality-red.csv'"
)


def port_seed_script(source: str, tracking_port: int) -> str:
    """The seed with its one code change and its two locations pointed at this machine."""
    lines = source.splitlines(keepends=True)
    ported = ["import mlgrpc as mlflow\n" if line == "import mlflow\n" else line for line in lines]
    text = "".join(ported)
    text = text.replace(SEED_CSV_URL, repr(str(WINE_CSV)))
    return text.replace('"http://localhost:5000"', f'"http://localhost:{tracking_port}"')


def test_porting_the_seed_changes_one_line_of_code() -> None:
    source = SEED.read_text(encoding="utf-8")
    ported = port_seed_script(source, tracking_port=5000)
    changed = [
        line
        for line in difflib.unified_diff(source.splitlines(), ported.splitlines(), lineterm="", n=0)
        if line.startswith(("+", "-")) and not line.startswith(("+++", "---"))
    ]
    assert changed == [
        "-import mlflow",
        "+import mlgrpc as mlflow",
        f"-        {SEED_CSV_URL}",
        f"+        {str(WINE_CSV)!r}",
    ]
    # The untouched lines the port relies on.
    assert "import mlflow.sklearn\n" in ported
    assert 'remote_server_tracking_uri = "http://localhost:5000"' in ported


def test_seed_script_runs_against_mlgrpc_and_logs_what_mlflow_would(
    tracking_server: str, tmp_path: Path
) -> None:
    port = int(tracking_server.rsplit(":", 1)[1])
    script = tmp_path / "train.py"
    script.write_text(port_seed_script(SEED.read_text(encoding="utf-8"), port), encoding="utf-8")

    result = subprocess.run(
        [sys.executable, str(script), "0.5", "0.5"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "Elasticnet model (alpha=0.500000, l1_ratio=0.500000):" in result.stdout
    printed_rmse = float(result.stdout.split("RMSE: ")[1].split()[0])

    mlgrpc.set_tracking_uri(tracking_server)
    experiment = mlgrpc.get_experiment_by_name("AirBnb Tracking")
    assert experiment is not None
    runs = mlgrpc.search_runs(experiment_ids=[experiment.experiment_id])
    run = runs.iloc[0]
    assert run["status"] == "FINISHED"
    assert run["params.alpha"] == "0.5" and run["params.l1_ratio"] == "0.5"
    assert run["metrics.rmse"] == pytest.approx(printed_rmse, rel=1e-12)
    assert {"metrics.r2", "metrics.mae"} <= set(runs.columns)

    model = mlgrpc.pyfunc.load_model(f"runs:/{run['run_id']}/model")
    wine = pd.read_csv(WINE_CSV, sep=";").drop(columns=["quality"])
    predictions = np.asarray(model.predict(wine.head(3))).ravel()
    assert predictions.shape == (3,) and np.all((predictions > 3) & (predictions < 9))


def test_import_mlflow_alias_reaches_mlgrpc_submodules(tmp_path: Path) -> None:
    script = tmp_path / "alias.py"
    script.write_text(
        "import mlgrpc as mlflow\n"
        "import mlflow.sklearn\n"
        "import mlflow.pyfunc\n"
        "from mlflow.models import infer_signature\n"
        "from mlflow.tracking import MlflowClient\n"
        "import mlgrpc\n"
        "import mlgrpc.models\n"
        "assert mlflow is mlgrpc\n"
        "assert mlflow.sklearn is mlgrpc.sklearn and mlflow.pyfunc is mlgrpc.pyfunc\n"
        "assert infer_signature is mlgrpc.models.infer_signature\n"
        "assert MlflowClient is mlgrpc.MlgrpcClient\n"
        "assert mlgrpc.sklearn.__spec__.name == 'mlgrpc.sklearn'\n",
        encoding="utf-8",
    )
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_code_that_did_not_alias_mlflow_does_not_see_mlgrpc_as_mlflow(tmp_path: Path) -> None:
    # A library probing for MLflow (as training frameworks' integrations do) must not be fooled.
    script = tmp_path / "probe.py"
    script.write_text(
        "import importlib.util\n"
        "import mlgrpc\n"
        "assert importlib.util.find_spec('mlflow') is None\n"
        "try:\n"
        "    import mlflow\n"
        "except ModuleNotFoundError:\n"
        "    pass\n"
        "else:\n"
        "    raise AssertionError('import mlflow resolved without an alias')\n",
        encoding="utf-8",
    )
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_an_unknown_mlflow_submodule_is_still_module_not_found(tmp_path: Path) -> None:
    script = tmp_path / "unknown.py"
    script.write_text(
        "import mlgrpc as mlflow\n"
        "try:\n"
        "    import mlflow.no_such_flavor\n"
        "except ModuleNotFoundError as error:\n"
        "    assert 'no_such_flavor' in str(error), error\n"
        "else:\n"
        "    raise AssertionError('imported a module that does not exist')\n",
        encoding="utf-8",
    )
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
