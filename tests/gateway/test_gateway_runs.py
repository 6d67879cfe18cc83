"""MLflow's run and metric endpoints through the gateway: JSON shapes, defaults and errors."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from gateway_helpers import Gateway

RUN_INFO_KEYS = {
    "run_uuid",
    "experiment_id",
    "run_name",
    "user_id",
    "status",
    "start_time",
    "artifact_uri",
    "lifecycle_stage",
    "run_id",
}


@pytest.fixture(scope="module")
def experiment_id(gateway: Gateway) -> str:
    name = f"runs-{uuid.uuid4().hex[:8]}"
    return str(gateway.post("experiments/create", {"name": name}).body["experiment_id"])


def _create_run(gateway: Gateway, experiment_id: str, **fields: Any) -> dict[str, Any]:
    answer = gateway.post(
        "runs/create", {"experiment_id": experiment_id, "start_time": 1_700_000_000_000, **fields}
    )
    assert answer.status == 200, answer.body
    return dict(answer.body["run"])


def _get_run(gateway: Gateway, run_id: str) -> dict[str, Any]:
    answer = gateway.get("runs/get", run_id=run_id, run_uuid=run_id)
    assert answer.status == 200, answer.body
    return dict(answer.body["run"])


def test_create_run_returns_mlflows_run_shape(gateway: Gateway, experiment_id: str) -> None:
    run = _create_run(
        gateway, experiment_id, run_name="first", user_id="ann", tags=[{"key": "k", "value": "v"}]
    )
    info = run["info"]
    assert set(info) == RUN_INFO_KEYS  # no end_time while running
    assert info["run_uuid"] == info["run_id"] and len(info["run_id"]) == 32
    assert (info["status"], info["lifecycle_stage"]) == ("RUNNING", "active")
    assert (info["run_name"], info["user_id"]) == ("first", "ann")
    assert info["start_time"] == 1_700_000_000_000
    assert info["experiment_id"] == experiment_id
    assert {"key": "k", "value": "v"} in run["data"]["tags"]
    assert (run["inputs"], run["outputs"]) == ({}, {})


def test_update_run_ends_it_with_status_and_end_time(gateway: Gateway, experiment_id: str) -> None:
    run_id = _create_run(gateway, experiment_id)["info"]["run_id"]
    answer = gateway.post(
        "runs/update",
        {"run_id": run_id, "run_uuid": run_id, "status": "FINISHED", "end_time": 1_700_000_009_000},
    )
    assert answer.status == 200
    info = answer.body["run_info"]
    assert (info["status"], info["end_time"]) == ("FINISHED", 1_700_000_009_000)
    assert _get_run(gateway, run_id)["info"]["status"] == "FINISHED"


def test_update_run_with_unknown_status_is_invalid_parameter_value(
    gateway: Gateway, experiment_id: str
) -> None:
    run_id = _create_run(gateway, experiment_id)["info"]["run_id"]
    answer = gateway.post("runs/update", {"run_id": run_id, "status": "DONE"})
    assert (answer.status, answer.body["error_code"]) == (400, "INVALID_PARAMETER_VALUE")


def test_delete_and_restore_run(gateway: Gateway, experiment_id: str) -> None:
    run_id = _create_run(gateway, experiment_id)["info"]["run_id"]
    assert gateway.post("runs/delete", {"run_id": run_id}).body == {}
    assert _get_run(gateway, run_id)["info"]["lifecycle_stage"] == "deleted"
    assert gateway.post("runs/restore", {"run_id": run_id}).body == {}
    assert _get_run(gateway, run_id)["info"]["lifecycle_stage"] == "active"


def test_get_unknown_run_is_resource_does_not_exist_404(gateway: Gateway) -> None:
    answer = gateway.get("runs/get", run_id=uuid.uuid4().hex)
    assert (answer.status, answer.body["error_code"]) == (404, "RESOURCE_DOES_NOT_EXIST")


def test_log_metric_param_and_tags_show_in_the_run(gateway: Gateway, experiment_id: str) -> None:
    run_id = _create_run(gateway, experiment_id)["info"]["run_id"]
    for step, value in enumerate([0.5, 0.25]):
        answer = gateway.post(
            "runs/log-metric",
            {
                "run_id": run_id,
                "key": "loss",
                "value": value,
                "timestamp": 1000 + step,
                "step": step,
            },
        )
        assert (answer.status, answer.body) == (200, {})
    assert (
        gateway.post("runs/log-parameter", {"run_id": run_id, "key": "alpha", "value": "0.5"}).body
        == {}
    )
    assert gateway.post("runs/set-tag", {"run_id": run_id, "key": "a", "value": "1"}).body == {}
    assert gateway.post("runs/set-tag", {"run_id": run_id, "key": "b", "value": "2"}).body == {}
    assert gateway.post("runs/delete-tag", {"run_id": run_id, "key": "b"}).body == {}

    data = _get_run(gateway, run_id)["data"]
    assert data["metrics"] == [{"key": "loss", "value": 0.25, "timestamp": 1001, "step": 1}]
    assert data["params"] == [{"key": "alpha", "value": "0.5"}]
    tags = {tag["key"]: tag["value"] for tag in data["tags"]}
    assert tags.get("a") == "1" and "b" not in tags


def test_log_metric_without_timestamp_is_invalid_parameter_value(
    gateway: Gateway, experiment_id: str
) -> None:
    run_id = _create_run(gateway, experiment_id)["info"]["run_id"]
    answer = gateway.post("runs/log-metric", {"run_id": run_id, "key": "loss", "value": 1.0})
    assert (answer.status, answer.body["error_code"]) == (400, "INVALID_PARAMETER_VALUE")
    assert "'timestamp'" in answer.body["message"]


def test_changing_a_param_is_invalid_parameter_value(gateway: Gateway, experiment_id: str) -> None:
    run_id = _create_run(gateway, experiment_id)["info"]["run_id"]
    gateway.post("runs/log-parameter", {"run_id": run_id, "key": "alpha", "value": "1"})
    answer = gateway.post("runs/log-parameter", {"run_id": run_id, "key": "alpha", "value": "2"})
    assert (answer.status, answer.body["error_code"]) == (400, "INVALID_PARAMETER_VALUE")


def test_logging_to_a_deleted_run_is_invalid_parameter_value_400(
    gateway: Gateway, experiment_id: str
) -> None:
    run_id = _create_run(gateway, experiment_id)["info"]["run_id"]
    gateway.post("runs/delete", {"run_id": run_id})
    answer = gateway.post("runs/set-tag", {"run_id": run_id, "key": "a", "value": "1"})
    assert (answer.status, answer.body["error_code"]) == (400, "INVALID_PARAMETER_VALUE")


def test_log_batch_and_metric_history_with_nan_and_inf(
    gateway: Gateway, experiment_id: str
) -> None:
    run_id = _create_run(gateway, experiment_id)["info"]["run_id"]
    metrics = [
        {"key": "m", "value": 1.5, "timestamp": 10, "step": 0},
        {"key": "m", "value": "NaN", "timestamp": 11, "step": 1},
        {"key": "m", "value": "Infinity", "timestamp": 12, "step": 2},
        {"key": "m", "value": "-Infinity", "timestamp": 13, "step": 3},
    ]
    answer = gateway.post(
        "runs/log-batch",
        {
            "run_id": run_id,
            "metrics": metrics,
            "params": [{"key": "p", "value": "x"}],
            "tags": [{"key": "t", "value": "y"}],
        },
    )
    assert (answer.status, answer.body) == (200, {})
    history = gateway.get("metrics/get-history", run_id=run_id, metric_key="m")
    assert history.status == 200
    assert history.body == {"metrics": metrics}
    data = _get_run(gateway, run_id)["data"]
    assert data["params"] == [{"key": "p", "value": "x"}]
    assert {"key": "t", "value": "y"} in data["tags"]


def test_metric_history_pages(gateway: Gateway, experiment_id: str) -> None:
    run_id = _create_run(gateway, experiment_id)["info"]["run_id"]
    metrics = [{"key": "m", "value": float(i), "timestamp": i, "step": i} for i in range(5)]
    gateway.post("runs/log-batch", {"run_id": run_id, "metrics": metrics})
    first = gateway.get("metrics/get-history", run_id=run_id, metric_key="m", max_results=3)
    assert [m["step"] for m in first.body["metrics"]] == [0, 1, 2]
    rest = gateway.get(
        "metrics/get-history",
        run_id=run_id,
        metric_key="m",
        max_results=3,
        page_token=first.body["next_page_token"],
    )
    assert [m["step"] for m in rest.body["metrics"]] == [3, 4]
    assert "next_page_token" not in rest.body


def test_metric_history_of_unlogged_key_is_empty(gateway: Gateway, experiment_id: str) -> None:
    run_id = _create_run(gateway, experiment_id)["info"]["run_id"]
    answer = gateway.get("metrics/get-history", run_id=run_id, metric_key="none")
    assert (answer.status, answer.body) == (200, {})


def test_log_batch_with_bad_metric_value_is_invalid_parameter_value(
    gateway: Gateway, experiment_id: str
) -> None:
    run_id = _create_run(gateway, experiment_id)["info"]["run_id"]
    bad = {"key": "m", "value": "high", "timestamp": 1, "step": 0}
    answer = gateway.post("runs/log-batch", {"run_id": run_id, "metrics": [bad]})
    assert (answer.status, answer.body["error_code"]) == (400, "INVALID_PARAMETER_VALUE")


def test_search_runs_filters_orders_and_pages(gateway: Gateway) -> None:
    name = f"search-{uuid.uuid4().hex[:8]}"
    experiment_id = gateway.post("experiments/create", {"name": name}).body["experiment_id"]
    run_ids = {}
    for index, loss in enumerate([0.3, 0.1, 0.2, 0.9]):
        run_id = _create_run(gateway, experiment_id, run_name=f"r{index}")["info"]["run_id"]
        gateway.post(
            "runs/log-metric", {"run_id": run_id, "key": "loss", "value": loss, "timestamp": 1}
        )
        run_ids[run_id] = loss
    query = {
        "experiment_ids": [experiment_id],
        "filter": "metrics.loss < 0.5",
        "order_by": ["metrics.loss ASC"],
        "max_results": 2,
    }
    first = gateway.post("runs/search", query)
    assert first.status == 200
    assert [r["info"]["run_name"] for r in first.body["runs"]] == ["r1", "r2"]
    second = gateway.post("runs/search", {**query, "page_token": first.body["next_page_token"]})
    assert [r["info"]["run_name"] for r in second.body["runs"]] == ["r0"]
    assert "next_page_token" not in second.body


def test_search_runs_with_bad_filter_is_invalid_parameter_value(
    gateway: Gateway, experiment_id: str
) -> None:
    answer = gateway.post(
        "runs/search", {"experiment_ids": [experiment_id], "filter": "metrics.loss << 1"}
    )
    assert (answer.status, answer.body["error_code"]) == (400, "INVALID_PARAMETER_VALUE")
