"""Concurrent batches to one run: no deadlock surfaces, nothing lost, latest values right;
concurrent log-model appends to one run's history tag: none lost."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from mlgrpc_server.errors import FailedPrecondition, InvalidArgument, NotFound
from tracking_service.domain import LOG_MODEL_HISTORY_TAG, Metric, RunTag
from tracking_service.store.rules import MAX_TAG_VALUE_LENGTH
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


def test_concurrent_log_model_calls_on_one_run_each_add_their_entry(
    store: SqlTrackingStore, run_id: str
) -> None:
    """The log-model history tag is read and rewritten under the run's lock: 20 concurrent
    appends leave 20 entries (a read-then-SetTag would lose some)."""
    calls = 20
    store.log_batch(run_id, tags=[RunTag(LOG_MODEL_HISTORY_TAG, "not a list")])  # set by hand

    def log_model(index: int) -> None:
        store.log_model(run_id, json.dumps({"artifact_path": f"model-{index}", "flavors": {}}))

    with ThreadPoolExecutor(calls) as pool:
        list(pool.map(log_model, range(calls)))

    history = json.loads(store.get_run(run_id).tags[LOG_MODEL_HISTORY_TAG])
    paths = sorted(entry["artifact_path"] for entry in history)
    assert paths == sorted(f"model-{index}" for index in range(calls))
    assert history[0]["flavors"] == {}


def test_log_model_refuses_what_is_not_a_model_description(
    store: SqlTrackingStore, run_id: str
) -> None:
    for bad in ("not json", "[1, 2]", ""):
        with pytest.raises(InvalidArgument) as error:
            store.log_model(run_id, bad)
        assert error.value.field == "model_json"
    with pytest.raises(InvalidArgument) as too_long:
        store.log_model(run_id, json.dumps({"blob": "x" * MAX_TAG_VALUE_LENGTH}))
    assert too_long.value.field == "model_json"
    assert LOG_MODEL_HISTORY_TAG not in store.get_run(run_id).tags
    with pytest.raises(NotFound):
        store.log_model("f" * 32, "{}")
    store.delete_run(run_id)
    with pytest.raises(FailedPrecondition):
        store.log_model(run_id, "{}")
