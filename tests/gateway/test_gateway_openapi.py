"""`/openapi.json`: a valid OpenAPI 3.1 document (openapi-spec-validator) listing every route the
gateway's tables serve, and nothing it does not."""

from __future__ import annotations

import pytest
from gateway_helpers import Gateway
from openapi_spec_validator import validate

from gateway import logged_model_routes, metric_history_routes, registry_routes, tracking_routes


@pytest.fixture(scope="module")
def document(registry_gateway: Gateway) -> dict:
    answer = registry_gateway.call("GET", "/openapi.json")
    assert answer.status == 200
    return answer.body


def test_the_document_is_valid_openapi(document: dict) -> None:
    validate(document)
    assert document["openapi"].startswith("3.1")


def test_every_routed_endpoint_is_described(document: dict) -> None:
    described = {
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in item
        if method != "parameters"
    }
    tables = (
        tracking_routes.ROUTES,
        metric_history_routes.ROUTES,
        registry_routes.ROUTES,
        logged_model_routes.ROUTES,
    )
    routed = {(m, "/api/2.0/mlflow/" + p) for table in tables for m, p in table} | {
        (m, "/api/2.0/mlflow/" + p) for m, p, _ in logged_model_routes.TEMPLATED
    }
    assert routed <= described
    assert {("GET", "/health"), ("PUT", "/api/2.0/mlflow-artifacts/artifacts/{path}")} <= described
    assert described - routed == {
        ("GET", "/health"),
        ("GET", "/version"),
        ("GET", "/api/2.0/mlflow-artifacts/artifacts"),
        ("GET", "/api/2.0/mlflow-artifacts/artifacts/{path}"),
        ("PUT", "/api/2.0/mlflow-artifacts/artifacts/{path}"),
        ("DELETE", "/api/2.0/mlflow-artifacts/artifacts/{path}"),
        ("POST", "/api/2.0/mlflow-artifacts/mpu/create/{path}"),
        ("POST", "/api/2.0/mlflow-artifacts/mpu/complete/{path}"),
        ("POST", "/api/2.0/mlflow-artifacts/mpu/abort/{path}"),
    }


def test_operation_ids_are_unique(document: dict) -> None:
    ids = [
        operation["operationId"]
        for item in document["paths"].values()
        for method, operation in item.items()
        if method != "parameters"
    ]
    assert len(ids) == len(set(ids))


def test_without_a_registry_its_endpoints_are_not_described(gateway: Gateway) -> None:
    paths = gateway.call("GET", "/openapi.json").body["paths"]
    assert "/api/2.0/mlflow/runs/create" in paths
    assert not [path for path in paths if "registered-models" in path]
