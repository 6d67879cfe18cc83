"""The hot writes on MySQL/MariaDB in ONE round trip: every statement and the COMMIT in one query.

A LogMetric used to be a pool ping, two statements and a COMMIT (four blocking round trips);
CreateRun + LogBatch eight. Here the statements of a call and its COMMIT go to the server as
one multi-statement query, on connections of a dedicated engine that alone has PyMySQL's
`CLIENT.MULTI_STATEMENTS` (`MySQLFastPaths.one_query_engine`). Measured in-process on MariaDB
10.11: a LogMetric 0.56-0.60 ms instead of 0.67-0.68 ms; what is left is mostly the server's
own work and the COMMIT's log flush, not the round trips.

Why stacking statements is safe here: each statement is written with `%s` placeholders only,
and the values are interpolated by PyMySQL's own `cursor.mogrify`, the very escaping its
`execute` applies to every query of this service (PyMySQL has no server-side binding; it
honours the connection's charset and NO_BACKSLASH_ESCAPES). No value is ever formatted into SQL
by hand on this path, so a value cannot end a statement and start another.

Nothing is written unless the run is active, whatever the statements: a batch first notes in
the session, under a shared lock on the run's row (so that a concurrent delete or restore waits
for our COMMIT and every statement sees the same stage), whether the run is active; every
write is an `INSERT … SELECT … WHERE` that yields no row unless it is. The COMMIT then
commits nothing, and a follow-up query (the rare path) tells NotFound from FailedPrecondition.
MySQL stops a multi-statement query at its first error; the transaction is then
rolled back here (one more round trip, on the rare paths only) and the caller falls back to
the general path (a param logged before, a batch id seen before).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import Engine
from sqlalchemy import exc as sa_exc

from tracking_service.domain import ACTIVE
from tracking_service.store.dialects.mysql_thread_connections import ThreadConnections

#: Rows of one guarded statement at most (a UNION ALL of one SELECT per row); larger batches
#: take the general path, where round trips matter less than the rows.
MAX_ROWS = 100

#: Marks of `lock_active_run`, never repeated in a process (connections are not shared).
_marks = itertools.count(1)


class OneQueryTransaction:
    """Statements of one transaction, rendered by the driver, sent with COMMIT at once."""

    def __init__(self, cursor: Any) -> None:
        self._cursor = cursor
        self.statements: list[str] = []
        #: SQL true in this transaction's statements after `lock_active_run` found the run active.
        self.run_is_active = "FALSE"

    def add(self, sql: str, parameters: Sequence[Any] | Mapping[str, Any] = ()) -> int:
        """Append a statement (`%s` placeholders and a sequence, or `%(name)s` ones and a
        mapping, as SQLAlchemy compiles for PyMySQL); its index in `run_as_one_query`'s results."""
        if parameters:
            values = parameters if isinstance(parameters, Mapping) else tuple(parameters)
            sql = self._cursor.mogrify(sql, values)
        self.statements.append(sql)
        return len(self.statements) - 1

    def add_rows_if(
        self,
        insert_head: str,
        rows: Sequence[Sequence[Any]],
        on_duplicate: str,
        condition: str,
        condition_parameters: Sequence[Any] = (),
        *,
        of_run: bool = False,
        lock_run: bool = False,
    ) -> int:
        """`insert_head` `rows` `on_duplicate`, with no row written unless `condition` holds: a
        condition on the session (FROM DUAL), or with `of_run` on the row of `runs` it picks
        (with `lock_run` read under a shared lock held until the COMMIT).

        One row is a plain `SELECT values FROM … WHERE`; more are a UNION ALL in a derived
        table (MySQL wants one for ON DUPLICATE KEY UPDATE after a UNION) filtered or joined.
        """
        width = len(rows[0])
        values = [value for row in rows for value in row]
        if len(rows) == 1:
            source = "runs" if of_run else "DUAL"
            select = f"SELECT {', '.join(['%s'] * width)} FROM {source} WHERE {condition}"
        else:
            first = "SELECT " + ", ".join(f"%s AS c{i}" for i in range(width))
            more = " UNION ALL SELECT " + ", ".join(["%s"] * width)
            join = f"JOIN runs ON {condition}" if of_run else f"WHERE {condition}"
            select = f"SELECT guarded.* FROM ({first}{more * (len(rows) - 1)}) AS guarded {join}"
        if lock_run:
            select += " LOCK IN SHARE MODE"
        return self.add(f"{insert_head} {select} {on_duplicate}", [*values, *condition_parameters])

    def add_rows_if_run_active(
        self, insert_head: str, rows: Sequence[Sequence[Any]], on_duplicate: str, run_id: str
    ) -> int:
        """`add_rows_if`, written only if the run exists and is active, read under a shared lock
        on its row until the COMMIT (a concurrent delete or restore waits for it): the guard of
        a transaction in its first write, without `lock_active_run`'s statement. Its result's
        row count: at least 1 if the run was active (one per row, as the engine asks for
        CLIENT_FOUND_ROWS: a row already there and left as it was counts too), else 0."""
        condition = "runs.run_uuid = %s AND runs.lifecycle_stage = %s"
        return self.add_rows_if(insert_head, rows, on_duplicate, condition, (run_id, ACTIVE),
                                of_run=True, lock_run=True)  # fmt: skip

    def add_rows_if_previous_wrote(
        self, insert_head: str, rows: Sequence[Sequence[Any]], on_duplicate: str
    ) -> int:
        """`add_rows_if`, written only if the statement just before it counted a row
        (`ROW_COUNT()`: the affected rows of the previous statement of the session), i.e. after
        `add_rows_if_run_active` found the run active."""
        return self.add_rows_if(insert_head, rows, on_duplicate, "ROW_COUNT() > 0")

    def add_rows_if_active(
        self, insert_head: str, rows: Sequence[Sequence[Any]], on_duplicate: str
    ) -> int:
        """`add_rows_if`, written only if `lock_active_run` found the run active."""
        return self.add_rows_if(insert_head, rows, on_duplicate, self.run_is_active)

    def lock_active_run(self, run_id: str) -> int:
        """Note in the session whether the run is active, under a shared lock on its row held
        until the COMMIT (a concurrent delete or restore waits: every statement of the transaction
        sees the same stage). Its result's row count: 1 if active, else 0. No result set: a
        SELECT … INTO costs the client no column descriptions to parse. A transaction whose
        first statement writes rows can guard that one instead (`add_rows_if_run_active`).

        The session variable gets a mark new to this transaction rather than 1: a value left by an
        earlier transaction on the same connection can never pass for this one's, so no statement
        has to reset it first (one statement fewer on every LogMetric).
        """
        mark = next(_marks)
        self.run_is_active = f"@mlgrpc_active_run = {mark:d}"
        return self.add(
            f"SELECT {mark:d} INTO @mlgrpc_active_run FROM runs "
            "WHERE run_uuid = %s AND lifecycle_stage = %s LOCK IN SHARE MODE",
            (run_id, ACTIVE),
        )


