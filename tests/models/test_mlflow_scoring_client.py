"""MLflow's own scoring client (`mlflow.pyfunc.scoring_server.client.ScoringServerClient`, what
`mlflow models predict` and MLflow's tests use against `mlflow models serve`), unchanged, against
our scoring service's HTTP port."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

COLUMNS = [
    "alcohol", "chlorides", "citric acid", "density", "fixed acidity", "free sulfur dioxide",
    "pH", "residual sugar", "sulphates", "total sulfur dioxide", "volatile acidity",
]  # fmt: skip
ROWS = [
    [12.8, 0.029, 0.48, 0.98, 6.2, 29, 3.33, 1.2, 0.39, 75, 0.66],
    [9.4, 0.076, 0.0, 0.9978, 7.4, 11.0, 3.51, 1.9, 0.56, 34.0, 0.7],
]

CLIENT_SCRIPT = """
import json, sys
import numpy as np
import pandas as pd
from mlflow.pyfunc.scoring_server.client import ScoringServerClient

port, columns, rows, order = int(sys.argv[1]), *map(json.loads, sys.argv[2:5])
client = ScoringServerClient("127.0.0.1", port)
client.wait_server_ready(timeout=30)
frame = pd.DataFrame(rows, columns=columns)
by_frame = client.invoke(frame).get_predictions(predictions_format="ndarray")
with_params = client.invoke(frame, params={"unused": 1}).get_predictions(
    predictions_format="ndarray")
matrix = np.array([[row[columns.index(c)] for c in order] for row in rows])
by_matrix = client.invoke(matrix).get_predictions(predictions_format="ndarray")
print(json.dumps({
    "frame": by_frame.ravel().tolist(),
    "params": with_params.ravel().tolist(),
    "matrix": by_matrix.ravel().tolist(),
    "ping": client.ping() is None,
}))
"""


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, elastic_net: Any, wine: Any) -> Iterator[Any]:
    from mlgrpc import sklearn as mlgrpc_sklearn
    from scoring_service.config import ModelSpec, ServeConfig
    from scoring_service.server import create_server

    path = tmp_path_factory.mktemp("served") / "wine"
    mlgrpc_sklearn.save_model(elastic_net, path, input_example=wine.drop(columns=["quality"])[:3])
    server = create_server(ServeConfig(models=(ModelSpec(str(path), "wine"),), port=0, http_port=0))
    yield server
    server.stop(grace=0)


def test_mlflows_scoring_client_works_unchanged(
    served: Any,
    elastic_net: Any,
    run_in_mlflow_venv: Callable[..., Any],
) -> None:
    import pandas as pd

    order = list(elastic_net.feature_names_in_)
    expected = elastic_net.predict(pd.DataFrame(ROWS, columns=COLUMNS)[order]).ravel().tolist()
    result = run_in_mlflow_venv(
        CLIENT_SCRIPT,
        str(served.http.port),
        json.dumps(COLUMNS),
        json.dumps(ROWS),
        json.dumps(order),
    )
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    assert answer["ping"] is True
    # A DataFrame is matched by column name (ours are not in training order).
    assert answer["frame"] == pytest.approx(expected, abs=1e-9)
    assert answer["params"] == pytest.approx(expected, abs=1e-9)
    # A bare matrix is read in the signature's column order, as MLflow's server reads it.
    assert answer["matrix"] == pytest.approx(expected, abs=1e-9)


def test_ping_is_404_while_no_model_is_served(tmp_path: Path) -> None:
    """MLflow's client waits on /ping: our HTTP port says 404 until the models are loaded."""
    import urllib.error
    import urllib.request

    from scoring_service.config import ServeConfig
    from scoring_service.server import create_server

    server = create_server(ServeConfig(models=(), port=0, http_port=0), load=False)
    try:
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(f"{server.http_url}/ping", timeout=10)
        assert caught.value.code == 404
    finally:
        server.stop(grace=0)
