"""Failed calls become typed exceptions with code, reason and field; channels are shared."""

from __future__ import annotations

import socket

import grpc
import pytest

import mlgrpc
from mlgrpc import MlgrpcClient
from mlgrpc._channel import get_channel
from mlgrpc.exceptions import (
    InvalidArgumentError,
    MlgrpcException,
    NotFoundError,
    UnavailableError,
    exception_for_code,
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_service_is_unavailable_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLGRPC_CLIENT_TIMEOUT", "3")
    client = MlgrpcClient(f"grpc://127.0.0.1:{free_port()}")
    with pytest.raises(UnavailableError) as caught:
        client.get_experiment("0")
    assert not isinstance(caught.value, grpc.RpcError)
    assert caught.value.code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)


def test_not_found_carries_code_reason_and_field(client: MlgrpcClient) -> None:
    with pytest.raises(NotFoundError) as caught:
        client.get_run("f" * 32)
    error = caught.value
    assert error.code == grpc.StatusCode.NOT_FOUND
    assert error.reason == "RESOURCE_DOES_NOT_EXIST"
    assert error.field == "run_id"
    assert "f" * 32 in error.message


def test_invalid_argument_carries_field(client: MlgrpcClient) -> None:
    experiment_id = client.create_experiment("errors-field")
    run_id = client.create_run(experiment_id).info.run_id
    with pytest.raises(InvalidArgumentError) as caught:
        client.log_param(run_id, "x" * 1000, "v")
    assert caught.value.field is not None and caught.value.field.endswith("key")
    assert caught.value.code == grpc.StatusCode.INVALID_ARGUMENT


def test_clients_of_one_target_share_one_channel(tracking_server: str) -> None:
    assert get_channel(f"grpc://{tracking_server}") is get_channel(tracking_server)


def test_exception_classes_follow_status_codes() -> None:
    error = exception_for_code(
        grpc.StatusCode.NOT_FOUND, "gone", reason="X", metadata={"field": "f"}
    )
    assert isinstance(error, NotFoundError) and isinstance(error, MlgrpcException)
    assert (error.reason, error.field, str(error)) == ("X", "f", "gone")
    assert mlgrpc.MlflowException is MlgrpcException


def test_retry_policy_covers_only_calls_safe_to_repeat() -> None:
    import json

    from mlgrpc._channel import IDEMPOTENT_TRACKING_METHODS, TRACKING_SERVICE, service_config

    config = json.loads(service_config(TRACKING_SERVICE, IDEMPOTENT_TRACKING_METHODS))
    (method_config,) = config["methodConfig"]
    methods = {name["method"] for name in method_config["name"]}
    assert {"GetRun", "SearchRuns", "SetTag", "LogParam"} <= methods
    assert methods.isdisjoint({"CreateRun", "CreateExperiment", "LogMetric", "LogBatch"})
    assert method_config["retryPolicy"]["retryableStatusCodes"] == ["UNAVAILABLE", "ABORTED"]
