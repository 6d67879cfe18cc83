"""LogBatch on MySQL/MariaDB in the fewest round trips, through the DBAPI cursor.

Batches of up to `mysql_one_query.MAX_ROWS` metrics (LogMetric among them) are written in one round
trip by `add_log_batch` (see `mysql_one_query.py`); `log_batch` is the path of larger batches, and
of the rare cases the one query hands back (a param or batch id logged before). The guard: the first
write of the batch is an `INSERT … SELECT` that only yields its rows if the run exists and is active
(a join with `runs`), which spares the `SELECT lifecycle_stage` round trip; when it writes nothing,
a SELECT tells NotFound from FailedPrecondition and the transaction rolls back.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy.exc import IntegrityError

from tracking_service.domain import ACTIVE, RUN_NAME_TAG
from tracking_service.store import rules as v
from tracking_service.store.dialects import mysql_one_query
from tracking_service.store.dialects.mysql_cursor import DriverCursor
from tracking_service.store.dialects.mysql_metric_sql import (
    MYSQL_LATEST_COLUMNS,
    MYSQL_LATEST_ON_DUPLICATE,
    MYSQL_LATEST_UPSERT,
    MYSQL_METRIC_COLUMNS,
    MYSQL_METRICS_ON_DUPLICATE,
    MYSQL_ROWS_PER_STATEMENT,
    mysql_metrics_insert,
)
from tracking_service.store.rules import (
    BatchOutcome,
    MetricTuple,
    ParamValues,
    check_params_unchanged,
    now_ms,
    replay_of,
)

_INSERT_PARAMS = "INSERT INTO params (run_uuid, `key`, value) VALUES (%s, %s, %s)"
_TAG_COLUMNS = "INSERT INTO tags (run_uuid, `key`, value)"
_PARAM_COLUMNS = "INSERT INTO params (run_uuid, `key`, value)"
_TAGS_ON_DUPLICATE = "ON DUPLICATE KEY UPDATE value = VALUES(value)"
_UPSERT_TAGS = f"{_TAG_COLUMNS} VALUES (%s, %s, %s) {_TAGS_ON_DUPLICATE}"
_RENAME_RUN = "UPDATE runs SET name = %s WHERE run_uuid = %s"
_DUPLICATE_KEY = 1062
#: Rows of a guarded upsert at most (a UNION ALL of one SELECT per row): a batch's tags, or
#: the latest values of a batch with few keys. Larger batches check the run with a SELECT.
_MAX_GUARDED_ROWS = v.MAX_PARAMS_TAGS_PER_BATCH


def log_batch(
    cursor: DriverCursor,
    run_id: str,
    metric_rows: Sequence[MetricTuple],
    latest_rows: Sequence[MetricTuple],
    params: ParamValues,
    tags: dict[str, str],
    require_active_run: Callable[[DriverCursor, str], None],
) -> None:
    """Write a validated batch in the caller's transaction; raise if the run is not active."""
    tag_rows = [(run_id, key, value) for key, value in sorted(tags.items())]
    guarded_latest = bool(latest_rows) and len(latest_rows) <= _MAX_GUARDED_ROWS
    guarded_tags = not guarded_latest and bool(tag_rows)
    if guarded_latest:
        _guarded_upsert(cursor, run_id, MYSQL_LATEST_COLUMNS, latest_rows,
                        MYSQL_LATEST_ON_DUPLICATE, require_active_run)  # fmt: skip
    elif guarded_tags:
        _guarded_upsert(cursor, run_id, _TAG_COLUMNS, tag_rows, _TAGS_ON_DUPLICATE,
                        require_active_run)  # fmt: skip
    else:
        require_active_run(cursor, run_id)
    if params:
        _write_params(cursor, run_id, params)
    if tag_rows and not guarded_tags:
        cursor.executemany(_UPSERT_TAGS, tag_rows)
    if RUN_NAME_TAG in tags:
        name = v.check_string(tags[RUN_NAME_TAG], f"tags[{RUN_NAME_TAG!r}].value",
                              v.MAX_RUN_NAME_LENGTH)  # fmt: skip
        cursor.execute(_RENAME_RUN, (name, run_id))
    if metric_rows:
        insert_metric_history(cursor, metric_rows)
        if not guarded_latest:
            upsert_latest_metrics(cursor, latest_rows)


