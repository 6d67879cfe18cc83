"""log_batch: validation, atomicity, param immutability, NaN/±inf, latest metric values."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest

from mlgrpc_server.errors import FailedPrecondition, InvalidArgument, NotFound
from tracking_service.domain import Metric, Param, RunTag
from tracking_service.store.sql_store import SqlTrackingStore


def _latest(store: SqlTrackingStore, run_id: str) -> dict[str, Metric]:
    return {m.key: m for m in store.get_run(run_id).metrics}


def test_log_batch_writes_metrics_params_and_tags(store: SqlTrackingStore, run_id: str) -> None:
    store.log_batch(
        run_id,
        metrics=[Metric("loss", 0.5, 10, 1)],
        params=[Param("alpha", "0.1")],
        tags=[RunTag("team", "a")],
    )
    run = store.get_run(run_id)
    assert run.metrics == [Metric("loss", 0.5, 10, 1)]
    assert run.params == {"alpha": "0.1"}
    assert run.tags["team"] == "a"


def test_log_batch_accepts_any_objects_with_metric_attributes(
    store: SqlTrackingStore, run_id: str
) -> None:
    duck = SimpleNamespace(key="duck", value=2.0, timestamp=3, step=4)
    store.log_batch(run_id, metrics=[duck])
    assert _latest(store, run_id)["duck"] == Metric("duck", 2.0, 3, 4)


def test_batch_with_one_bad_metric_writes_nothing(store: SqlTrackingStore, run_id: str) -> None:
    metrics = [Metric("good", 1.0, 1, 0), Metric("bad//key", 1.0, 1, 0)]
    with pytest.raises(InvalidArgument) as error:
        store.log_batch(run_id, metrics=metrics, params=[Param("p", "1")])
    assert error.value.field == "metrics[1].key"
    run = store.get_run(run_id)
    assert run.metrics == [] and run.params == {}


def test_batch_failing_on_a_param_conflict_writes_nothing(
    store: SqlTrackingStore, run_id: str
) -> None:
    store.log_batch(run_id, params=[Param("p", "1")])
    with pytest.raises(InvalidArgument):
        store.log_batch(run_id, metrics=[Metric("m", 1.0, 1, 0)], params=[Param("p", "2")])
    assert store.get_run(run_id).metrics == []
    assert store.get_metric_history(run_id, "m").items == []


def test_changing_a_param_value_is_invalid_and_names_the_key(
    store: SqlTrackingStore, run_id: str
) -> None:
    store.log_batch(run_id, params=[Param("lr", "0.1")])
    with pytest.raises(InvalidArgument, match="Changing param values is not allowed.*'lr'"):
        store.log_batch(run_id, params=[Param("lr", "0.2")])


def test_logging_a_param_again_with_the_same_value_is_accepted(
    store: SqlTrackingStore, run_id: str
) -> None:
    store.log_batch(run_id, params=[Param("lr", "0.1")])
    store.log_batch(run_id, params=[Param("lr", "0.1")])
    assert store.get_run(run_id).params == {"lr": "0.1"}


def test_same_param_twice_in_a_batch_with_different_values_is_invalid(
    store: SqlTrackingStore, run_id: str
) -> None:
    with pytest.raises(InvalidArgument) as error:
        store.log_batch(run_id, params=[Param("p", "1"), Param("p", "2")])
    assert error.value.field == "params[1].value"


@pytest.mark.parametrize(
    ("metrics", "params", "tags", "field"),
    [
        ([Metric("k" * 251, 1.0, 1, 0)], [], [], "metrics[0].key"),
        ([Metric("/abs", 1.0, 1, 0)], [], [], "metrics[0].key"),
        ([Metric("a/../b", 1.0, 1, 0)], [], [], "metrics[0].key"),
        ([Metric("bad*char", 1.0, 1, 0)], [], [], "metrics[0].key"),
        ([Metric("m", True, 1, 0)], [], [], "metrics[0].value"),  # type: ignore[arg-type]
        ([Metric("m", 1.0, -1, 0)], [], [], "metrics[0].timestamp"),
        ([], [Param("p", "x" * 6001)], [], "params[0].value"),
        ([], [], [RunTag("t", "x" * 8001)], "tags[0].value"),
        ([Metric("m", 1.0, 1, 0)] * 1001, [], [], "metrics"),
        ([], [Param(f"p{i}", "1") for i in range(101)], [], "params"),
        ([], [], [RunTag(f"t{i}", "1") for i in range(101)], "tags"),
    ],
)
def test_invalid_batch_is_invalid_argument_naming_the_field(
    store: SqlTrackingStore,
    run_id: str,
    metrics: list[Metric],
    params: list[Param],
    tags: list[RunTag],
    field: str,
) -> None:
    with pytest.raises(InvalidArgument) as error:
        store.log_batch(run_id, metrics=metrics, params=params, tags=tags)
    assert error.value.field == field


def test_max_metrics_raises_the_batch_limit(store: SqlTrackingStore, run_id: str) -> None:
    metrics = [Metric("m", float(i), 1, i) for i in range(1500)]
    store.log_batch(run_id, metrics=metrics, max_metrics=10000)
    assert len(store.get_metric_history(run_id, "m").items) == 1500


def test_log_batch_to_unknown_run_is_not_found(store: SqlTrackingStore) -> None:
    with pytest.raises(NotFound):
        store.log_batch("a" * 32, metrics=[Metric("m", 1.0, 1, 0)])


def test_log_batch_to_deleted_run_is_failed_precondition(
    store: SqlTrackingStore, run_id: str
) -> None:
    store.delete_run(run_id)
    with pytest.raises(FailedPrecondition):
        store.log_batch(run_id, metrics=[Metric("m", 1.0, 1, 0)])


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, 1.7976931348623157e308, -0.0])
def test_special_values_round_trip(store: SqlTrackingStore, run_id: str, value: float) -> None:
    store.log_batch(run_id, metrics=[Metric("v", value, 1, 0)])
    (latest,) = store.get_run(run_id).metrics
    (point,) = store.get_metric_history(run_id, "v").items
    for got in (latest.value, point.value):
        if math.isnan(value):
            assert math.isnan(got)
        else:
            assert got == value


def test_latest_metric_is_the_greatest_step_even_when_logged_out_of_order(
    store: SqlTrackingStore, run_id: str
) -> None:
    store.log_batch(run_id, metrics=[Metric("m", 3.0, 100, 3)])
    store.log_batch(run_id, metrics=[Metric("m", 1.0, 200, 1), Metric("m", 2.0, 300, 2)])
    assert _latest(store, run_id)["m"] == Metric("m", 3.0, 100, 3)


def test_latest_metric_breaks_step_ties_by_timestamp_then_value(
    store: SqlTrackingStore, run_id: str
) -> None:
    store.log_batch(run_id, metrics=[Metric("m", 9.0, 10, 5), Metric("m", 1.0, 20, 5)])
    assert _latest(store, run_id)["m"] == Metric("m", 1.0, 20, 5)
    store.log_batch(run_id, metrics=[Metric("m", 0.5, 20, 5), Metric("m", 7.0, 20, 5)])
    assert _latest(store, run_id)["m"] == Metric("m", 7.0, 20, 5)


def test_latest_metric_moves_forward_across_batches(store: SqlTrackingStore, run_id: str) -> None:
    for step in range(5):
        store.log_batch(run_id, metrics=[Metric("m", float(step), 1000 + step, step)])
    assert _latest(store, run_id)["m"] == Metric("m", 4.0, 1004, 4)


def test_logging_the_same_point_twice_keeps_one_history_row(
    store: SqlTrackingStore, run_id: str
) -> None:
    point = Metric("m", 1.5, 7, 3)
    store.log_batch(run_id, metrics=[point, point])
    store.log_batch(run_id, metrics=[point])
    assert store.get_metric_history(run_id, "m").items == [point]


def test_metric_keys_are_case_sensitive(store: SqlTrackingStore, run_id: str) -> None:
    store.log_batch(run_id, metrics=[Metric("Loss", 1.0, 1, 0), Metric("loss", 2.0, 1, 0)])
    latest = _latest(store, run_id)
    assert (latest["Loss"].value, latest["loss"].value) == (1.0, 2.0)


def test_unicode_keys_and_values_round_trip(store: SqlTrackingStore, run_id: str) -> None:
    store.log_batch(run_id, params=[Param("größe", "验证🙂")], tags=[RunTag("ключ", "🙂")])
    run = store.get_run(run_id)
    assert run.params == {"größe": "验证🙂"}
    assert run.tags["ключ"] == "🙂"
