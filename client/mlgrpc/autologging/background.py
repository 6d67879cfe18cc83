"""Autologging's uploads (the model, estimator.html, feature importance) off the training thread.

`fit` prepares what it logs in memory or in a local temporary directory (so later changes to the
estimator do not change what is logged) and hands the network part to one daemon thread, in
order. `end_run` waits for it like for the queued params and metrics (the writer is registered
with `mlgrpc.async_logging`), and so does interpreter exit. A failed upload is logged as a
warning, as MLflow's autologging does: autologging never fails training.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait

from mlgrpc import async_logging

logger = logging.getLogger(__name__)


class BackgroundUploads:
    """A FIFO of upload tasks run by one thread; `flush` waits for those submitted before it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None
        self._pending: set[Future[None]] = set()
        self._pid = os.getpid()

    def submit(self, what: str, task: Callable[[], None]) -> None:
        def run() -> None:
            try:
                task()
            except Exception as exc:  # noqa: BLE001 - autologging never breaks training
                logger.warning("autologging could not upload %s: %s", what, exc)

        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(1, thread_name_prefix="mlgrpc-autolog-upload")
            try:
                future = self._executor.submit(run)
            except RuntimeError:  # the interpreter is shutting down: no new threads
                future = None
            else:
                self._pending.add(future)
        if future is None:
            run()
            return
        future.add_done_callback(self._forget)

    def _forget(self, future: Future[None]) -> None:
        with self._lock:
            self._pending.discard(future)

    def flush(self, timeout: float | None = None) -> None:
        with self._lock:
            pending = set(self._pending)
        if pending:
            wait(pending, timeout)

    def close(self) -> None:
        self.flush()
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True)

    def _forget_after_fork(self) -> None:
        # The parent's thread uploads what the parent submitted; the child starts empty.
        self._lock = threading.Lock()
        self._executor = None
        self._pending = set()


UPLOADS = BackgroundUploads()
async_logging.register(UPLOADS)
