"""Before a tracking service with `--auth`, the HTTP caller's bearer token (MLflow's client
sends MLFLOW_TRACKING_TOKEN so) is what the service checks: the gateway lends no rights."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from gateway_helpers import Answer, Gateway, serve_gateway

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "security"))
from auth_helpers import auth_tracking_server, issue_token  # noqa: E402


@pytest.fixture(scope="module")
def address(db_uri: str, artifact_root: Path) -> Iterator[str]:
    with auth_tracking_server(db_uri, artifact_root) as address:
        yield address


@pytest.fixture(scope="module")
def gateway(address: str) -> Iterator[Gateway]:
    with serve_gateway(address) as url:
        yield Gateway(url)


def _get_default(gateway: Gateway, **headers: str) -> Answer:
    path = "/api/2.0/mlflow/experiments/get"
    return gateway.call("GET", path, query={"experiment_id": "0"}, headers=headers)


def test_without_a_token_the_caller_is_unauthenticated_401(gateway: Gateway) -> None:
    answer = _get_default(gateway)
    assert (answer.status, answer.body["error_code"]) == (401, "UNAUTHENTICATED")


def test_the_callers_token_is_forwarded(gateway: Gateway, db_uri: str, address: str) -> None:
    token = issue_token(db_uri, "read")
    answer = _get_default(gateway, Authorization=f"Bearer {token}")
    assert answer.status == 200
    assert answer.body["experiment"]["name"] == "Default"


def test_a_read_token_cannot_write_403(gateway: Gateway, db_uri: str, address: str) -> None:
    token = issue_token(db_uri, "read")
    answer = gateway.call(
        "POST",
        "/api/2.0/mlflow/experiments/create",
        {"name": "not-allowed"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert (answer.status, answer.body["error_code"]) == (403, "PERMISSION_DENIED")