def _guarded_upsert(
    cursor: DriverCursor,
    run_id: str,
    insert_head: str,
    rows: Sequence[Sequence[Any]],
    on_duplicate: str,
    require_active_run: Callable[[DriverCursor, str], None],
) -> None:
    """`insert_head` `rows` `on_duplicate`, written only if the run exists and is active.

    The rows come from a derived table (MySQL wants one for ON DUPLICATE KEY UPDATE after a
    UNION), joined with the run's row. Affected rows count at least one per row written, as the
    dialect asks for CLIENT_FOUND_ROWS; zero means the join found no active run — or, without
    that flag, rows that were already up to date, so then the check and the write run again.
    """
    width = len(rows[0])
    first = "SELECT " + ", ".join(f"%s AS c{i}" for i in range(width))
    more = " UNION ALL SELECT " + ", ".join(["%s"] * width)
    sql = (
        f"{insert_head} SELECT guarded.* FROM ({first}{more * (len(rows) - 1)}) AS guarded "
        f"JOIN runs ON runs.run_uuid = %s AND runs.lifecycle_stage = %s {on_duplicate}"
    )
    parameters = [value for row in rows for value in row]
    parameters += [run_id, ACTIVE]
    if cursor.execute(sql, parameters) == 0:
        require_active_run(cursor, run_id)  # raises NotFound or FailedPrecondition
        # Active after all (restored meanwhile, or rows already current): write unguarded.
        values = "(" + ", ".join(["%s"] * width) + ")"
        cursor.executemany(f"{insert_head} VALUES {values} {on_duplicate}", rows)


def _write_params(cursor: DriverCursor, run_id: str, params: ParamValues) -> None:
    """Insert the params at once; only if one of them exists already (a failed statement, which
    MySQL undoes alone: the transaction goes on) compare with what is stored and insert the
    rest. A new run's params thus cost one round trip instead of a SELECT and an INSERT."""
    rows = [(run_id, key, value) for key, (_, value) in sorted(params.items())]
    try:
        cursor.executemany(_INSERT_PARAMS, rows)
        return
    except IntegrityError as error:
        if getattr(error.orig, "args", (None,))[0] != _DUPLICATE_KEY:
            raise
    marks = ", ".join(["%s"] * len(params))
    cursor.execute(
        f"SELECT `key`, value FROM params WHERE run_uuid = %s AND `key` IN ({marks})",
        (run_id, *params),
    )
    existing = dict(cursor.fetchall())
    check_params_unchanged(run_id, params, existing)
    missing = [row for row in rows if row[1] not in existing]
    if missing:
        cursor.executemany(_INSERT_PARAMS, missing)


_CLAIM_BATCH = "INSERT INTO applied_batches (batch_id, run_uuid, rows_written, created_time)"
# + the condition of `OneQueryTransaction.lock_active_run`
_RENAME_RUN_IF = "UPDATE runs SET name = %s WHERE run_uuid = %s AND "


def add_log_batch(
    transaction: mysql_one_query.OneQueryTransaction,
    run_id: str,
    metric_rows: Sequence[MetricTuple],
    latest_rows: Sequence[MetricTuple],
    params: ParamValues,
    tags: dict[str, str],
    batch_id: str,
    rows_written: int,
) -> int:
    """The statements of a validated batch for one round trip (see `mysql_one_query`); the index of
    the result whose row count is over 0 if the run was active (and the batch written), else 0.

    A param logged before, or a batch id seen before, fails its INSERT on the primary key
    (IntegrityError): the caller then takes the general path, which compares the values or
    answers the replay.
    """
    kinds = bool(metric_rows) + bool(params) + bool(tags)
    if kinds == 1 and not batch_id and RUN_NAME_TAG not in tags:
        return _add_one_kind(transaction, run_id, metric_rows, latest_rows, params, tags)
    active = transaction.lock_active_run(run_id)
    if batch_id:  # first, as in the general path: a replay must not have written anything
        claim = [(batch_id, run_id, rows_written, now_ms())]
        transaction.add_rows_if_active(_CLAIM_BATCH, claim, "")
    if params:
        rows = [(run_id, key, value) for key, (_, value) in sorted(params.items())]
        transaction.add_rows_if_active(_PARAM_COLUMNS, rows, "")
    if tags:
        rows = [(run_id, key, value) for key, value in sorted(tags.items())]
        transaction.add_rows_if_active(_TAG_COLUMNS, rows, _TAGS_ON_DUPLICATE)
        if RUN_NAME_TAG in tags:
            name = v.check_string(tags[RUN_NAME_TAG], f"tags[{RUN_NAME_TAG!r}].value",
                                  v.MAX_RUN_NAME_LENGTH)  # fmt: skip
            transaction.add(_RENAME_RUN_IF + transaction.run_is_active, (name, run_id))
    if metric_rows:
        transaction.add_rows_if_active(MYSQL_LATEST_COLUMNS, latest_rows, MYSQL_LATEST_ON_DUPLICATE)
        transaction.add_rows_if_active(
            MYSQL_METRIC_COLUMNS, metric_rows, MYSQL_METRICS_ON_DUPLICATE
        )
    return active


