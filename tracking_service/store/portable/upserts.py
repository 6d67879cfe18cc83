"""Writes that meet rows already there: insert unless present, insert or update, claim a key,
delete the oldest rows of a range. SQL has no portable form for these; SQLAlchemy has each
database's (`on_conflict_do_*` on SQLite and PostgreSQL, `on_duplicate_key_update` on MySQL and
MariaDB). `ConflictWrites` is the one interface the portable store writes through, and
`conflict_writes_for` picks its implementation once, at start-up, from the engine's dialect name:
the one place in `portable/` that tells databases apart. Bound parameters only; the MySQL fast
paths' own SQL text is in `dialects/mysql_metric_sql.py`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import cache
from typing import Any, Protocol
from weakref import WeakKeyDictionary

from sqlalchemy import (
    ColumnElement,
    Connection,
    Dialect,
    Engine,
    Table,
    delete,
    func,
    select,
    tuple_,
)
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.dml import Delete, Insert

from tracking_service.store.portable.tables import LatestMetricRow, MetricRow
from tracking_service.store.rules import MetricTuple

_METRIC_COLUMNS = ("run_uuid", "key", "step", "timestamp", "value", "value_kind")
#: the columns that order two points of one key (the latest point has the greatest)
_POINT_ORDER = ("step", "timestamp", "value")


class ConflictWrites(Protocol):
    """One database's way of writing rows that may already exist (each key is the table's
    primary key or a unique index). The statements are built once per shape (cached: building
    and hashing a statement costs more than a one-row write on SQLite); give tuples."""

    def insert_unless_present(self, table: Table) -> Insert:
        """An INSERT that skips each row whose key is already in `table`."""
        ...

    def upsert(
        self,
        table: Table,
        key_columns: Sequence[str],
        update_columns: Sequence[str],
        *,
        only_if_greater: Sequence[str] = (),
    ) -> Insert:
        """An INSERT that overwrites `update_columns` of a row whose key is already there;
        with `only_if_greater`, only when the new row's tuple of those columns is greater than
        the stored row's (all of them must be in `update_columns`)."""
        ...

    def claim(
        self, connection: Connection, table: Table, values: Mapping[str, Any], key: str
    ) -> bool:
        """Insert the row `values` in the transaction of `connection`: True, or False (and
        nothing written) if its `key` is taken. A claim racing an uncommitted one waits for it."""
        ...

    def delete_oldest(
        self, table: Table, condition: ColumnElement[bool], order_by: Any, key: str, limit: int
    ) -> Delete:
        """A DELETE of at most `limit` rows matching `condition` (the first by `order_by` where
        the database allows choosing them)."""
        ...


class OnConflictWrites:
    """SQLite's and PostgreSQL's `INSERT … ON CONFLICT`: the same arguments on both."""

    def __init__(self, insert: Callable[[Table], Any]) -> None:
        self._insert = insert

    @cache  # noqa: B019 - the instances are the three of _BY_DIALECT, never freed
    def insert_unless_present(self, table: Table) -> Insert:
        statement: Insert = self._insert(table).on_conflict_do_nothing()
        return statement

    @cache  # noqa: B019 - the instances are the three of _BY_DIALECT, never freed
    def upsert(
        self,
        table: Table,
        key_columns: Sequence[str],
        update_columns: Sequence[str],
        *,
        only_if_greater: Sequence[str] = (),
    ) -> Insert:
        insert = self._insert(table)
        new = insert.excluded
        where = None
        if only_if_greater:
            where = tuple_(*(new[name] for name in only_if_greater)) > tuple_(
                *(table.c[name] for name in only_if_greater)
            )
        statement: Insert = insert.on_conflict_do_update(
            index_elements=list(key_columns),
            set_={name: new[name] for name in update_columns},
            where=where,
        )
        return statement

    def claim(
        self, connection: Connection, table: Table, values: Mapping[str, Any], key: str
    ) -> bool:
        statement = (
            self._insert(table)
            .values(dict(values))
            .on_conflict_do_nothing(index_elements=[key])
            # RETURNING, not rowcount: psycopg reports -1 for some INSERT … ON CONFLICT.
            .returning(table.c[key])
        )
        return connection.execute(statement).first() is not None

    def delete_oldest(
        self, table: Table, condition: ColumnElement[bool], order_by: Any, key: str, limit: int
    ) -> Delete:
        oldest = select(table.c[key]).where(condition).order_by(order_by).limit(limit)
        return delete(table).where(table.c[key].in_(oldest.scalar_subquery()))


