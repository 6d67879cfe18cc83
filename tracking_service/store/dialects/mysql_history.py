"""MariaDB: a page of one metric's history as four texts the server writes, parsed by numpy."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Engine

from tracking_service.store.portable.base import driver_sql
from tracking_service.store.portable.metric_history import HistoryColumns

RUN_EXISTS = "SELECT 1 FROM runs WHERE run_uuid = %s"
# The largest history page as text: 25,001 points of at most ~70 characters.
_HISTORY_TEXT_LENGTH = 4 * 1024 * 1024


def history_texts_query(dialect_of: Connection | Engine, statement: Any) -> tuple[str, Any]:
    """The statement that reads the rows of `statement` (step, timestamp, value, value_kind)
    as four texts, one per column, and its parameters; `columns_of_texts` parses them.

    PyMySQL parses each row of a result in Python, 3-7 µs a row: most of the time of a
    10,000-point history. The server instead writes each column of the page as one
    comma-separated text (GROUP_CONCATs over the same scan of the page, so the four keep one
    order), which numpy parses in C. A DOUBLE becomes the same shortest round-trip text as in
    a result row, so the values are exact. MariaDB only: the length limit is raised for this
    statement alone with `SET STATEMENT … FOR`.

    The page's rows are chosen by the ORDER BY … LIMIT of `statement`, but the concatenations
    have no ORDER BY of their own: sorting in GROUP_CONCAT took ~40 % of the server's time for
    a 10,000-point page, while checking the order here is one vectorised pass (the rows come
    in order; they are sorted here only if they ever do not).
    """
    sql, parameters = driver_sql(dialect_of, statement)
    text = (
        f"SET STATEMENT group_concat_max_len = {_HISTORY_TEXT_LENGTH} FOR "
        "SELECT GROUP_CONCAT(step), GROUP_CONCAT(`timestamp`), GROUP_CONCAT(value), "
        f"GROUP_CONCAT(value_kind) FROM ({sql}) AS page"
    )
    return text, parameters


def columns_of_texts(texts: Sequence[str | None]) -> HistoryColumns:
    """The columns of a `history_texts_query` result, in the page's order."""
    import numpy as np  # the tracking service needs numpy only here

    if texts[0] is None:  # no points
        return HistoryColumns.of_rows([])
    steps, timestamps, values, kinds = (
        np.fromstring(text, dtype=dtype, sep=",")  # type: ignore[call-overload]
        for text, dtype in zip(texts, (np.int64, np.int64, np.float64, np.int16), strict=True)
    )
    # Never cut (a column of 25,001 points is at most ~600 KB of the 4 MiB limit), but a cut
    # text would lose points silently: refuse to answer rather than answer less.
    if not len(steps) == len(timestamps) == len(values) == len(kinds):
        raise RuntimeError("metric history texts of different lengths: one was cut")
    # In order when each point's (step, timestamp, value, kind) is >= the one before it
    # (compared, not subtracted: a difference of two int64 steps can overflow).
    if len(steps) > 1:

        def after(column: np.ndarray) -> np.ndarray:
            return column[1:] > column[:-1]  # type: ignore[no-any-return]

        def same(column: np.ndarray) -> np.ndarray:
            return column[1:] == column[:-1]  # type: ignore[no-any-return]

        last = kinds[1:] >= kinds[:-1]
        ordered = after(steps) | (
            same(steps)
            & (after(timestamps) | (same(timestamps) & (after(values) | (same(values) & last))))
        )
        if not ordered.all():
            order = np.lexsort((kinds, values, timestamps, steps))
            steps, timestamps, values, kinds = (
                c[order] for c in (steps, timestamps, values, kinds)
            )
    return HistoryColumns(steps, timestamps, values, kinds)
