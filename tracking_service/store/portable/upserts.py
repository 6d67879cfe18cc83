"""Bulk writes of the portable path (each database's INSERT … ON CONFLICT / ON DUPLICATE KEY
form), with no ORM objects and no per-row dicts. The MySQL cursor writes are in `dialects/`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Table, tuple_
from sqlalchemy.dialects import mysql, postgresql, sqlite

from tracking_service.store.portable.tables import LatestMetricRow, MetricRow

# Rows of the metrics table, in this column order: run_uuid, key, step, timestamp, value, kind.
MetricTuple = tuple[str, str, int, int, float, int]

# max_allowed_packet is 16 MiB by default on MariaDB (64 MiB on MySQL 8): 5,000 rows of
# 250-character keys stay far below it.
MYSQL_ROWS_PER_STATEMENT = 5000
_SQLITE_METRICS = (
    'INSERT OR IGNORE INTO metrics (run_uuid, "key", step, "timestamp", value, value_kind) '
    "VALUES (?, ?, ?, ?, ?, ?)"
)

# MySQL applies the SET assignments left to right and later ones see the updated columns.
# The condition compares (step, timestamp, value); updating value_kind, value, timestamp, step
# in this order keeps each evaluation equivalent to the original one (a lexicographic compare
# only changes its answer once the higher-order columns have been updated, and then the
# lower-order ones are already equal).
_NEWER = "(VALUES(step), VALUES(`timestamp`), VALUES(value)) > (step, `timestamp`, value)"
MYSQL_LATEST_COLUMNS = (
    "INSERT INTO latest_metrics (run_uuid, `key`, step, `timestamp`, value, value_kind)"
)
MYSQL_LATEST_ON_DUPLICATE = (
    "ON DUPLICATE KEY UPDATE "
    f"value_kind = IF({_NEWER}, VALUES(value_kind), value_kind), "
    f"value = IF({_NEWER}, VALUES(value), value), "
    f"`timestamp` = IF({_NEWER}, VALUES(`timestamp`), `timestamp`), "
    f"step = IF({_NEWER}, VALUES(step), step)"
)
MYSQL_LATEST_UPSERT = (
    f"{MYSQL_LATEST_COLUMNS} VALUES (%s, %s, %s, %s, %s, %s) {MYSQL_LATEST_ON_DUPLICATE}"
)
_SQLITE_LATEST = (
    'INSERT INTO latest_metrics (run_uuid, "key", step, "timestamp", value, value_kind) '
    "VALUES (?, ?, ?, ?, ?, ?) "
    'ON CONFLICT (run_uuid, "key") DO UPDATE SET step = excluded.step, '
    '"timestamp" = excluded."timestamp", value = excluded.value, '
    "value_kind = excluded.value_kind "
    'WHERE (excluded.step, excluded."timestamp", excluded.value) > '
    '(latest_metrics.step, latest_metrics."timestamp", latest_metrics.value)'
)


_METRIC_COLUMNS = ("run_uuid", "key", "step", "timestamp", "value", "value_kind")


def conflict_insert(connection: Connection, table: Table) -> Any:
    """An INSERT of `table` with `ON CONFLICT` clauses: SQLite's and PostgreSQL's take the same
    arguments (`on_conflict_do_nothing`, `on_conflict_do_update`, `excluded`)."""
    if connection.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def _as_dicts(rows: Sequence[MetricTuple]) -> list[dict[str, Any]]:
    return [dict(zip(_METRIC_COLUMNS, row, strict=True)) for row in rows]


def insert_metric_history(connection: Connection, rows: Sequence[MetricTuple]) -> None:
    """Append points; an identical point logged again is a no-op (the row is the key)."""
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql(_SQLITE_METRICS, list(rows))
        return
    if connection.dialect.name == "postgresql":
        table: Table = MetricRow.__table__  # type: ignore[assignment]
        statement = conflict_insert(connection, table).on_conflict_do_nothing()
        connection.execute(statement, _as_dicts(rows))
        return
    for start in range(0, len(rows), MYSQL_ROWS_PER_STATEMENT):
        chunk = rows[start : start + MYSQL_ROWS_PER_STATEMENT]
        connection.exec_driver_sql(*mysql_metrics_insert(chunk))


def mysql_metrics_insert(rows: Sequence[MetricTuple]) -> tuple[str, dict[str, str]]:
    """One multi-row INSERT and its parameters: each distinct run id and key is one named bound
    parameter, the numbers are written into the statement.

    PyMySQL's executemany escapes every value through generic converters (about 10 µs a row,
    most of the time of a 1,000-metric batch). Here the numbers have known types (ints, finite
    floats: `repr` is the shortest exact form, which MySQL reads back as the same double) and
    need no escaping; the strings, few and repeated, are bound once per distinct value.
    """
    names: dict[str, str] = {}
    parts = []
    for run_id, key, step, timestamp, value, kind in rows:
        run_name = names.get(run_id)
        if run_name is None:
            run_name = names[run_id] = f"s{len(names)}"
        key_name = names.get(key)
        if key_name is None:
            key_name = names[key] = f"s{len(names)}"
        parts.append(
            f"(%({run_name})s,%({key_name})s,{step:d},{timestamp:d},{float(value)!r},{kind:d})"
        )
    statement = (
        "INSERT INTO metrics (run_uuid, `key`, step, `timestamp`, value, value_kind) VALUES "
        + ",".join(parts)
        + " ON DUPLICATE KEY UPDATE value_kind = value_kind"
    )
    return statement, {name: text for text, name in names.items()}


def upsert_latest_metrics(connection: Connection, rows: Sequence[MetricTuple]) -> None:
    """Keep, per key, the point with the greatest (step, timestamp, value).

    `rows` must hold one candidate per key, sorted by key, so that concurrent batches lock
    latest_metrics rows in one order (no deadlocks between them).
    """
    if connection.dialect.name == "postgresql":
        table: Table = LatestMetricRow.__table__  # type: ignore[assignment]
        insert = conflict_insert(connection, table)
        new, old = insert.excluded, table.c
        statement = insert.on_conflict_do_update(
            index_elements=["run_uuid", "key"],
            set_={name: new[name] for name in ("step", "timestamp", "value", "value_kind")},
            where=tuple_(new.step, new.timestamp, new.value)
            > tuple_(old.step, old.timestamp, old.value),
        )
        connection.execute(statement, _as_dicts(rows))
        return
    sql = _SQLITE_LATEST if connection.dialect.name == "sqlite" else MYSQL_LATEST_UPSERT
    connection.exec_driver_sql(sql, list(rows))


def upsert_rows(
    connection: Connection,
    table: Table,
    rows: Sequence[dict[str, Any]],
    key_columns: Sequence[str],
    update_columns: Sequence[str],
) -> None:
    """Insert `rows`, overwriting `update_columns` of rows that already exist."""
    if not rows:
        return
    if connection.dialect.name in ("sqlite", "postgresql"):
        lite = conflict_insert(connection, table)
        statement: Any = lite.on_conflict_do_update(
            index_elements=list(key_columns),
            set_={name: lite.excluded[name] for name in update_columns},
        )
    else:
        my = mysql.insert(table)
        statement = my.on_duplicate_key_update(
            [(name, my.inserted[name]) for name in update_columns]
        )
    connection.execute(statement, list(rows))
