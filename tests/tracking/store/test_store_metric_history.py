"""get_metric_history: order by (step, timestamp), keyset pages, errors."""

from __future__ import annotations

import pytest

from mlgrpc_server.errors import InvalidArgument, NotFound
from tracking_service.domain import Metric
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