class OnDuplicateKeyWrites:
    """MySQL's and MariaDB's `INSERT … ON DUPLICATE KEY UPDATE` (no ON CONFLICT, no RETURNING
    on MySQL, no LIMIT in an IN subquery)."""

    @cache  # noqa: B019 - the instances are the three of _BY_DIALECT, never freed
    def insert_unless_present(self, table: Table) -> Insert:
        # A no-op assignment, not INSERT IGNORE: that would also turn other errors (a value too
        # long) into warnings.
        keys = table.primary_key.columns
        column = next((c for c in table.c if c.name not in keys), next(iter(keys)))
        statement: Insert = mysql.insert(table).on_duplicate_key_update(
            {column.name: table.c[column.name]}
        )
        return statement

    @cache  # noqa: B019 - the instances are the three of _BY_DIALECT, never freed
    def upsert(
        self,
        table: Table,
        key_columns: Sequence[str],
        update_columns: Sequence[str],
        *,
        only_if_greater: Sequence[str] = (),
    ) -> Insert:
        insert = mysql.insert(table)
        new, old = insert.inserted, table.c
        if not only_if_greater:
            return insert.on_duplicate_key_update([(name, new[name]) for name in update_columns])
        # MySQL applies the SET assignments left to right and later ones see the updated
        # columns. Assigning the other columns first, then the compared ones from the least to
        # the most significant, keeps each evaluation of the condition equal to the original
        # one (a lexicographic compare only changes its answer once a more significant column
        # has been updated, and then the less significant ones are already equal).
        newer = tuple_(*(new[name] for name in only_if_greater)) > tuple_(
            *(old[name] for name in only_if_greater)
        )
        others = [name for name in update_columns if name not in only_if_greater]
        order = [*others, *reversed(only_if_greater)]
        return insert.on_duplicate_key_update(
            [(name, func.if_(newer, new[name], old[name])) for name in order]
        )

    def claim(
        self, connection: Connection, table: Table, values: Mapping[str, Any], key: str
    ) -> bool:
        try:
            with connection.begin_nested():  # a savepoint: the failed INSERT alone rolls back
                connection.execute(mysql.insert(table).values(dict(values)))
            return True
        except IntegrityError:
            return False  # the key is taken (the caller checked the other constraints)

    def delete_oldest(
        self, table: Table, condition: ColumnElement[bool], order_by: Any, key: str, limit: int
    ) -> Delete:
        return delete(table).where(condition).with_dialect_options(mysql_limit=limit)


_BY_DIALECT: dict[str, ConflictWrites] = {
    "sqlite": OnConflictWrites(sqlite.insert),
    "postgresql": OnConflictWrites(postgresql.insert),
    "mysql": OnDuplicateKeyWrites(),  # MariaDB included: SQLAlchemy names its dialect mysql
}


def conflict_writes_for(bind: Engine | Connection) -> ConflictWrites:
    """The `ConflictWrites` of the database of `bind` (an unsupported one was refused when the
    store started: `mlgrpc_server.db.database_kind`)."""
    return _BY_DIALECT[bind.dialect.name]


def insert_metric_history(
    connection: Connection, writes: ConflictWrites, rows: Sequence[MetricTuple]
) -> None:
    """Append points; an identical point logged again is a no-op (the row is the key)."""
    table: Table = MetricRow.__table__  # type: ignore[assignment]
    _execute_metric_rows(connection, writes.insert_unless_present(table), rows)


def upsert_latest_metrics(
    connection: Connection, writes: ConflictWrites, rows: Sequence[MetricTuple]
) -> None:
    """Keep, per key, the point with the greatest (step, timestamp, value).

    `rows` must hold one candidate per key, sorted by key, so that concurrent batches lock
    latest_metrics rows in one order (no deadlocks between them).
    """
    table: Table = LatestMetricRow.__table__  # type: ignore[assignment]
    statement = writes.upsert(
        table, ("run_uuid", "key"), ("step", "timestamp", "value", "value_kind"),
        only_if_greater=_POINT_ORDER,
    )  # fmt: skip
    _execute_metric_rows(connection, statement, rows)


#: For each dialect (held weakly: an engine may go), each statement's SQL as its driver takes it
#: and where each positional parameter is in a MetricTuple; None for a driver of named ones.
_DRIVER_FORMS: WeakKeyDictionary[Dialect, dict[Insert, tuple[str, list[int]] | None]] = (
    WeakKeyDictionary()
)


def _execute_metric_rows(
    connection: Connection, statement: Insert, rows: Sequence[MetricTuple]
) -> None:
    """`statement` once for each of `rows`. A driver of positional parameters (SQLite's,
    PyMySQL) gets the tuples as they are, in the SQL SQLAlchemy compiled once: no dict and no
    bind processing per row, which the values (str, int, float) do not need; a 1,000-point batch
    on SQLite takes half the time. Other drivers (psycopg) get dicts through SQLAlchemy."""
    forms = _DRIVER_FORMS.setdefault(connection.dialect, {})
    if statement not in forms:
        forms[statement] = _driver_form(connection.dialect, statement)
    form = forms[statement]
    if form is None:
        connection.execute(
            statement, [dict(zip(_METRIC_COLUMNS, row, strict=True)) for row in rows]
        )
        return
    sql, order = form
    if order == list(range(len(_METRIC_COLUMNS))):
        connection.exec_driver_sql(sql, list(rows))
    else:
        connection.exec_driver_sql(sql, [tuple(row[i] for i in order) for row in rows])


def _driver_form(dialect: Dialect, statement: Insert) -> tuple[str, list[int]] | None:
    compiled = statement.compile(dialect=dialect)
    names = list(compiled.positiontup or ()) if compiled.positional else []
    if sorted(names) != sorted(_METRIC_COLUMNS):
        return None  # named parameters, or binds besides the row's: through SQLAlchemy
    return str(compiled), [_METRIC_COLUMNS.index(name) for name in names]


def upsert_rows(
    connection: Connection,
    writes: ConflictWrites,
    table: Table,
    rows: Sequence[dict[str, Any]],
    key_columns: Sequence[str],
    update_columns: Sequence[str],
) -> None:
    """Insert `rows`, overwriting `update_columns` of rows that already exist."""
    if rows:
        connection.execute(writes.upsert(table, key_columns, update_columns), list(rows))
