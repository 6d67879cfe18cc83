"""Values a model cannot take are the caller's mistake: INVALID_ARGUMENT naming the column (or
tensor) and the row, never INTERNAL; a model that takes missing values answers them.

The server serves the seed's ElasticNet as `wine` (refuses NaN and ±inf: the server knows it
and refuses them itself) and a RandomForest as `forest` (takes NaN, refuses ±inf with its own
ValueError).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import pytest
from google.protobuf import json_format

from mlgrpc.inference import grpc_predict_v2_pb2 as ipb
from mlgrpc.inference import grpc_predict_v2_pb2_grpc as ipb_grpc
from mlgrpc.scoring.v1 import scoring_service_pb2 as pb
from mlgrpc.scoring.v1 import scoring_service_pb2_grpc as pb_grpc
from mlgrpc_server.errors import Internal, InvalidArgument
from scoring_service.models.enforce import ColumnBatch
from scoring_service.models.loaded import InputColumn, LoadedModel
from scoring_service.models.predict import predict

from .conftest import SEED_COLUMNS, SEED_ROW
from .helpers import error_field

SPLIT = {"columns": SEED_COLUMNS}


@pytest.fixture(scope="module")
def forest(wine: Any) -> Any:
    from sklearn.ensemble import RandomForestRegressor

    features = wine.drop(columns=["quality"])
    return RandomForestRegressor(n_estimators=5, max_depth=4, random_state=0).fit(
        features, wine["quality"]
    )


@pytest.fixture(scope="module")
def forest_model_dir(tmp_path_factory: pytest.TempPathFactory, forest: Any, wine: Any) -> Path:
    from mlgrpc import sklearn as mlgrpc_sklearn

    path = tmp_path_factory.mktemp("models") / "forest"
    example = wine.drop(columns=["quality"]).head(3)
    # skops does not trust sklearn's Tree by default: pickle, served with allow_pickle.
    mlgrpc_sklearn.save_model(
        forest, path, serialization_format="cloudpickle", input_example=example
    )
    return path


@pytest.fixture(scope="module")
def server(wine_model_dir: Path, forest_model_dir: Path) -> Iterator[Any]:
    from scoring_service.config import ModelSpec, ServeConfig
    from scoring_service.server import create_server

    config = ServeConfig(
        models=(ModelSpec(str(wine_model_dir), "wine"), ModelSpec(str(forest_model_dir), "forest")),
        port=0,
        allow_pickle=True,
    )
    running = create_server(config)
    yield running
    running.stop(grace=0)


@pytest.fixture(scope="module")
def channel(server: Any) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(server.address) as ch:
        yield ch


@pytest.fixture(scope="module")
def stub(channel: grpc.Channel) -> pb_grpc.ScoringServiceStub:
    return pb_grpc.ScoringServiceStub(channel)


@pytest.fixture(scope="module")
def infer_stub(channel: grpc.Channel) -> ipb_grpc.GRPCInferenceServiceStub:
    return ipb_grpc.GRPCInferenceServiceStub(channel)


def _predict_error(
    stub: pb_grpc.ScoringServiceStub, payload: dict[str, Any], model: str = "wine"
) -> grpc.RpcError:
    request = json_format.ParseDict({"model_name": model, **payload}, pb.PredictRequest())
    with pytest.raises(grpc.RpcError) as caught:
        stub.Predict(request, timeout=10)
    return caught.value


def _with(column: str, value: Any) -> list[Any]:
    row: list[Any] = list(SEED_ROW)
    row[SEED_COLUMNS.index(column)] = value
    return row


def _records(rows: list[list[Any]]) -> list[dict[str, Any]]:
    return [dict(zip(SEED_COLUMNS, row, strict=True)) for row in rows]


def _columns(rows: list[list[Any]]) -> dict[str, list[Any]]:
    return {name: [row[j] for row in rows] for j, name in enumerate(SEED_COLUMNS)}


def _infer_request(model: str, rows: list[list[float]], *, raw: bool) -> ipb.ModelInferRequest:
    request = ipb.ModelInferRequest(model_name=model)
    for j, name in enumerate(SEED_COLUMNS):
        values = [row[j] for row in rows]
        tensor = request.inputs.add(name=name, datatype="FP64", shape=[len(rows)])
        if raw:
            request.raw_input_contents.append(np.asarray(values, dtype="<f8").tobytes())
        else:
            tensor.contents.fp64_contents.extend(values)
    return request


@pytest.mark.parametrize(
    "payload",
    [
        {"dataframe_split": {**SPLIT, "data": [SEED_ROW, _with("density", None)]}},
        {"dataframe_records": _records([SEED_ROW, _with("density", None)])},
        {"instances": _records([SEED_ROW, _with("density", None)])},
        {"inputs": _columns([SEED_ROW, _with("density", None)])},
    ],
    ids=["dataframe_split", "dataframe_records", "instances", "inputs"],
)
def test_null_is_invalid_argument_naming_column_and_row(
    stub: pb_grpc.ScoringServiceStub, payload: dict[str, Any]
) -> None:
    error = _predict_error(stub, payload)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, error.details()
    assert error.details() == "column 'density' row 1 is null; this model takes no missing values"
    assert error_field(error) == "density"


@pytest.mark.parametrize(
    ("cell", "shown"),
    [([1, 2], "a list ([1.0, 2.0])"), ([[0.5]], "a list ([[0.5]])"), ({"a": 1}, "an object")],
)
def test_nested_value_in_a_cell_is_invalid_argument_without_a_traceback(
    stub: pb_grpc.ScoringServiceStub, caplog: pytest.LogCaptureFixture, cell: Any, shown: str
) -> None:
    # Was INTERNAL "could not broadcast" (or "inhomogeneous shape"), a traceback in the log.
    rows = [SEED_ROW, SEED_ROW, _with("pH", cell)]
    with caplog.at_level(logging.WARNING):
        error = _predict_error(stub, {"dataframe_split": {**SPLIT, "data": rows}})
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, error.details()
    assert error.details().startswith(f"column 'pH' row 2 holds {shown}")
    assert error_field(error) == "pH"
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"


@pytest.mark.parametrize(
    ("value", "shown", "remedy"),
    [
        (float("nan"), "NaN", "this model takes no missing values"),
        (float("inf"), "inf", "this model takes finite numbers only"),
        (float("-inf"), "-inf", "this model takes finite numbers only"),
    ],
)
@pytest.mark.parametrize("raw", [False, True], ids=["contents", "raw"])
def test_model_infer_non_finite_is_invalid_argument_naming_input_and_row(
    infer_stub: ipb_grpc.GRPCInferenceServiceStub, value: float, shown: str, remedy: str, raw: bool
) -> None:
    request = _infer_request("wine", [SEED_ROW, SEED_ROW, _with("sulphates", value)], raw=raw)
    with pytest.raises(grpc.RpcError) as caught:
        infer_stub.ModelInfer(request, timeout=10)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT, caught.value.details()
    assert caught.value.details() == f"input 'sulphates' row 2 is {shown}; {remedy}"
    assert error_field(caught.value) == "sulphates"


def test_model_infer_matrix_names_the_tensor_and_the_column(
    server: Any, infer_stub: ipb_grpc.GRPCInferenceServiceStub
) -> None:
    names = [str(c.name) for c in server.manager.registry.get("wine").inputs]
    matrix = np.ones((2, len(names)))
    matrix[1, names.index("pH")] = np.nan
    request = ipb.ModelInferRequest(model_name="wine")
    request.inputs.add(name="input-0", datatype="FP64", shape=list(matrix.shape))
    request.raw_input_contents.append(matrix.astype("<f8").tobytes())
    with pytest.raises(grpc.RpcError) as caught:
        infer_stub.ModelInfer(request, timeout=10)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT, caught.value.details()
    assert caught.value.details().startswith(
        f"input 'input-0' column {names.index('pH')} ('pH') row 1 is NaN"
    )
    assert error_field(caught.value) == "input-0"


def test_a_model_that_takes_missing_values_answers_null_and_nan(
    stub: pb_grpc.ScoringServiceStub,
    infer_stub: ipb_grpc.GRPCInferenceServiceStub,
    forest: Any,
) -> None:
    import pandas as pd

    rows = [SEED_ROW, _with("density", None)]
    frame = pd.DataFrame(rows, columns=SEED_COLUMNS, dtype=float)
    expected = forest.predict(frame[list(forest.feature_names_in_)])
    request = json_format.ParseDict(
        {"model_name": "forest", "dataframe_split": {**SPLIT, "data": rows}}, pb.PredictRequest()
    )
    assert list(stub.Predict(request, timeout=10).predictions) == pytest.approx(expected)
    nan_rows = [SEED_ROW, _with("density", float("nan"))]
    response = infer_stub.ModelInfer(_infer_request("forest", nan_rows, raw=False), timeout=10)
    assert list(response.outputs[0].contents.fp64_contents) == pytest.approx(expected)


def test_a_value_the_model_itself_refuses_is_invalid_argument_naming_column_and_row(
    stub: pb_grpc.ScoringServiceStub,
) -> None:
    rows = [SEED_ROW, _with("chlorides", float("inf"))]
    request = pb.PredictRequest(model_name="forest")
    for j, name in enumerate(SEED_COLUMNS):
        request.columnar.columns.add(
            name=name, doubles=pb.DoubleColumn(values=[r[j] for r in rows])
        )
    with pytest.raises(grpc.RpcError) as caught:
        stub.Predict(request, timeout=10)
    error = caught.value
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, error.details()
    assert error.details().startswith(
        "column 'chlorides' row 1 is inf; model 'forest' version 1 cannot take the input: "
        "ValueError: Input X contains infinity"
    )
    assert error_field(error) == "chlorides"


def test_duplicate_tensor_names_are_invalid_argument(
    infer_stub: ipb_grpc.GRPCInferenceServiceStub,
) -> None:
    # Was answered with the second tensor's values in place of the first's.
    request = _infer_request("wine", [SEED_ROW], raw=False)
    request.inputs.add(name="pH", datatype="FP64", shape=[1]).contents.fp64_contents.append(7.0)
    with pytest.raises(grpc.RpcError) as caught:
        infer_stub.ModelInfer(request, timeout=10)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT, caught.value.details()
    assert "'pH' is given twice" in caught.value.details()
    assert error_field(caught.value) == "pH"


def test_duplicate_column_names_are_invalid_argument(stub: pb_grpc.ScoringServiceStub) -> None:
    payload = {"dataframe_split": {"columns": [*SEED_COLUMNS, "pH"], "data": [[*SEED_ROW, 7.0]]}}
    error = _predict_error(stub, payload)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, error.details()
    assert "'pH' twice" in error.details()


def _model(predict_frame: Any) -> LoadedModel:
    return LoadedModel(
        name="m",
        version="1",
        source_uri="",
        resolved_uri="",
        flavor="python_function",
        run_id="",
        inputs=(InputColumn("x", "double"),),
        outputs=(),
        predict_frame=predict_frame,
    )


def _raise(exc: Exception) -> Any:
    def predict_frame(frame: Any) -> Any:
        raise exc

    return predict_frame


def test_a_value_error_of_the_model_is_invalid_argument_and_names_the_missing_cell() -> None:
    batch = ColumnBatch({"x": [1.0, None]}, 2)
    with pytest.raises(InvalidArgument) as caught:
        predict(_model(_raise(ValueError("Input X contains NaN."))), batch)
    assert caught.value.message.startswith("column 'x' row 1 is null; model 'm' version 1")
    assert caught.value.field == "x"


def test_any_other_exception_of_the_model_stays_internal() -> None:
    batch = ColumnBatch({"x": [1.0]}, 1)
    with pytest.raises(Internal, match="RuntimeError: broken"):
        predict(_model(_raise(RuntimeError("broken"))), batch)


def test_a_refusal_names_the_kind_of_value_the_model_says_it_refused() -> None:
    model = _model(_raise(ValueError("Input X contains infinity or a value too large.")))
    model = replace(model, inputs=(InputColumn("x", "double"), InputColumn("y", "double")))
    batch = ColumnBatch({"x": [None, 1.0], "y": [1.0, float("inf")]}, 2)
    with pytest.raises(InvalidArgument) as caught:
        predict(model, batch)
    assert caught.value.message.startswith("column 'y' row 1 is inf; model 'm' version 1")


def test_a_refusal_about_something_else_names_no_missing_value() -> None:
    model = _model(_raise(ValueError("Found unknown categories ['blue'] in column 0")))
    with pytest.raises(InvalidArgument) as caught:
        predict(model, ColumnBatch({"x": [None]}, 1))
    assert caught.value.message == (
        "model 'm' version 1 cannot take the input: ValueError: Found unknown categories "
        "['blue'] in column 0"
    )
