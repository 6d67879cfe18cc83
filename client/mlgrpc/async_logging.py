"""Background logging of metrics, params and tags (`synchronous=False`, `enable_async_logging()`).

The caller pays for one tuple and a `deque.append` (atomic in CPython, so no lock): no protobuf,
no dataclass, no I/O. One daemon thread drains the deque in FIFO order, groups the items per run
into LogBatch-sized batches (1000 metrics / 100 params / 100 tags, MLflow's limits) and hands
them to a sender callable, which does the RPC.

Guarantees:
- FIFO per run: batches of one run are sent one after the other, in logging order.
- `flush()` returns once everything queued before it is written: it enqueues a marker and waits
  for the worker to reach it. `end_run()` and interpreter exit (atexit) flush too.
- A failure in the background is kept and raised, as the typed exception the sender raised, by
  the next `flush()` or log call on this queue; it is never only logged. A batch the service did
  not take within the retry budget is kept in the spool by the sender (`mlgrpc.spool`), which
  says so with `UnsentLogsError`: those are summed and raised by the next `flush()` only (the
  values are safe on disk, so the training loop's log calls go on).
- Survives a restart of the service: the client's sender tags every batch with a UUID and
  retries UNAVAILABLE/DEADLINE_EXCEEDED with backoff for up to MLGRPC_LOG_RETRY_SECONDS (120 s by
  default) with the same id, which the service writes once (`mlgrpc._batch_retry`). Meanwhile
  the worker waits, so batches stay in order. After that budget the batch goes to the spool
  (see above) and later batches of its run behind it.
- Bounded memory: above `high_water` queued items the caller blocks until the worker has drained
  below 90 % of it.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable
from typing import Protocol

from mlgrpc.exceptions import UnsentLogsError

logger = logging.getLogger(__name__)

METRIC, PARAM, TAG = 0, 1, 2
#: Kind of the flush markers, which carry no run id and a threading.Event as key.
MARKER = 3

#: (run_id, kind, key, value, timestamp_ms, step); params and tags carry 0, 0 in the last two.
LogItem = tuple[str, int, str, object, int, int]
#: send(run_id, metric items, param items, tag items) writes one batch or raises.
#: Metric, param and tag items of one run, in logging order.
_Groups = tuple[list[LogItem], list[LogItem], list[LogItem]]
BatchSender = Callable[[str, list[LogItem], list[LogItem], list[LogItem]], None]

MAX_METRICS_PER_BATCH = 1000
MAX_PARAMS_PER_BATCH = 100
MAX_TAGS_PER_BATCH = 100
#: Items the worker takes off the deque per round before sending what it grouped.
DRAIN_CHUNK = 20_000
DEFAULT_HIGH_WATER = 1_000_000
#: How long the idle worker sleeps between looks at the deque (a flush wakes it at once).
IDLE_WAIT_SECONDS = 0.05


class Flushable(Protocol):
    """What `flush_all`, exit and fork handle: an `AsyncLogQueue`, or another background writer
    (autologging's artifact uploads) that `end_run` must wait for."""

    def flush(self, timeout: float | None = None) -> None: ...

    def close(self) -> None: ...

    def _forget_after_fork(self) -> None: ...


_all_queues: weakref.WeakSet[Flushable] = weakref.WeakSet()


def register(writer: Flushable) -> None:
    """Have `flush_all` (so `end_run`), interpreter exit and fork handle `writer` too; the set is
    weak, so the caller keeps `writer` alive."""
    _all_queues.add(writer)


class AsyncLogQueue:
    """A FIFO of log items with one background sender thread."""

    def __init__(
        self,
        send_batch: BatchSender,
        *,
        high_water: int = DEFAULT_HIGH_WATER,
        name: str = "mlgrpc-async-logging",
    ) -> None:
        self._send_batch = send_batch
        self._high_water = high_water
        self._low_water = int(high_water * 0.9)
        self._name = name
        self._items: deque[LogItem] = deque()
        self._wakeup = threading.Event()
        self._error: BaseException | None = None
        #: Batches the sender kept in the spool since the last flush.
        self._unsent: UnsentLogsError | None = None
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._stopping = False
        _all_queues.add(self)

    # ---- caller side (hot path) ---------------------------------------------------------------

    def log_metric(self, run_id: str, key: str, value: float, timestamp: int, step: int) -> None:
        if self._error is not None:
            self._raise_pending_error()
        self._items.append((run_id, METRIC, key, value, timestamp, step))
        if self._thread is None:
            self._start()
        if len(self._items) > self._high_water:
            self._wait_for_room()

    def log_param(self, run_id: str, key: str, value: str) -> None:
        self._put((run_id, PARAM, key, value, 0, 0))

    def set_tag(self, run_id: str, key: str, value: str) -> None:
        self._put((run_id, TAG, key, value, 0, 0))

    def _put(self, item: LogItem) -> None:
        if self._error is not None:
            self._raise_pending_error()
        self._items.append(item)
        if self._thread is None:
            self._start()
        if len(self._items) > self._high_water:
            self._wait_for_room()

    def pending(self) -> int:
        """Items queued and not yet taken by the worker (markers included)."""
        return len(self._items)

    def flush(self, timeout: float | None = None) -> None:
        """Wait until everything queued so far is written; raise a background failure if any."""
        if self._thread is not None and self._thread.is_alive():
            marker = threading.Event()
            self._items.append((None, MARKER, marker, None, 0, 0))  # type: ignore[arg-type]
            self._wakeup.set()
            if not marker.wait(timeout):
                raise TimeoutError(
                    f"async logging: {len(self._items)} items still queued after {timeout} s"
                )
        if self._error is not None:
            self._raise_pending_error()
        unsent, self._unsent = self._unsent, None
        if unsent is not None:
            raise unsent

    def close(self) -> None:
        """Flush, then stop the worker thread."""
        try:
            self.flush()
        finally:
            self._stopping = True
            self._wakeup.set()
            thread = self._thread
            if thread is not None and thread is not threading.current_thread():
                thread.join(timeout=5)
            self._thread = None
            self._stopping = False

    def _raise_pending_error(self) -> None:
        error, self._error = self._error, None
        if error is not None:
            raise error

    def _wait_for_room(self) -> None:
        self._wakeup.set()
        while len(self._items) > self._low_water:
            if self._error is not None:
                self._raise_pending_error()
            thread = self._thread
            if thread is None or not thread.is_alive():  # closed meanwhile: drain again
                self._thread = None
                self._start()
            time.sleep(0.001)

    def _start(self) -> None:
        with self._start_lock:
            if self._thread is not None:
                return
            thread = threading.Thread(target=self._run, name=self._name, daemon=True)
            self._thread = thread
            thread.start()

    # ---- worker side --------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stopping:
            if not self._items:
                self._wakeup.wait(IDLE_WAIT_SECONDS)
                self._wakeup.clear()
                continue
            self._drain_once()
        self._drain_all()

    def _drain_all(self) -> None:
        while self._items:
            self._drain_once()

    def _drain_once(self) -> None:
        """Take what is queued (up to DRAIN_CHUNK), send it grouped per run, release markers."""
        popleft = self._items.popleft
        chunk = [popleft() for _ in range(min(len(self._items), DRAIN_CHUNK))]
        batches: dict[str, _Groups] = {}
        for item in chunk:
            run_id = item[0]
            if run_id is None:  # a flush marker: everything queued before it is sent first
                self._send_all(batches)
                batches = {}
                item[2].set()  # type: ignore[attr-defined]
                continue
            groups = batches.get(run_id)
            if groups is None:
                groups = batches[run_id] = ([], [], [])
            groups[item[1]].append(item)
        self._send_all(batches)

    def _send_all(self, batches: dict[str, _Groups]) -> None:
        """Send each run's items as LogBatch-sized batches, in logging order per kind."""
        for run_id, (metrics, params, tags) in batches.items():
            start_m = start_p = start_t = 0
            while start_m < len(metrics) or start_p < len(params) or start_t < len(tags):
                groups = (
                    metrics[start_m : start_m + MAX_METRICS_PER_BATCH],
                    params[start_p : start_p + MAX_PARAMS_PER_BATCH],
                    tags[start_t : start_t + MAX_TAGS_PER_BATCH],
                )
                start_m += MAX_METRICS_PER_BATCH
                start_p += MAX_PARAMS_PER_BATCH
                start_t += MAX_TAGS_PER_BATCH
                self._send(run_id, groups)

    def _send(self, run_id: str, groups: _Groups) -> None:
        try:
            self._send_batch(run_id, *groups)
        except UnsentLogsError as unsent:
            logger.warning("async logging: %s", unsent)
            self._unsent = unsent if self._unsent is None else self._unsent.merged(unsent)
        except BaseException as error:  # noqa: BLE001 - kept and raised in the caller's thread
            logger.warning(
                "async logging: a batch of run %s failed (%d metrics, %d params, %d tags): %s",
                run_id,
                len(groups[0]),
                len(groups[1]),
                len(groups[2]),
                error,
            )
            if self._error is None:
                self._error = error

    def _forget_after_fork(self) -> None:
        # The parent's worker sends what was queued before the fork; the child starts empty.
        self._items = deque()
        self._wakeup = threading.Event()
        self._thread = None
        self._start_lock = threading.Lock()
        self._error = None
        self._unsent = None


def flush_all(timeout: float | None = None) -> None:
    """Flush every queue of the process; the first background failure is raised after all."""
    first_error: BaseException | None = None
    for queue in list(_all_queues):
        try:
            queue.flush(timeout)
        except BaseException as error:  # noqa: BLE001 - flush the others first
            first_error = first_error or error
    if first_error is not None:
        raise first_error


def _flush_at_exit() -> None:
    """Write what is queued, then stop the workers: no thread may sit in gRPC at finalization."""
    for queue in list(_all_queues):
        try:
            queue.close()
        except BaseException as error:  # noqa: BLE001 - nobody left to raise to at exit
            logger.error("async logging: values queued before exit could not be written: %s", error)


def _after_fork_in_child() -> None:
    for queue in list(_all_queues):
        queue._forget_after_fork()


atexit.register(_flush_at_exit)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
