"""The numpy-only early start of linear models (`scoring_service/models/early_linear.py`).

The early stand-in must predict bit-for-bit what the fully loaded model predicts, must only be
used for files whose whole skops tree is trusted by default, and must hand over to the full
model (or be withdrawn when the full load fails).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import pytest

from mlgrpc.models import sklearn_fast_path as sklearn_flavor
from mlgrpc.scoring.v1 import scoring_service_pb2 as pb
from mlgrpc_server.errors import InvalidArgument, Unavailable
from scoring_service.config import ModelSpec, ServeConfig
from scoring_service.models.early_linear import (
    ALLOWED_CLASSES,
    PendingFullModel,
    numpy_stand_in,
    read_linear_weights,
)
from scoring_service.models.enforce import ColumnBatch
from scoring_service.models.manager import ModelManager
from scoring_service.models.predict import predict

from .conftest import SEED_COLUMNS, SEED_ROW

ROOT = Path(__file__).resolve().parents[2]


def _batch(rows: list[list[float]]) -> ColumnBatch:
    columns = {name: np.array([r[i] for r in rows]) for i, name in enumerate(SEED_COLUMNS)}
    return ColumnBatch(columns=columns, n_rows=len(rows))


def _rows(wine: Any, n: int) -> list[list[float]]:
    return wine[SEED_COLUMNS].head(n).to_numpy(dtype=float).tolist()


def test_weights_are_read_without_instantiating(wine_model_dir: Path, elastic_net: Any) -> None:
    coef, intercept, names = read_linear_weights(wine_model_dir / "model.skops")
    assert np.array_equal(coef, elastic_net.coef_)
    assert np.array_equal(intercept, np.asarray(elastic_net.intercept_, dtype=np.float64))
    assert names == tuple(elastic_net.feature_names_in_)


def test_early_predictions_equal_the_full_models_bit_for_bit(
    wine_model_dir: Path, wine: Any, elastic_net: Any
) -> None:
    manager = ModelManager(ServeConfig(models=(ModelSpec(str(wine_model_dir)),), port=0))
    assert manager.serve_early(manager.config.models)
    early = manager.registry.get("wine")
    assert "early" in early.extra and early.predict_matrix is not None
    batch = _batch(_rows(wine, 200) + [SEED_ROW])
    early_out = np.asarray(predict(early, batch))
    manager.load_all(manager.config.models)
    full = manager.registry.get("wine")
    assert "early" not in full.extra
    assert np.array_equal(early_out, np.asarray(predict(full, batch)))
    # sklearn on a DataFrame may sum in another order (memory layout): the full model's fast
    # path is accepted at the same tolerance (`sklearn_flavor.matrix_predictor`).
    frame = wine[list(elastic_net.feature_names_in_)].head(200)
    assert np.allclose(early_out[:200], elastic_net.predict(frame), rtol=1e-12, atol=0)
    assert (early.name, early.version, early.run_id, early.inputs, early.outputs) == (
        full.name,
        full.version,
        full.run_id,
        full.inputs,
        full.outputs,
    )


def test_non_finite_input_waits_for_the_full_model(wine_model_dir: Path) -> None:
    full = PendingFullModel()
    early = numpy_stand_in(wine_model_dir, full)
    assert early is not None and early.predict_matrix is not None
    matrix = np.ones((1, len(early.matrix_columns)))
    matrix[0, 3] = np.nan
    outcome: list[Any] = []
    waiter = threading.Thread(target=lambda: outcome.append(_call(early.predict_matrix, matrix)))
    waiter.start()
    time.sleep(0.1)
    assert waiter.is_alive()  # the early predictor cannot judge NaN: it waits
    manager = ModelManager(ServeConfig(models=(ModelSpec(str(wine_model_dir)),), port=0))
    full.resolve(manager.load(str(wine_model_dir)))
    waiter.join(timeout=30)
    assert isinstance(outcome[0], ValueError) and "NaN" in str(outcome[0])  # sklearn's own error


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_non_finite_request_is_refused_at_once_as_the_full_model_refuses_it(
    wine_model_dir: Path, value: float
) -> None:
    full = PendingFullModel()
    full.fail(RuntimeError("not loaded"))  # the stand-in must answer without the full model
    early = numpy_stand_in(wine_model_dir, full)
    assert early is not None
    loaded = ModelManager(ServeConfig(models=(), port=0)).load(str(wine_model_dir))
    row = list(SEED_ROW)
    row[3] = value
    answers = []
    for model in (early, loaded):
        with pytest.raises(InvalidArgument) as caught:
            predict(model, _batch([SEED_ROW, row]))
        answers.append((caught.value.message, caught.value.field))
    assert answers[0] == answers[1]
    assert answers[0][0].startswith(f"column {SEED_COLUMNS[3]!r} row 1 is ")


def _call(fn: Any, arg: Any) -> Any:
    try:
        return fn(arg)
    except Exception as exc:  # noqa: BLE001 - the test inspects it
        return exc


def test_failed_full_load_withdraws_the_early_model(wine_model_dir: Path, tmp_path: Path) -> None:
    model_dir = tmp_path / "wine"
    shutil.copytree(wine_model_dir, model_dir)
    manager = ModelManager(ServeConfig(models=(ModelSpec(str(model_dir)),), port=0))
    assert manager.serve_early(manager.config.models)
    manager.set_ready(True)
    early = manager.registry.get("wine")
    (model_dir / "model.skops").unlink()  # the full load cannot find the file any more
    with pytest.raises(Exception) as caught:
        manager.load_all(manager.config.models)
    manager.fail_early(caught.value)
    assert manager.registry.names() == [] and not manager.ready
    with pytest.raises(Unavailable):
        early.extra["early"].get(timeout=1)


def _rewrite_schema(src: Path, dst: Path, change: Any) -> None:
    shutil.copytree(src, dst)
    skops_file = dst / "model.skops"
    with zipfile.ZipFile(skops_file) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    schema = json.loads(members["schema.json"])
    change(schema)
    members["schema.json"] = json.dumps(schema).encode()
    with zipfile.ZipFile(skops_file, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def test_untrusted_nodes_mean_no_early_start(wine_model_dir: Path, tmp_path: Path) -> None:
    def add_object(schema: dict[str, Any]) -> None:
        schema["content"]["content"]["extra_"] = {
            "__class__": "Popen",
            "__module__": "subprocess",
            "__loader__": "ObjectNode",
            "content": {},
        }

    def reuse_an_id(schema: dict[str, Any]) -> None:
        attributes = schema["content"]["content"]
        attributes["intercept_"]["__id__"] = attributes["coef_"]["__id__"]

    def other_class(schema: dict[str, Any]) -> None:
        schema["__class__"] = "SGDRegressor"
        schema["__module__"] = "sklearn.linear_model._stochastic_gradient"

    def drop_a_key_type(schema: dict[str, Any]) -> None:  # skops would then drop an attribute
        schema["content"]["key_types"]["content"].pop()

    def numpy_matrix(schema: dict[str, Any]) -> None:  # not a type skops trusts by default
        schema["content"]["content"]["dual_gap_"]["__class__"] = "matrix"

    changes = (add_object, reuse_an_id, other_class, drop_a_key_type, numpy_matrix)
    for i, change in enumerate(changes):
        target = tmp_path / f"m{i}"
        _rewrite_schema(wine_model_dir, target, change)
        assert numpy_stand_in(target, PendingFullModel()) is None, change.__name__


def test_pickled_models_take_the_normal_load(pickled_model_dir: Path) -> None:
    assert numpy_stand_in(pickled_model_dir, PendingFullModel()) is None


@pytest.mark.parametrize("module,name", sorted(ALLOWED_CLASSES))
def test_every_allowed_class_is_a_plain_linear_kernel(
    module: str, name: str, wine: Any, tmp_path: Path
) -> None:
    """What the early start assumes of each class, checked against the installed sklearn."""
    import importlib

    from mlgrpc import sklearn as mlgrpc_sklearn

    cls = getattr(importlib.import_module(module), name)
    x = wine.drop(columns=["quality"]).head(300)
    estimator = cls().fit(x, wine["quality"].head(300))
    assert sklearn_flavor._linear_kernel(estimator) is not None
    mlgrpc_sklearn.save_model(estimator, tmp_path / "m", input_example=x.head(2))
    early = numpy_stand_in(tmp_path / "m", PendingFullModel())
    assert early is not None and early.predict_matrix is not None
    matrix = x[list(early.matrix_columns)].to_numpy(dtype=np.float64)
    kernel = sklearn_flavor._linear_kernel(sklearn_flavor._strip_feature_names(estimator))
    assert kernel is not None
    assert np.array_equal(early.predict_matrix(matrix), kernel(matrix))
    assert np.allclose(early.predict_matrix(matrix), estimator.predict(x), rtol=1e-12, atol=0)


def test_cli_serves_the_seed_prediction_early(
    wine_model_dir: Path, expected_seed_prediction: float
) -> None:
    """`python -m scoring_service` answers with the exact in-process prediction."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    command = [sys.executable, "-m", "scoring_service", "-m", str(wine_model_dir)]
    process = subprocess.Popen(
        [*command, "-p", str(port), "--log-level", "INFO"],
        cwd=ROOT,
        stderr=subprocess.PIPE,
        text=True,
    )
    request = pb.PredictRequest()
    request.dataframe_split.columns.extend(SEED_COLUMNS)
    request.dataframe_split.data.add().extend(SEED_ROW)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
                    reply = pb.PredictResponse.FromString(
                        channel.unary_unary("/mlgrpc.scoring.v1.ScoringService/Predict")(
                            request.SerializeToString(), timeout=5
                        )
                    )
                break
            except grpc.RpcError as exc:
                if exc.code() != grpc.StatusCode.UNAVAILABLE or time.monotonic() > deadline:
                    raise
                time.sleep(0.02)
        assert reply.predictions.values[0].number_value == expected_seed_prediction
    finally:
        process.terminate()
        _, log = process.communicate(timeout=30)
    assert "(numpy only) while it loads" in log


def test_server_reports_serving_early_then_swaps_in_the_full_model(wine_model_dir: Path) -> None:
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    from scoring_service.server import create_server

    config = ServeConfig(models=(ModelSpec(str(wine_model_dir)),), port=0)
    server = create_server(config, early_start=True)
    try:
        with grpc.insecure_channel(server.address) as channel:
            status = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(), timeout=5
            )
        assert status.status == health_pb2.HealthCheckResponse.SERVING
        assert server.fully_loaded.wait(60)
        served = server.manager.registry.get("wine")
        assert "early" not in served.extra and "pyfunc" in served.extra
    finally:
        server.stop(grace=0)
