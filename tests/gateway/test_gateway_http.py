"""The gateway's HTTP surface outside the endpoints: health, version, unknown paths, wrong
methods and malformed bodies answer MLflow's error shape, never a stack trace."""

from __future__ import annotations

import pytest
from gateway_helpers import Gateway

import mlgrpc


def test_health_is_200(gateway: Gateway) -> None:
    answer = gateway.call("GET", "/health")
    assert (answer.status, answer.body) == (200, "OK")


def test_version_answers(gateway: Gateway) -> None:
    answer = gateway.call("GET", "/version")
    assert (answer.status, str(answer.body)) == (200, mlgrpc.__version__)


@pytest.mark.parametrize(
    "path",
    [
        "/api/2.0/mlflow/traces",
        "/api/2.0/mlflow/registered-models/get",
        "/api/2.0/mlflow/scorers/list",
        "/api/3.0/mlflow/traces/search",
        "/nothing/here",
    ],
)
def test_unserved_path_is_endpoint_not_found_404(gateway: Gateway, path: str) -> None:
    answer = gateway.call("GET", path)
    assert answer.status == 404
    assert answer.body["error_code"] == "ENDPOINT_NOT_FOUND"
    assert answer.body["message"]


def test_wrong_method_is_405_in_mlflows_shape(gateway: Gateway) -> None:
    answer = gateway.call("GET", "/api/2.0/mlflow/runs/create")
    assert answer.status == 405
    assert answer.body["error_code"] == "BAD_REQUEST"


def test_malformed_json_is_invalid_parameter_value(gateway: Gateway) -> None:
    answer = gateway.call("POST", "/api/2.0/mlflow/experiments/create", b"{not json")
    assert (answer.status, answer.body["error_code"]) == (400, "INVALID_PARAMETER_VALUE")


def test_json_that_is_not_an_object_is_invalid_parameter_value(gateway: Gateway) -> None:
    answer = gateway.post("experiments/create", ["name"])
    assert (answer.status, answer.body["error_code"]) == (400, "INVALID_PARAMETER_VALUE")


def test_wrongly_typed_field_is_invalid_parameter_value(gateway: Gateway) -> None:
    answer = gateway.post("experiments/search", {"max_results": "many"})
    assert (answer.status, answer.body["error_code"]) == (400, "INVALID_PARAMETER_VALUE")
