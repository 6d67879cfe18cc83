"""get_metric_history: order by (step, timestamp), keyset pages, errors; the series shape."""

from __future__ import annotations

import math

import pytest

from mlgrpc_server.errors import InvalidArgument, NotFound
from tracking_service.domain import Metric
from tracking_service.store.dialects.mysql_history import columns_of_texts
from tracking_service.store.sql_store import SqlTrackingStore


def test_history_is_ordered_by_step_then_timestamp(store: SqlTrackingStore, run_id: str) -> None:
    points = [Metric("m", 1.0, 30, 2), Metric("m", 2.0, 10, 2), Metric("m", 3.0, 50, 0)]
    store.log_batch(run_id, metrics=points)
    history = store.get_metric_history(run_id, "m").items
    assert [(p.step, p.timestamp) for p in history] == [(0, 50), (2, 10), (2, 30)]


def test_history_pages_cover_every_point_once(store: SqlTrackingStore, run_id: str) -> None:
    points = [Metric("m", float(i % 3), 100 + i % 4, i // 2) for i in range(50)]
    store.log_batch(run_id, metrics=points)
    seen, token, pages = [], "", 0
    while True:
        page = store.get_metric_history(run_id, "m", max_results=7, page_token=token)
        seen += page.items
        pages += 1
        token = page.next_page_token
        if not token:
            break
    assert pages == 8
    assert sorted(seen, key=lambda p: (p.step, p.timestamp, p.value)) == seen
    assert {(p.step, p.timestamp, p.value) for p in seen} == {
        (p.step, p.timestamp, p.value) for p in points
    }
    assert len(seen) == len(points)


def test_history_of_unknown_run_is_not_found(store: SqlTrackingStore) -> None:
    with pytest.raises(NotFound):
        store.get_metric_history("b" * 32, "m")


def test_history_of_unlogged_key_is_empty(store: SqlTrackingStore, run_id: str) -> None:
    assert store.get_metric_history(run_id, "never").items == []


def test_history_token_of_another_key_is_invalid(store: SqlTrackingStore, run_id: str) -> None:
    store.log_batch(run_id, metrics=[Metric("a", 1.0, 1, i) for i in range(3)])
    token = store.get_metric_history(run_id, "a", max_results=1).next_page_token
    with pytest.raises(InvalidArgument):
        store.get_metric_history(run_id, "b", max_results=1, page_token=token)


def test_history_max_results_above_limit_is_invalid(store: SqlTrackingStore, run_id: str) -> None:
    with pytest.raises(InvalidArgument):
        store.get_metric_history(run_id, "m", max_results=25001)


def test_history_series_is_the_points_as_columns(store: SqlTrackingStore, run_id: str) -> None:
    values = [0.1, -3.0, 1e-300, 1.7976931348623157e308, 2 / 3, math.inf, -math.inf, math.nan]
    steps = [-(2**63), 0, 1, 2, 3, 4, 5, 2**63 - 1]  # int64 extremes stay exact
    store.log_batch(
        run_id,
        metrics=[
            Metric("x", v, 100 + i, s) for i, (v, s) in enumerate(zip(values, steps, strict=True))
        ],
    )
    series, token = store.get_metric_history_series(run_id, "x")
    assert token == ""
    assert series.steps == steps
    assert series.timestamps == [100 + i for i in range(len(values))]
    assert series.values[:-1] == values[:-1] and math.isnan(series.values[-1])
    assert all(type(x) is int for x in series.steps + series.timestamps)
    assert all(type(x) is float for x in series.values)
    points = store.get_metric_history_points(run_id, "x").items
    assert [(s, t) for _, t, s in points] == list(zip(series.steps, series.timestamps, strict=True))


def test_history_series_and_points_share_page_tokens(store: SqlTrackingStore, run_id: str) -> None:
    store.log_batch(run_id, metrics=[Metric("m", float(i), 10, i) for i in range(10)])
    series, token = store.get_metric_history_series(run_id, "m", max_results=4)
    assert series.steps == [0, 1, 2, 3] and token
    page = store.get_metric_history_points(run_id, "m", max_results=4, page_token=token)
    assert [step for _, _, step in page.items] == [4, 5, 6, 7]
    rest, last = store.get_metric_history_series(
        run_id, "m", max_results=4, page_token=page.next_page_token
    )
    assert rest.steps == [8, 9] and last == ""


def test_history_series_of_unlogged_key_is_empty(store: SqlTrackingStore, run_id: str) -> None:
    series, token = store.get_metric_history_series(run_id, "never")
    assert (series.steps, series.timestamps, series.values, token) == ([], [], [], "")


def test_history_series_of_unknown_run_is_not_found(store: SqlTrackingStore) -> None:
    with pytest.raises(NotFound):
        store.get_metric_history_series("b" * 32, "m")


def test_mariadb_columns_are_put_in_page_order_when_they_arrive_out_of_it() -> None:
    """The texts' order is the scan's; should MariaDB ever hand the rows back in another
    order, the page must still come out ordered by (step, timestamp, value, kind)."""
    texts = ["9223372036854775807,-9223372036854775808,1,1", "5,5,7,6", "1.5,2.5,0,0.25", "0,0,3,0"]
    columns = columns_of_texts(texts)
    assert columns.steps.tolist() == [-(2**63), 1, 1, 2**63 - 1]
    assert columns.timestamps.tolist() == [5, 6, 7, 5]
    assert columns.values.tolist() == [2.5, 0.25, 0.0, 1.5]
    decoded = columns.decoded_values()
    assert decoded[:2] + decoded[3:] == [2.5, 0.25, 1.5] and math.isnan(decoded[2])
