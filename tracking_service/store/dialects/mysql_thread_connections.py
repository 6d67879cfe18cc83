"""Each thread keeps its own connection of the one-query engine between its calls.

Checking a connection out of SQLAlchemy's pool and back in (a `_ConnectionFairy` with its
weakref, the queue's condition, the checkout and checkin events) is ~0.01 ms in a tight loop,
but 0.045-0.07 ms of CPU per call in the service, where each call starts cold after waiting on
the database (bench/README.md, "T1 against its floor, third pass"): a sixth of what a LogMetric
spends over its floor. A server's worker thread therefore keeps the connection it last used,
checked out, for its next call; what the pool did on each checkout is kept:

- **idle**: a connection unused for longer than the pool's idle threshold is pinged before use,
  as the pool's checkout does (`mlgrpc_server.db.ping_idle_connection`); one that is gone is
  invalidated and another checked out;
- **failure**: after any error the connection goes back to the pool (invalidated if gone, by
  `mysql_one_query.send_script`, as before), and the next call checks one out;
- **recycle and events**: a connection kept for `RETURN_AFTER_SECONDS` goes back to the pool
  after its call, so that the pool's own checkout (recycle, events) sees it again;
- **capacity**: a thread keeps its connection only while the pool has no more connections
  checked out than its size (the server: one per worker thread); beyond that, connections go
  back after each call as before, so that any number of threads still works;
- **end**: a thread's connection goes back to the pool when the thread ends (its local storage
  goes), all of them at `dispose` (shutdown, no call in flight). One that idled beyond the
  threshold is closed rather than given back: the pool would take it for a fresh one.
"""

from __future__ import annotations

import threading
import time
import weakref
from typing import Any

from sqlalchemy import Engine
from sqlalchemy import exc as sa_exc
from sqlalchemy.pool import QueuePool

from mlgrpc_server.db import IDLE_PING_SECONDS, ping_idle_connection

#: A kept connection goes back to the pool after a call once it has been kept this long.
RETURN_AFTER_SECONDS = 60.0


class _Kept:
    """A thread's connection between its calls (None while a call uses it)."""

    __slots__ = ("__weakref__", "idle_seconds", "kept_at", "pooled", "used_at")

    def __init__(self, idle_seconds: float) -> None:
        self.idle_seconds = idle_seconds
        self.pooled: Any = None
        self.kept_at = 0.0
        self.used_at = 0.0

    def give_back(self) -> None:
        pooled, self.pooled = self.pooled, None
        if pooled is None:
            return
        if time.monotonic() - self.used_at > self.idle_seconds:
            pooled.invalidate()  # idle: the pool would hand it out unpinged
        else:
            pooled.close()

    def __del__(self) -> None:  # the thread ended
        try:
            self.give_back()
        except Exception:  # noqa: BLE001, S110 - nothing to tell at a thread's end; the pool copes
            pass


class ThreadConnections:
    """The connections of `engine` (a pool of DBAPI connections) as `send_script` takes them:
    `acquire` one for a call, `release` it after."""

    def __init__(self, engine: Engine, idle_seconds: float = IDLE_PING_SECONDS) -> None:
        self.engine = engine
        self.idle_seconds = idle_seconds
        self._local = threading.local()
        self._every: weakref.WeakSet[_Kept] = weakref.WeakSet()
        self._lock = threading.Lock()

    def _kept(self) -> _Kept:
        kept: _Kept | None = getattr(self._local, "kept", None)
        if kept is None:
            kept = self._local.kept = _Kept(self.idle_seconds)
            with self._lock:
                self._every.add(kept)
        return kept

    def acquire(self) -> Any:
        """This thread's kept connection (pinged if it idled), else one of the pool's; the
        DBAPI driver's errors of a checkout are raised as they come."""
        kept = self._kept()
        pooled, kept.pooled = kept.pooled, None
        if pooled is not None:
            idle = time.monotonic() - kept.used_at
            if idle <= self.idle_seconds:
                return pooled
            try:
                ping_idle_connection(pooled.dbapi_connection, idle)
                return pooled
            except sa_exc.DisconnectionError as error:
                pooled.invalidate(error)
        pooled = self.engine.raw_connection()
        kept.kept_at = time.monotonic()
        return pooled

    def release(self, pooled: Any, *, reusable: bool) -> None:
        """After a call: keep `pooled` for this thread's next call if it is `reusable` (the call
        succeeded) and may be kept, else give it back to the pool."""
        if reusable:
            kept = self._kept()
            now = time.monotonic()
            pool = self.engine.pool
            if (
                kept.pooled is None  # (a call made inside another's keeps none)
                and now - kept.kept_at < RETURN_AFTER_SECONDS
                and isinstance(pool, QueuePool)
                and pool.checkedout() <= pool.size()
            ):
                kept.pooled, kept.used_at = pooled, now
                return
        pooled.close()

    def dispose(self) -> None:
        """Give every kept connection back, then close the engine's (no call in flight)."""
        with self._lock:
            every = list(self._every)
        for kept in every:
            kept.give_back()
        self.engine.dispose()
