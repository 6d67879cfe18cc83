"""ScoringService.Predict: MLflow's payload shapes, the typed columnar form, and errors."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from google.protobuf import json_format

from mlgrpc.scoring.v1 import scoring_service_pb2 as pb
from mlgrpc.scoring.v1 import scoring_service_pb2_grpc as pb_grpc

from .conftest import SEED_COLUMNS, SEED_ROW
from .helpers import grpcurl

PREDICT = "mlgrpc.scoring.v1.ScoringService/Predict"


@pytest.fixture(scope="module")
def stub(channel: grpc.Channel) -> pb_grpc.ScoringServiceStub:
    return pb_grpc.ScoringServiceStub(channel)


def _predict(stub: pb_grpc.ScoringServiceStub, payload: dict[str, Any]) -> pb.PredictResponse:
    return stub.Predict(json_format.ParseDict(payload, pb.PredictRequest()), timeout=10)


def _error(stub: pb_grpc.ScoringServiceStub, payload: dict[str, Any]) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as caught:
        _predict(stub, payload)
    return caught.value


def test_seed_request_through_grpcurl_equals_in_process_predict(
    scoring_server: Any, expected_seed_prediction: float
) -> None:
    code, reply, stderr = grpcurl(
        scoring_server.address,
        PREDICT,
        {"dataframe_split": {"columns": SEED_COLUMNS, "data": [SEED_ROW]}},
    )
    assert code == 0, stderr
    assert reply["predictions"][0] == pytest.approx(expected_seed_prediction, abs=1e-9)
    assert reply["model_name"] == "wine"
    assert reply["model_version"] == "1"


def test_columns_in_another_order_give_the_same_prediction(
    stub: pb_grpc.ScoringServiceStub, expected_seed_prediction: float
) -> None:
    order = list(reversed(range(len(SEED_COLUMNS))))
    payload = {
        "dataframe_split": {
            "columns": [SEED_COLUMNS[i] for i in order],
            "data": [[SEED_ROW[i] for i in order]],
        }
    }
    response = _predict(stub, payload)
    assert response.predictions[0] == pytest.approx(expected_seed_prediction, abs=1e-9)


def test_dataframe_records(
    stub: pb_grpc.ScoringServiceStub, expected_seed_prediction: float
) -> None:
    record = dict(zip(SEED_COLUMNS, SEED_ROW, strict=True))
    response = _predict(stub, {"dataframe_records": [record, record]})
    assert list(response.predictions) == pytest.approx([expected_seed_prediction] * 2, abs=1e-9)


def test_instances_as_objects(
    stub: pb_grpc.ScoringServiceStub, expected_seed_prediction: float
) -> None:
    record = dict(zip(SEED_COLUMNS, SEED_ROW, strict=True))
    response = _predict(stub, {"instances": [record]})
    assert response.predictions[0] == pytest.approx(expected_seed_prediction, abs=1e-9)


def test_inputs_as_object_of_columns(
    stub: pb_grpc.ScoringServiceStub, expected_seed_prediction: float
) -> None:
    columns = {name: [value] for name, value in zip(SEED_COLUMNS, SEED_ROW, strict=True)}
    response = _predict(stub, {"inputs": columns})
    assert response.predictions[0] == pytest.approx(expected_seed_prediction, abs=1e-9)


def test_instances_as_rows_follow_the_signature_order(
    stub: pb_grpc.ScoringServiceStub, scoring_server: Any, expected_seed_prediction: float
) -> None:
    model = scoring_server.manager.registry.get("wine")
    by_name = dict(zip(SEED_COLUMNS, SEED_ROW, strict=True))
    row = [by_name[str(c.name)] for c in model.inputs]
    response = _predict(stub, {"instances": [row]})
    assert response.predictions[0] == pytest.approx(expected_seed_prediction, abs=1e-9)


def test_typed_columnar_form_answers_typed_predictions(
    stub: pb_grpc.ScoringServiceStub, expected_seed_prediction: float
) -> None:
    request = pb.PredictRequest(model_name="wine")
    for name, value in zip(SEED_COLUMNS, SEED_ROW, strict=True):
        request.columnar.columns.add(name=name, doubles=pb.DoubleColumn(values=[value] * 3))
    response = stub.Predict(request, timeout=10)
    assert list(response.columnar_predictions.doubles.values) == pytest.approx(
        [expected_seed_prediction] * 3, abs=1e-9
    )
    assert len(response.predictions) == 0


def test_int64_column_is_accepted_for_a_double_signature(
    stub: pb_grpc.ScoringServiceStub, expected_seed_prediction: float
) -> None:
    request = pb.PredictRequest()
    for name, value in zip(SEED_COLUMNS, SEED_ROW, strict=True):
        if float(value).is_integer():
            request.columnar.columns.add(name=name, int64s=pb.Int64Column(values=[int(value)]))
        else:
            request.columnar.columns.add(name=name, doubles=pb.DoubleColumn(values=[value]))
    response = stub.Predict(request, timeout=10)
    assert response.columnar_predictions.doubles.values[0] == pytest.approx(
        expected_seed_prediction, abs=1e-9
    )


def test_missing_column_is_invalid_argument_naming_it(stub: pb_grpc.ScoringServiceStub) -> None:
    columns = [c for c in SEED_COLUMNS if c != "pH"]
    row = [v for c, v in zip(SEED_COLUMNS, SEED_ROW, strict=True) if c != "pH"]
    error = _error(stub, {"dataframe_split": {"columns": columns, "data": [row]}})
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "'pH'" in error.details()


def test_unconvertible_value_is_invalid_argument_naming_the_column(
    stub: pb_grpc.ScoringServiceStub,
) -> None:
    row = list(SEED_ROW)
    row[SEED_COLUMNS.index("alcohol")] = "strong"
    error = _error(stub, {"dataframe_split": {"columns": SEED_COLUMNS, "data": [row]}})
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "'alcohol'" in error.details()
    assert "strong" in error.details()


def test_row_of_the_wrong_width_is_invalid_argument(stub: pb_grpc.ScoringServiceStub) -> None:
    error = _error(stub, {"dataframe_split": {"columns": SEED_COLUMNS, "data": [SEED_ROW[:-1]]}})
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_empty_request_is_invalid_argument(stub: pb_grpc.ScoringServiceStub) -> None:
    error = _error(stub, {})
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "dataframe_split" in error.details()


def test_no_rows_is_invalid_argument(stub: pb_grpc.ScoringServiceStub) -> None:
    error = _error(stub, {"dataframe_split": {"columns": SEED_COLUMNS, "data": []}})
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_more_rows_than_the_limit_is_resource_exhausted_naming_it(
    stub: pb_grpc.ScoringServiceStub,
) -> None:
    request = pb.PredictRequest()
    for name, value in zip(SEED_COLUMNS, SEED_ROW, strict=True):
        request.columnar.columns.add(name=name, doubles=pb.DoubleColumn(values=[value] * 50_001))
    with pytest.raises(grpc.RpcError) as caught:
        stub.Predict(request, timeout=10)
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "50000" in caught.value.details()


def test_unknown_model_is_not_found(stub: pb_grpc.ScoringServiceStub) -> None:
    error = _error(
        stub,
        {"model_name": "nope", "dataframe_split": {"columns": SEED_COLUMNS, "data": [SEED_ROW]}},
    )
    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert "wine" in error.details()


def test_null_the_model_cannot_take_is_invalid_argument_then_next_request_works(
    stub: pb_grpc.ScoringServiceStub, expected_seed_prediction: float
) -> None:
    # Was INTERNAL "Input X contains NaN": the null passed as NaN and the estimator refused it.
    row: list[Any] = list(SEED_ROW)
    row[0] = None
    error = _error(stub, {"dataframe_split": {"columns": SEED_COLUMNS, "data": [SEED_ROW, row]}})
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, error.details()
    assert error.details() == ("column 'alcohol' row 1 is null; this model takes no missing values")
    response = _predict(stub, {"dataframe_split": {"columns": SEED_COLUMNS, "data": [SEED_ROW]}})
    assert response.predictions[0] == pytest.approx(expected_seed_prediction, abs=1e-9)


def test_list_models_and_metadata_describe_the_signature(
    stub: pb_grpc.ScoringServiceStub, wine_model_dir: Any
) -> None:
    listed = stub.ListModels(pb.ListModelsRequest(), timeout=10)
    assert [m.name for m in listed.models] == ["wine"]
    meta = stub.GetModelMetadata(pb.GetModelMetadataRequest(), timeout=10)
    assert meta.model.version == "1"
    assert meta.model.flavor == "sklearn"
    assert meta.model.source_uri == str(wine_model_dir)
    assert {c.name for c in meta.model.inputs} == set(SEED_COLUMNS)
    assert all(c.type == "double" for c in meta.model.inputs)
    assert meta.model.fast_path
    assert meta.server_pid > 0
