"""Engines, sessions and retries for the one database the services share.

SQLite is the embedded default (one file, WAL so readers do not block the writer); MySQL 8,
MariaDB 10.11 and PostgreSQL 15 are the production stores (READ COMMITTED; on MySQL InnoDB and
utf8mb4 so that concurrent upserts of `latest_metrics` take no gap locks; PostgreSQL through
psycopg 3).
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
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

logger = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_SQLITE_URI = "sqlite:///mlgrpc.db"

# MySQL error numbers worth a retry: deadlock, lock wait timeout, server gone away, lost connection.
_RETRYABLE_MYSQL_ERRORS = {1213, 1205, 2006, 2013}
# PostgreSQL SQLSTATEs worth a retry: serialization failure, deadlock detected.
_RETRYABLE_POSTGRESQL_STATES = {"40001", "40P01"}


#: The databases the stores are written for, as an operator writes their URIs.
SUPPORTED_DATABASES = (
    "sqlite:///PATH (SQLite), mysql+pymysql://USER:PASSWORD@HOST:PORT/DATABASE "
    "(MySQL 8 or MariaDB 10.11) or postgresql://USER:PASSWORD@HOST:PORT/DATABASE (PostgreSQL 15+)"
)

#: The SQL the stores speak, by `database_kind`.
DATABASE_KINDS = ("sqlite", "mysql", "postgresql")


class UnsupportedDatabase(ValueError):
    """A backend store URI the stores cannot use; the message is one line for the operator."""


def check_database_uri(uri: str) -> URL:
    """The parsed URI if it names a database the stores support, else UnsupportedDatabase.

    Checked before any engine exists: the stores speak SQLite, MySQL or PostgreSQL SQL only,
    the MySQL paths use PyMySQL's own flags, and PostgreSQL is reached through psycopg 3
    (`postgresql://` and `postgresql+psycopg://` are the same database; the URI returned names
    the driver).
    """
    shown = repr(uri[:200])
    try:
        url = make_url(uri)
    except Exception as error:  # noqa: BLE001 - ArgumentError, ValueError of a bad port, …
        raise UnsupportedDatabase(
            f"backend store URI {shown} is not a database URI; use {SUPPORTED_DATABASES}"
        ) from error
    # From the URI's text: asking SQLAlchemy would load the dialect, which fails for unknown ones.
    backend, _, driver = url.drivername.partition("+")
    if backend == "sqlite" and driver in ("", "pysqlite"):
        return url
    if backend in ("mysql", "mariadb"):
        if backend != "mysql" or driver != "pymysql":
            raise UnsupportedDatabase(
                f"backend store URI {shown}: MySQL and MariaDB are reached through PyMySQL; "
                "write it mysql+pymysql://USER:PASSWORD@HOST:PORT/DATABASE"
            )
        if not url.database:
            raise UnsupportedDatabase(
                f"backend store URI {shown} names no database; "
                "write mysql+pymysql://USER:PASSWORD@HOST:PORT/DATABASE"
            )
        return url
    if backend in ("postgresql", "postgres"):
        if driver not in ("", "psycopg"):
            raise UnsupportedDatabase(
                f"backend store URI {shown}: PostgreSQL is reached through psycopg 3; "
                "write it postgresql://USER:PASSWORD@HOST:PORT/DATABASE"
            )
        if not url.database:
            raise UnsupportedDatabase(
                f"backend store URI {shown} names no database; "
                "write postgresql://USER:PASSWORD@HOST:PORT/DATABASE"
            )
        return url.set(drivername="postgresql+psycopg")
    raise UnsupportedDatabase(
        f"backend store URI {shown}: {backend or 'this'} databases are not supported; "
        f"use {SUPPORTED_DATABASES}"
    )


def database_kind(engine: Engine) -> str:
    """Which SQL the stores send to `engine`: "sqlite", "mysql" (MariaDB included) or
    "postgresql"."""
    name = engine.dialect.name
    if name not in DATABASE_KINDS:
        raise UnsupportedDatabase(f"{name} databases are not supported; use {SUPPORTED_DATABASES}")
    return name


def is_sqlite(engine_or_uri: Engine | str) -> bool:
    uri = engine_or_uri if isinstance(engine_or_uri, str) else str(engine_or_uri.url)
    return make_url(uri).get_backend_name() == "sqlite"


#: A pooled MySQL connection idle longer than this is pinged before it is handed out.
IDLE_PING_SECONDS = 1.0


def create_db_engine(
    uri: str,
    *,
    pool_size: int = 10,
    echo: bool = False,
    multi_statements: bool = False,
    idle_ping_seconds: float = IDLE_PING_SECONDS,
) -> Engine:
    """An engine tuned for the backend: utf8mb4, READ COMMITTED and idle pings on MySQL; READ
    COMMITTED and pre-pings on PostgreSQL.

    `multi_statements` (MySQL only) lets the connections take several `;`-separated statements in
    one query: for the dedicated one-round-trip write path of the tracking store
    (`tracking_service/store/dialects/mysql_one_query.py`) only, never for the service's main
    engine, so that no other code path can ever have statements stacked onto its SQL. A URI of a
    database the stores do not support is UnsupportedDatabase (see `check_database_uri`).
    """
    url = check_database_uri(uri)
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

    connect_args: dict[str, Any] = {}
    mysql = url.get_backend_name() == "mysql"
    if mysql:
        query = dict(url.query)
        query.setdefault("charset", "utf8mb4")
        url = url.set(query=query)
        if multi_statements:
            from pymysql.constants import CLIENT

            # Explicit client_flag replaces the dialect's, which holds FOUND_ROWS: keep it
            # (affected rows then count matched rows, as the rest of the code expects).
            connect_args["client_flag"] = CLIENT.FOUND_ROWS | CLIENT.MULTI_STATEMENTS
    engine = create_engine(
        url,
        echo=echo,
        connect_args=connect_args,
        pool_pre_ping=not mysql,  # MySQL: pinged only after idling, see _ping_when_idle
        pool_size=pool_size,
        max_overflow=2 * pool_size,
        pool_recycle=3600,
        isolation_level="READ COMMITTED",
        # No ROLLBACK when a connection goes back to the pool: every transaction already ends
        # before it does (`engine.begin()` commits or rolls back; `Connection.close()` rolls
        # back a transaction left open), so the pool's reset was a second, empty round trip on
        # every call (about a fifth of a LogMetric).
        pool_reset_on_return=None,
        # Last in, first out: a steady load reuses the same few connections, which never sit
        # idle long enough to need a ping; the others idle (and are pinged when next needed).
        pool_use_lifo=True,
    )
    if mysql:
        _ping_when_idle(engine, idle_ping_seconds)
    return engine


def _ping_when_idle(engine: Engine, idle_seconds: float) -> None:
    """Ping a pooled connection on checkout only if it sat idle longer than `idle_seconds`.

    `pool_pre_ping` pings on every checkout: one more round trip on every call (a quarter of
    a LogMetric). A connection dropped while idle (server restart, wait_timeout, a KILL) is
    what a ping catches; one in active use is as likely to die in the middle of a call as
    before it, and that case is handled anyway: SQLAlchemy invalidates a connection whose
    error says it is gone, and `with_retry` repeats transactions that are safe to repeat.
    Raising DisconnectionError from "checkout" is SQLAlchemy's documented way to make the pool
    discard the connection and hand out a new one.
    """

    @event.listens_for(engine, "checkin")
    def _record_checkin(_dbapi_conn: Any, record: Any) -> None:
        record.info["checked_in_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        checked_in_at = record.info.get("checked_in_at")
        if checked_in_at is None or time.monotonic() - checked_in_at <= idle_seconds:
            return  # a new connection, or one in steady use
        ping_idle_connection(dbapi_conn, time.monotonic() - checked_in_at)


def ping_idle_connection(dbapi_conn: Any, idle_for: float) -> None:
    """Ping a MySQL connection that sat idle `idle_for` seconds; if it is gone, log it and raise
    DisconnectionError (from a pool's "checkout" event: the pool discards it and hands out
    another). Also for connections kept checked out between calls (the tracking store's MySQL
    fast paths keep one per thread)."""
    try:
        dbapi_conn.ping(reconnect=False)
    except Exception as error:  # noqa: BLE001 - any failure means: use another connection
        logger.info("pooled connection idle %.1f s is gone: %s", idle_for, error)
        raise sa_exc.DisconnectionError() from error


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
        if getattr(error.orig, "sqlstate", None) in _RETRYABLE_POSTGRESQL_STATES:
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
