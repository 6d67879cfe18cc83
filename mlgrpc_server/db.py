"""Engines, sessions and retries for the one database the services share.

SQLite is the embedded default (one file, WAL so readers do not block the writer); MySQL 8 and
MariaDB 10.11 are the production stores (InnoDB, utf8mb4, READ COMMITTED so that concurrent
upserts of `latest_metrics` take no gap locks).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

logger = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_SQLITE_URI = "sqlite:///mlgrpc.db"

# MySQL error numbers worth a retry: deadlock, lock wait timeout, server gone away, lost connection.
_RETRYABLE_MYSQL_ERRORS = {1213, 1205, 2006, 2013}


def is_sqlite(engine_or_uri: Engine | str) -> bool:
    uri = engine_or_uri if isinstance(engine_or_uri, str) else str(engine_or_uri.url)
    return make_url(uri).get_backend_name() == "sqlite"


def create_db_engine(uri: str, *, pool_size: int = 10, echo: bool = False) -> Engine:
    """An engine tuned for the backend: pre-ping, utf8mb4 and READ COMMITTED on MySQL."""
    url = make_url(uri)
    if url.get_backend_name() == "sqlite":
        in_memory = url.database in (None, "", ":memory:")
        engine = create_engine(
            url,
            echo=echo,
            connect_args={"check_same_thread": False, "timeout": 30},
            # One shared connection keeps an in-memory database alive across sessions.
            **({"poolclass": StaticPool} if in_memory else {}),
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        # pysqlite's own transaction handling defers BEGIN; emit it ourselves so that a write
        # transaction takes the lock up front instead of failing to upgrade it later.
        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        @event.listens_for(engine, "connect")
        def _sqlite_no_autobegin(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None

        return engine

    if url.get_backend_name() == "mysql":
        query = dict(url.query)
        query.setdefault("charset", "utf8mb4")
        url = url.set(query=query)
    return create_engine(
        url,
        echo=echo,
        pool_pre_ping=True,
        pool_size=pool_size,
        max_overflow=2 * pool_size,
        pool_recycle=3600,
        isolation_level="READ COMMITTED",
        # No ROLLBACK when a connection goes back to the pool: every transaction already ends
        # before it does (`engine.begin()` commits or rolls back; `Connection.close()` rolls
        # back a transaction left open), so the pool's reset was a second, empty round trip on
        # every call (about a fifth of a LogMetric).
        pool_reset_on_return=None,
    )


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One session, one transaction: committed on success, rolled back on any error."""
    with factory() as session, session.begin():
        yield session


def is_retryable(error: BaseException) -> bool:
    if isinstance(error, sa_exc.DBAPIError) and error.orig is not None:
        args = getattr(error.orig, "args", ())
        if args and isinstance(args[0], int) and args[0] in _RETRYABLE_MYSQL_ERRORS:
            return True
        if "database is locked" in str(error.orig):
            return True
    return False


def with_retry(work: Callable[[], T], *, attempts: int = 4, what: str = "write") -> T:
    """Run `work` (a whole transaction) again after a deadlock or a dropped connection.

    Only for work that is safe to repeat: the transaction rolled back, so nothing of the failed
    attempt is left behind.
    """
    for attempt in range(1, attempts + 1):
        try:
            return work()
        except sa_exc.DBAPIError as error:
            if attempt == attempts or not is_retryable(error):
                raise
            delay = min(0.5, 0.01 * 2**attempt) * (1 + random.random())
            logger.info("%s: retry %d after %s", what, attempt, error.orig)
            time.sleep(delay)
    raise AssertionError("unreachable")
