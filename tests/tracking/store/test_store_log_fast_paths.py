"""The MySQL logging paths that write before checking the run (guarded upserts), the params
insert that falls back on a duplicate key, and metric history read as points; SQLite too."""

from __future__ import annotations

import math

import pytest

from mlgrpc_server.errors import FailedPrecondition, InvalidArgument, NotFound
from tracking_service.domain import Metric, Param, RunTag
from tracking_service.store.sql_store import SqlTrackingStore


def test_tags_only_batch_to_deleted_run_is_failed_precondition_and_writes_nothing(
    store: SqlTrackingStore, run_id: str
) -> None:
    store.delete_run(run_id)
    with pytest.raises(FailedPrecondition):
        store.log_batch(run_id, tags=[RunTag("team", "a")])
    assert "team" not in store.get_run(run_id).tags


def test_tags_only_batch_to_unknown_run_is_not_found(store: SqlTrackingStore) -> None:
    with pytest.raises(NotFound):
        store.log_batch("f" * 32, tags=[RunTag("team", "a")])


def test_batch_with_many_metric_keys_to_deleted_run_is_failed_precondition(
    store: SqlTrackingStore, run_id: str
) -> None:
    store.delete_run(run_id)
    metrics = [Metric(f"m{i}", 1.0, 1, 0) for i in range(150)]
    with pytest.raises(FailedPrecondition):
        store.log_batch(run_id, metrics=metrics)


def test_batch_with_many_metric_keys_writes_every_latest_value(
    store: SqlTrackingStore, run_id: str
) -> None:
    store.log_batch(run_id, metrics=[Metric(f"m{i}", float(i), 1, 0) for i in range(150)])
    latest = {m.key: m.value for m in store.get_run(run_id).metrics}
    assert latest == {f"m{i}": float(i) for i in range(150)}


def test_logging_the_same_latest_point_again_is_accepted(
    store: SqlTrackingStore, run_id: str
) -> None:
    store.log_batch(run_id, metrics=[Metric("loss", 0.5, 10, 1)])
    store.log_batch(run_id, metrics=[Metric("loss", 0.5, 10, 1)])
    assert store.get_run(run_id).metrics == [Metric("loss", 0.5, 10, 1)]


def test_params_batch_mixing_logged_and_new_params_writes_the_new_ones(
    store: SqlTrackingStore, run_id: str
) -> None:
    store.log_batch(run_id, params=[Param("alpha", "0.1")])
    store.log_batch(run_id, params=[Param("alpha", "0.1"), Param("beta", "2")])
    assert store.get_run(run_id).params == {"alpha": "0.1", "beta": "2"}


def test_params_batch_changing_a_logged_param_writes_none_of_it(
    store: SqlTrackingStore, run_id: str
) -> None:
    store.log_batch(run_id, params=[Param("alpha", "0.1")])
    with pytest.raises(InvalidArgument):
        store.log_batch(
            run_id, params=[Param("alpha", "0.2"), Param("beta", "2")], tags=[RunTag("t", "v")]
        )
    run = store.get_run(run_id)
    assert run.params == {"alpha": "0.1"}
    assert "t" not in run.tags


def test_history_points_are_value_timestamp_step_exactly(
    store: SqlTrackingStore, run_id: str
) -> None:
    values = [0.1, 1.0, -3.0, 1e-300, 1.7976931348623157e308, 2 / 3, math.inf, -math.inf]
    store.log_batch(run_id, metrics=[Metric("x", v, 100 + i, i) for i, v in enumerate(values)])
    page = store.get_metric_history_points(run_id, "x")
    assert page.items == [(v, 100 + i, i) for i, v in enumerate(values)]
    assert all(isinstance(value, float) for value, _, _ in page.items)


def test_history_points_keep_nan(store: SqlTrackingStore, run_id: str) -> None:
    store.log_batch(run_id, metrics=[Metric("n", math.nan, 1, 0)])
    ((value, timestamp, step),) = store.get_metric_history_points(run_id, "n").items
    assert math.isnan(value) and (timestamp, step) == (1, 0)


def test_history_points_of_unlogged_key_are_empty(store: SqlTrackingStore, run_id: str) -> None:
    assert store.get_metric_history_points(run_id, "nothing").items == []


def test_metrics_only_batch_to_deleted_run_is_failed_precondition_and_writes_nothing(
    store: SqlTrackingStore, run_id: str
) -> None:
    """Metrics alone (LogMetric's shape, one or a few points): the history INSERT is its own
    run guard on MySQL, the latest values follow only if it wrote."""
    store.delete_run(run_id)
    for metrics in ([Metric("m", 1.0, 1, 0)], [Metric(f"m{i}", 1.0, 1, i) for i in range(3)]):
        with pytest.raises(FailedPrecondition):
            store.log_batch(run_id, metrics=metrics)
    store.restore_run(run_id)
    assert store.get_run(run_id).metrics == []
    assert store.get_metric_history(run_id, "m").items == []
    assert store.get_metric_history(run_id, "m0").items == []


def test_metrics_only_batch_to_unknown_run_is_not_found(store: SqlTrackingStore) -> None:
    with pytest.raises(NotFound):
        store.log_batch("e" * 32, metrics=[Metric(f"m{i}", 1.0, 1, i) for i in range(3)])


def test_metric_logged_again_beside_a_newer_point_moves_the_latest_value(
    store: SqlTrackingStore, run_id: str
) -> None:
    store.log_batch(run_id, metrics=[Metric("loss", 0.5, 10, 1)])
    store.log_batch(run_id, metrics=[Metric("loss", 0.5, 10, 1), Metric("loss", 0.25, 11, 2)])
    assert store.get_run(run_id).metrics == [Metric("loss", 0.25, 11, 2)]
    assert len(store.get_metric_history(run_id, "loss").items) == 2


def test_params_only_batch_to_deleted_run_is_failed_precondition_and_writes_nothing(
    store: SqlTrackingStore, run_id: str
) -> None:
    store.delete_run(run_id)
    with pytest.raises(FailedPrecondition):
        store.log_batch(run_id, params=[Param("a", "1"), Param("b", "2")])
    store.restore_run(run_id)
    assert store.get_run(run_id).params == {}
    store.log_batch(run_id, params=[Param("a", "1")])
    assert store.get_run(run_id).params == {"a": "1"}


def test_params_only_batch_to_unknown_run_is_not_found(store: SqlTrackingStore) -> None:
    with pytest.raises(NotFound):
        store.log_batch("d" * 32, params=[Param("a", "1")])