def _add_one_kind(
    transaction: mysql_one_query.OneQueryTransaction,
    run_id: str,
    metric_rows: Sequence[MetricTuple],
    latest_rows: Sequence[MetricTuple],
    params: ParamValues,
    tags: dict[str, str],
) -> int:
    """A batch of metrics only (LogMetric), params only (LogParam) or tags only (SetTag, no run
    name): its first INSERT checks and locks the run itself, instead of a statement of its own
    before it (`lock_active_run`); a metric's latest value follows only if its history row was
    written. One statement fewer: LogMetric's script through bare PyMySQL, 300 interleaved
    rounds, 0.43-0.51 ms instead of 0.48-0.56 (bench/README.md)."""
    if metric_rows:
        active = transaction.add_rows_if_run_active(MYSQL_METRIC_COLUMNS, metric_rows,
                                                    MYSQL_METRICS_ON_DUPLICATE, run_id)  # fmt: skip
        transaction.add_rows_if_previous_wrote(MYSQL_LATEST_COLUMNS, latest_rows,
                                               MYSQL_LATEST_ON_DUPLICATE)  # fmt: skip
        return active
    if params:
        rows = [(run_id, key, value) for key, (_, value) in sorted(params.items())]
        return transaction.add_rows_if_run_active(_PARAM_COLUMNS, rows, "", run_id)
    rows = [(run_id, key, value) for key, value in sorted(tags.items())]
    return transaction.add_rows_if_run_active(_TAG_COLUMNS, rows, _TAGS_ON_DUPLICATE, run_id)


def insert_metric_history(cursor: DriverCursor, rows: Sequence[MetricTuple]) -> None:
    """`insert_metric_history` on MySQL, through the transaction's DBAPI cursor."""
    for start in range(0, len(rows), MYSQL_ROWS_PER_STATEMENT):
        chunk = rows[start : start + MYSQL_ROWS_PER_STATEMENT]
        cursor.execute(*mysql_metrics_insert(chunk))


def upsert_latest_metrics(cursor: DriverCursor, rows: Sequence[MetricTuple]) -> None:
    """`upsert_latest_metrics` on MySQL, through the transaction's DBAPI cursor."""
    cursor.executemany(MYSQL_LATEST_UPSERT, rows)


_DUPLICATE_BATCH = 1062
_NO_REFERENCED_ROW = 1452
_INSERT_BATCH_ID = (
    "INSERT INTO applied_batches (batch_id, run_uuid, rows_written, created_time) "
    "VALUES (%s, %s, %s, %s)"
)
_SELECT_BATCH_ID = "SELECT run_uuid, rows_written FROM applied_batches WHERE batch_id = %s"


def record_batch_id(
    cursor: DriverCursor,
    batch_id: str,
    run_id: str,
    rows: int,
    require_active_run: Callable[[DriverCursor, str], None],
) -> BatchOutcome | None:
    """`batch_ids.record_batch_id` through the transaction's DBAPI cursor: one INSERT for a
    new batch. A failed INSERT is undone alone by InnoDB; the transaction goes on."""
    try:
        cursor.execute(_INSERT_BATCH_ID, (batch_id, run_id, rows, now_ms()))
        return None
    except IntegrityError as error:
        code = getattr(error.orig, "args", (None,))[0]
        if code == _NO_REFERENCED_ROW:  # no such run: NotFound, as without a batch id
            require_active_run(cursor, run_id)
        if code != _DUPLICATE_BATCH:
            raise
    cursor.execute(_SELECT_BATCH_ID, (batch_id,))
    found = cursor.fetchall()
    return replay_of(batch_id, run_id, (found[0][0], found[0][1]) if found else None)
