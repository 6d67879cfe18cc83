"""MlgrpcClient run, metric, param and tag methods against the real tracking service."""

from __future__ import annotations

import math
import uuid

import pytest

from mlgrpc import MlgrpcClient, ViewType
from mlgrpc.entities import Metric, Param, Run, RunInfo, RunTag
from mlgrpc.exceptions import InvalidArgumentError, NotFoundError


@pytest.fixture
def experiment_id(client: MlgrpcClient) -> str:
    return client.create_experiment(f"runs-{uuid.uuid4().hex[:10]}")


@pytest.fixture
def run_id(client: MlgrpcClient, experiment_id: str) -> str:
    return client.create_run(experiment_id).info.run_id


def test_create_run_returns_typed_running_run(client: MlgrpcClient, experiment_id: str) -> None:
    run = client.create_run(experiment_id, run_name="first", tags={"k": "v"}, start_time=1234)
    assert isinstance(run, Run) and isinstance(run.info, RunInfo)
    assert run.info.status == "RUNNING"
    assert run.info.run_name == "first"
    assert run.info.start_time == 1234
    assert run.info.end_time is None
    assert run.data.tags["k"] == "v"


def test_create_run_with_params_writes_them_in_the_same_call(
    client: MlgrpcClient, experiment_id: str
) -> None:
    run = client.create_run(experiment_id, params={"alpha": 0.5, "l1_ratio": "0.1"})
    assert run.data.params == {"alpha": "0.5", "l1_ratio": "0.1"}
    assert client.get_run(run.info.run_id).data.params == run.data.params
    with pytest.raises(InvalidArgumentError, match="alpha"):
        client.log_param(run.info.run_id, "alpha", 0.6)  # still immutable


def test_get_run_returns_params_latest_metrics_and_tags(client: MlgrpcClient, run_id: str) -> None:
    client.log_param(run_id, "alpha", 0.5)
    client.log_metric(run_id, "rmse", 0.9, step=0)
    client.log_metric(run_id, "rmse", 0.7, step=1)
    client.set_tag(run_id, "stage", "dev")
    run = client.get_run(run_id)
    assert run.data.params["alpha"] == "0.5"
    assert run.data.metrics["rmse"] == 0.7
    assert run.data.tags["stage"] == "dev"


def test_update_run_changes_status_and_name(client: MlgrpcClient, run_id: str) -> None:
    info = client.update_run(run_id, status="KILLED", name="renamed")
    assert (info.status, info.run_name) == ("KILLED", "renamed")


def test_set_terminated_sets_status_and_end_time(client: MlgrpcClient, run_id: str) -> None:
    client.set_terminated(run_id, status="FAILED")
    info = client.get_run(run_id).info
    assert info.status == "FAILED"
    assert info.end_time is not None


def test_delete_and_restore_run(client: MlgrpcClient, run_id: str) -> None:
    client.delete_run(run_id)
    assert client.get_run(run_id).info.lifecycle_stage == "deleted"
    client.restore_run(run_id)
    assert client.get_run(run_id).info.lifecycle_stage == "active"


def test_changing_a_param_value_is_invalid_argument(client: MlgrpcClient, run_id: str) -> None:
    client.log_param(run_id, "alpha", "1")
    client.log_param(run_id, "alpha", "1")
    with pytest.raises(InvalidArgumentError):
        client.log_param(run_id, "alpha", "2")


def test_delete_tag(client: MlgrpcClient, run_id: str) -> None:
    client.set_tag(run_id, "gone", "soon")
    client.delete_tag(run_id, "gone")
    assert "gone" not in client.get_run(run_id).data.tags


def test_nan_and_infinity_metrics_round_trip(client: MlgrpcClient, run_id: str) -> None:
    for step, value in enumerate([math.nan, math.inf, -math.inf]):
        client.log_metric(run_id, "odd", value, step=step)
    values = [m.value for m in client.get_metric_history(run_id, "odd")]
    assert math.isnan(values[0]) and values[1:] == [math.inf, -math.inf]


def test_log_batch_splits_inputs_larger_than_one_request(client: MlgrpcClient, run_id: str) -> None:
    metrics = [Metric("loss", float(i), 1000 + i, i) for i in range(2500)]
    params = [Param(f"p{i}", str(i)) for i in range(250)]
    tags = [RunTag(f"t{i}", str(i)) for i in range(150)]
    client.log_batch(run_id, metrics=metrics, params=params, tags=tags)
    run = client.get_run(run_id)
    assert len(run.data.params) == 250
    assert sum(1 for k in run.data.tags if k.startswith("t")) >= 150
    assert len(client.get_metric_history(run_id, "loss")) == 2500


def test_get_metric_history_follows_every_page(client: MlgrpcClient, run_id: str) -> None:
    metrics = [Metric("long", float(i), 1, i) for i in range(26_000)]
    client.log_batch(run_id, metrics=metrics)
    history = client.get_metric_history(run_id, "long")
    assert [m.step for m in history] == list(range(26_000))


def test_search_runs_filters_and_pages(client: MlgrpcClient, experiment_id: str) -> None:
    for i in range(5):
        run = client.create_run(experiment_id)
        client.log_metric(run.info.run_id, "score", float(i))
    first = client.search_runs(
        [experiment_id], "metrics.score >= 1", max_results=3, order_by=["metrics.score DESC"]
    )
    assert [r.data.metrics["score"] for r in first] == [4.0, 3.0, 2.0]
    assert first.token is not None
    second = client.search_runs(
        [experiment_id],
        "metrics.score >= 1",
        max_results=3,
        order_by=["metrics.score DESC"],
        page_token=first.token,
    )
    assert [r.data.metrics["score"] for r in second] == [1.0]
    assert second.token is None


def test_search_runs_sees_deleted_runs_only_when_asked(
    client: MlgrpcClient, experiment_id: str, run_id: str
) -> None:
    client.delete_run(run_id)
    assert client.search_runs(experiment_id) == []
    deleted = client.search_runs(experiment_id, run_view_type=ViewType.DELETED_ONLY)
    assert [r.info.run_id for r in deleted] == [run_id]


def test_logging_to_a_missing_run_is_not_found(client: MlgrpcClient) -> None:
    with pytest.raises(NotFoundError) as caught:
        client.log_metric("0" * 32, "m", 1.0)
    assert caught.value.reason == "RESOURCE_DOES_NOT_EXIST"
