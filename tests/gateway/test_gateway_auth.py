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


def _runs_page(gateway: Gateway, **headers: str) -> Answer:
    """The UI's runs page: the one call the gateway awaits on its event loop (its aio channel)."""
    body = {"experiment_ids": ["0"], "max_results": 5}
    return gateway.call("POST", "/ui/api/runs/search", body, headers=headers)


def test_the_ui_runs_page_needs_the_callers_token(gateway: Gateway, db_uri: str) -> None:
    answer = _runs_page(gateway)
    assert (answer.status, answer.body["error_code"]) == (401, "UNAUTHENTICATED")
    token = issue_token(db_uri, "read")
    answer = _runs_page(gateway, Authorization=f"Bearer {token}")
    assert answer.status == 200 and "runs" in answer.body


def test_the_ui_runs_page_without_a_caller_token_sends_the_gateways_own(
    gateway: Gateway, db_uri: str
) -> None:
    import mlgrpc

    mlgrpc.set_token(issue_token(db_uri, "read"))  # the gateway runs in this process
    try:
        assert _runs_page(gateway).status == 200
    finally:
        mlgrpc.set_token(None)
