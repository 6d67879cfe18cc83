"""Concurrent batches to one run: no deadlock surfaces, nothing lost, latest values right."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from tracking_service.domain import Metric
from tracking_service.store.sql_store import SqlTrackingStore

THREADS = 4
BATCHES = 10
KEYS = ("a", "b", "c", "d", "e")


def test_concurrent_batches_on_shared_keys_all_land(store: SqlTrackingStore, run_id: str) -> None:
    def log(thread: int) -> None:
        for batch in range(BATCHES):
            step = batch * THREADS + thread
            # Keys in a different order per thread: the store must sort them (one lock order).
            keys = KEYS if thread % 2 else tuple(reversed(KEYS))
            store.log_batch(run_id, metrics=[Metric(key, float(step), 1000, step) for key in keys])

    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(log, range(THREADS)))

    last = THREADS * BATCHES - 1
    latest = {m.key: m for m in store.get_run(run_id).metrics}
    assert {key: (m.step, m.value) for key, m in latest.items()} == {
        key: (last, float(last)) for key in KEYS
    }
    assert len(store.get_metric_history(run_id, "c").items) == THREADS * BATCHES
