"""Adaptive batching: concurrent small requests to one model become one `predict` call.

A request thread hands its float64 matrix to the batcher and waits. The batcher thread takes
the first waiting matrix, keeps collecting until `max_batch_size` rows are waiting or
`max_batch_time` has passed since the first, predicts the stacked matrix once and hands each
caller its own rows. An exception in the model reaches every caller of that batch. Off by
default, as in MLServer; it pays off for models whose per-call cost is high.
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
        self._thread = threading.Thread(target=self._run, name=f"batcher-{name}", daemon=True)
        self._thread.start()

    def predict(self, matrix: np.ndarray) -> Any:
        """Predict `matrix` as part of a batch; blocks until its rows are predicted."""
        if len(matrix) >= self._max_rows:
            return self._predict(matrix)
        future: Future[Any] = Future()
        self._queue.put((matrix, future))
        return future.result()

    def close(self) -> None:
        self._queue.put(_STOP)

    def _collect(self, first: tuple[np.ndarray, Future[Any]]) -> tuple[list[Any], bool]:
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
            if item is _STOP:
                return batch, True
            batch.append(item)
            rows += len(item[0])
        return batch, False

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            batch, stopping = self._collect(item)
            matrices = [m for m, _ in batch]
            try:
                output = np.asarray(self._predict(np.concatenate(matrices)))
            except BaseException as exc:  # noqa: BLE001 - handed to every waiting caller
                for _, future in batch:
                    future.set_exception(exc)
            else:
                offset = 0
                for matrix, future in batch:
                    future.set_result(output[offset : offset + len(matrix)])
                    offset += len(matrix)
            if stopping:
                return