Result = tuple[int, tuple[tuple[Any, ...], ...]]
R = TypeVar("R")


def run_as_one_query(
    engine: Engine | ThreadConnections, build: Callable[[OneQueryTransaction], object]
) -> list[Result]:
    """Check out a connection of `engine` (a MULTI_STATEMENTS one), let `build(transaction)`
    fill a OneQueryTransaction, send its statements and COMMIT as one query; (affected rows,
    rows) per statement. Checkout, errors and the connection's fate: see `send_script`."""
    statements: list[str] = []

    def render(cursor: Any) -> str:
        transaction = OneQueryTransaction(cursor)
        build(transaction)
        statements.extend(transaction.statements)
        return ";\n".join([*transaction.statements, "COMMIT"])

    def read_all(cursor: Any) -> list[Result]:
        results: list[Result] = [(cursor.rowcount, cursor.fetchall())]
        while cursor.nextset():
            results.append((cursor.rowcount, cursor.fetchall()))
        return results

    return send_script(engine, render, read_all)[: len(statements)]


def send_script(
    engine: Engine | ThreadConnections, render: Callable[[Any], str], read: Callable[[Any], R]
) -> R:
    """Check out a connection of `engine` (a MULTI_STATEMENTS one), send the script
    `render(cursor)` (statements ending with their COMMIT, values rendered by the driver's
    `cursor.mogrify`) as one query, and answer `read(cursor)`, which must read every result.

    The connection is the pool's DBAPI one (`engine.raw_connection()`: the pool's checkout and
    checkin events, idle pings included, as with `engine.connect()`), without a SQLAlchemy
    `Connection` around it: that wrapper, built and closed on every call, was 0.02-0.05 ms of
    the store's 0.26-0.30 ms of CPU per LogMetric (bench/README.md), and nothing here uses it.
    Given `ThreadConnections` instead of an engine: the connection this thread kept from its
    last call, if any (see `mysql_thread_connections.py`), kept again after a call that worked.

    Every DBAPI error, at checkout as while the query runs, is raised as SQLAlchemy raises it
    from `engine.connect()` and `execute` (OperationalError, IntegrityError, …): a database
    that cannot be reached stays UNAVAILABLE for the service, never a driver error it does not
    know. After a failed statement the transaction is rolled back; a connection that is gone,
    or left in a state that cannot be known (any other exception while the query ran), is
    invalidated, so that the pool replaces it and `with_retry` can repeat the call.
    """
    connections = engine if isinstance(engine, ThreadConnections) else None
    dialect = engine.engine.dialect if isinstance(engine, ThreadConnections) else engine.dialect
    dbapi_error: type[Exception] = dialect.loaded_dbapi.Error
    try:
        pooled: Any = connections.acquire() if connections else engine.raw_connection()  # type: ignore[union-attr]
    except dbapi_error as error:
        raise _translated(error, None, dialect) from error
    answered = False
    try:
        cursor = pooled.dbapi_connection.cursor()
        sql = render(cursor)
        try:
            cursor.execute(sql)
            answer = read(cursor)
            answered = True
            return answer
        except dbapi_error as error:
            invalidated = _end_failed(dialect, pooled, cursor, error)
            raise _translated(error, sql, dialect, invalidated=invalidated) from error
        except BaseException as error:
            pooled.invalidate(error)  # stopped halfway through the results: not reusable
            raise
        finally:
            cursor.close()
    finally:
        if connections is not None:  # kept for this thread's next call, or back to the pool
            connections.release(pooled, reusable=answered)
        else:
            pooled.close()  # back to the pool (or away, if invalidated)


def _translated(
    error: Exception, sql: str | None, dialect: Any, *, invalidated: bool | None = None
) -> sa_exc.DBAPIError:
    """`error` as SQLAlchemy's own wrapper of it (OperationalError for a driver's
    OperationalError, …), as `Connection` raises it."""
    if invalidated is None:
        invalidated = bool(dialect.is_disconnect(error, None, None))
    return sa_exc.DBAPIError.instance(
        sql, None, error, dialect.loaded_dbapi.Error, connection_invalidated=invalidated,
        dialect=dialect,
    )  # fmt: skip


def _end_failed(dialect: Any, pooled: Any, cursor: Any, error: Exception) -> bool:
    """Roll back after a failed statement (the later ones, and the COMMIT, never ran); whether
    the connection had to be invalidated instead."""
    if dialect.is_disconnect(error, pooled.dbapi_connection, cursor):
        pooled.invalidate(error)
        return True
    try:
        pooled.dbapi_connection.rollback()
    except dialect.loaded_dbapi.Error as rollback_error:
        pooled.invalidate(rollback_error)
        return True
    return False
