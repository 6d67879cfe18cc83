"""Adaptive batching: concurrent small requests to one model become one `predict` call.

A request thread hands its float64 matrix to the batcher and waits. The batcher thread takes
the first waiting matrix, keeps collecting until `max_batch_size` rows are waiting or
`max_batch_time` has passed since the first, predicts the stacked matrix once and hands each
caller its own rows. When the model raises on a batch of several callers, each caller's rows
are predicted again alone, so that one caller's rows the model cannot take (a NaN, a value out
of its domain) fail that caller only, as they would without batching. Off by
default, as in MLServer; it pays off for models whose per-call cost is high.

Closing (the model was replaced or unloaded) changes no open batch window. A window closes when
it is full or when `max_batch_time` has passed since its first request, and for no other
reason: so a request is answered by the model it was routed to, in the batch and with the wait
the configuration promises, whenever a swap lands. Requests that picked this model before the
swap but reach the batcher after `close` still join the open window. No window opens after
the open one: what is queued then is predicted at once and a later caller alone, never left
waiting for company that cannot come.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

_STOP = object()

_Item = tuple[np.ndarray, Future[Any]]


class AdaptiveBatcher:
    def __init__(
        self,
        predict: Callable[[np.ndarray], Any],
        *,
        max_batch_size: int,
        max_batch_time_s: float,
        name: str = "model",
    ) -> None:
        self._predict = predict
        self._max_rows = max_batch_size
        self._max_wait = max_batch_time_s
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        # Admission and the thread's decision to end are taken under one lock, so that no
        # request is queued after the thread has looked at the queue for the last time.
        self._lock = threading.Lock()
        self._closing = False
        self._running = True
        self._waiting = 0
        self._thread = threading.Thread(target=self._run, name=f"batcher-{name}", daemon=True)
        self._thread.start()

    @property
    def waiting(self) -> int:
        """Requests admitted into a batch and not yet answered."""
        return self._waiting

    def predict(self, matrix: np.ndarray) -> Any:
        """Predict `matrix` as part of a batch; blocks until its rows are predicted."""
        if len(matrix) >= self._max_rows:
            return self._predict(matrix)
        future: Future[Any] = Future()
        with self._lock:
            admitted = self._running
            if admitted:
                self._waiting += 1
                self._queue.put((matrix, future))
        if not admitted:  # closed, and its last window is over
            return self._predict(matrix)
        return future.result()

    def close(self) -> None:
        """Start no new window; the open one (if any) still closes as configured."""
        with self._lock:
            if not self._closing:
                self._closing = True
                self._queue.put(_STOP)

    def _collect(self, first: _Item) -> list[_Item]:
        batch = [first]
        rows = len(first[0])
        deadline = time.monotonic() + self._max_wait
        while rows < self._max_rows:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                item = self._queue.get(timeout=remaining)
            except queue.Empty:
                break
            if item is _STOP:  # the window stays open: see the module's docstring
                continue
            batch.append(item)
            rows += len(item[0])
        return batch

    def _run(self) -> None:
        while (first := self._queue.get()) is not _STOP:
            self._predict_batch(self._collect(first))
            if self._closing:
                break
        self._predict_late()

    def _predict_late(self) -> None:
        """Closed and past its last window: what is still queued is predicted at once (no new
        window), and from now on `predict` predicts alone."""
        with self._lock:
            self._running = False
        late = []
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is not _STOP:
                late.append(item)
        if late:
            self._predict_batch(late)

    def _predict_batch(self, batch: list[_Item]) -> None:
        try:
            output = np.asarray(self._predict(np.concatenate([m for m, _ in batch])))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller(s) it belongs to
            if len(batch) == 1:
                self._settle(batch, None, exc)
            else:
                self._predict_each(batch)
        else:
            self._settle(batch, output, None)

    def _predict_each(self, batch: list[_Item]) -> None:
        """The batch failed: find whose rows failed it by predicting each caller's alone."""
        for item in batch:
            try:
                output = np.asarray(self._predict(item[0]))
            except BaseException as exc:  # noqa: BLE001 - this caller's own error
                self._settle([item], None, exc)
            else:
                self._settle([item], output, None)

    def _settle(
        self, batch: list[_Item], output: np.ndarray | None, error: BaseException | None
    ) -> None:
        """Each caller of `batch` gets its own rows of `output`, or `error`."""
        with self._lock:
            self._waiting -= len(batch)
        offset = 0
        for matrix, future in batch:
            if error is not None:
                future.set_exception(error)
            else:
                assert output is not None
                future.set_result(output[offset : offset + len(matrix)])
                offset += len(matrix)
