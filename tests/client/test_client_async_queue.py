"""The background log queue with a recording sender callable (the RPC side is tested against
the real service in test_client_async_logging.py)."""

from __future__ import annotations

import threading

import pytest

from mlgrpc.async_logging import MARKER, AsyncLogQueue, LogItem
from mlgrpc.exceptions import NotFoundError


class RecordingSender:
    """A sender callable that records the batches it is given; can fail or block on demand."""

    def __init__(self) -> None:
        self.batches: list[tuple[str, list[LogItem], list[LogItem], list[LogItem]]] = []
        self.fail_for_run: str | None = None
        self.gate = threading.Event()
        self.gate.set()

    def __call__(
        self, run_id: str, metrics: list[LogItem], params: list[LogItem], tags: list[LogItem]
    ) -> None:
        self.gate.wait()
        if run_id == self.fail_for_run:
            raise NotFoundError(f"run {run_id} not found", field="run_id")
        self.batches.append((run_id, list(metrics), list(params), list(tags)))


@pytest.fixture
def sender() -> RecordingSender:
    return RecordingSender()


def test_flush_returns_after_every_item_is_sent(sender: RecordingSender) -> None:
    queue = AsyncLogQueue(sender)
    for step in range(5000):
        queue.log_metric("r1", "loss", float(step), 1000 + step, step)
    queue.flush()
    sent = [m for _, metrics, _, _ in sender.batches for m in metrics]
    assert [m[5] for m in sent] == list(range(5000))
    queue.close()


def test_batches_respect_logbatch_limits(sender: RecordingSender) -> None:
    queue = AsyncLogQueue(sender)
    sender.gate.clear()  # let everything pile up, then drain in one go
    for i in range(2500):
        queue.log_metric("r1", "m", 1.0, 1, i)
    for i in range(250):
        queue.log_param("r1", f"p{i}", "v")
        queue.set_tag("r1", f"t{i}", "v")
    sender.gate.set()
    queue.flush()
    assert all(len(m) <= 1000 and len(p) <= 100 and len(t) <= 100 for _, m, p, t in sender.batches)
    assert sum(len(m) for _, m, _, _ in sender.batches) == 2500
    assert sum(len(p) for _, _, p, _ in sender.batches) == 250
    assert sum(len(t) for _, _, _, t in sender.batches) == 250
    queue.close()


def test_items_of_each_run_keep_their_order(sender: RecordingSender) -> None:
    queue = AsyncLogQueue(sender)
    for i in range(3000):
        queue.log_metric(f"r{i % 3}", "m", float(i), i, i)
    queue.flush()
    for run in ("r0", "r1", "r2"):
        steps = [m[5] for run_id, ms, _, _ in sender.batches if run_id == run for m in ms]
        assert steps == sorted(steps) and len(steps) == 1000
    queue.close()


def test_background_failure_is_raised_at_flush(sender: RecordingSender) -> None:
    queue = AsyncLogQueue(sender)
    sender.fail_for_run = "gone"
    sender.gate.clear()
    queue.log_metric("gone", "m", 1.0, 1, 0)
    queue.log_metric("alive", "m", 1.0, 1, 0)
    sender.gate.set()
    with pytest.raises(NotFoundError):
        queue.flush()
    assert [run_id for run_id, *_ in sender.batches] == ["alive"]
    queue.flush()  # raised once, then cleared
    queue.close()


def test_failure_surfaces_on_the_log_call_after_it(sender: RecordingSender) -> None:
    queue = AsyncLogQueue(sender)
    sender.fail_for_run = "gone"
    queue.log_metric("gone", "m", 1.0, 1, 0)
    marker = threading.Event()
    queue._items.append((None, MARKER, marker, None, 0, 0))  # what flush() waits for
    queue._wakeup.set()
    marker.wait(5)
    with pytest.raises(NotFoundError):
        queue.log_param("gone", "p", "v")
    queue.close()


def test_caller_blocks_at_high_water_instead_of_growing(sender: RecordingSender) -> None:
    queue = AsyncLogQueue(sender, high_water=2000)
    sender.gate.clear()
    release = threading.Timer(0.2, sender.gate.set)
    release.start()
    for i in range(10_000):
        queue.log_metric("r1", "m", 1.0, 1, i)
        assert queue.pending() <= 2001 + 1000  # the worker may hold one chunk in hand
    queue.flush()
    assert sum(len(m) for _, m, _, _ in sender.batches) == 10_000
    release.join()
    queue.close()


def test_flush_without_anything_logged_returns_at_once(sender: RecordingSender) -> None:
    queue = AsyncLogQueue(sender)
    queue.flush()
    assert sender.batches == []
