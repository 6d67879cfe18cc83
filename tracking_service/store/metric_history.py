"""Reading one metric's history: keyset pages ordered by (step, timestamp), as Metric objects,
as (value, timestamp, step) tuples, or as three parallel columns (`MetricSeries`).

Every reader goes through `_history_page`, which returns the page as columns: steps,
timestamps, stored values and value kinds, in the page's order. Columns suit all three
shapes, and on MariaDB they come straight from the server's text (see `_mariadb_columns`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, select

from mlgrpc_server.db import with_retry
from mlgrpc_server.errors import NotFound
from mlgrpc_server.paging import after_row, decode_token, encode_token, query_fingerprint
from tracking_service.domain import Metric, MetricSeries, Page
from tracking_service.store import one_trip
from tracking_service.store import validation as v
from tracking_service.store.base import (
    StoreBase,
    check_run_id,
    driver_sql,
    fetch_tuples,
    make_metric,
)
from tracking_service.store.models import (
    VALUE_FINITE,
    VALUE_NAN,
    VALUE_NEG_INF,
    VALUE_POS_INF,
    MetricRow,
)

if TYPE_CHECKING:
    import numpy as np

MAX_HISTORY_PER_PAGE = 25000
#: A point of one metric's history: value, timestamp, step.
MetricPoint = tuple[float, int, int]

_RUN_EXISTS = "SELECT 1 FROM runs WHERE run_uuid = %s"
# The largest history page as text: 25,001 points of at most ~70 characters.
_HISTORY_TEXT_LENGTH = 4 * 1024 * 1024


@dataclass(frozen=True)
class HistoryColumns:
    """A page of points as numpy columns in the page's order (steps, timestamps, stored
    values, value kinds); `values` are the stored stand-ins (see models: 0 for NaN, ±max
    double for ±inf) until `decoded_values`."""

    steps: np.ndarray
    timestamps: np.ndarray
    values: np.ndarray
    kinds: np.ndarray

    @staticmethod
    def of_rows(rows: Sequence[Sequence[Any]]) -> HistoryColumns:
        """The columns of (step, timestamp, stored value, kind) rows."""
        import numpy as np

        columns = list(zip(*rows, strict=True)) or [(), (), (), ()]
        dtypes = (np.int64, np.int64, np.float64, np.int16)
        return HistoryColumns(*(np.array(c, dtype=t) for c, t in zip(columns, dtypes, strict=True)))

    def __len__(self) -> int:
        return len(self.steps)

    def head(self, count: int) -> HistoryColumns:
        return HistoryColumns(
            self.steps[:count], self.timestamps[:count], self.values[:count], self.kinds[:count]
        )

    def sort_key(self, index: int) -> list[Any]:
        """(step, timestamp, stored value, kind) of point `index`: what a page token holds."""
        columns = (self.steps, self.timestamps, self.values, self.kinds)
        return [column[index].item() for column in columns]

    def decoded_values(self) -> list[float]:
        """The values with NaN and ±inf restored."""
        import numpy as np

        values = self.values
        if (self.kinds != VALUE_FINITE).any():
            values = values.copy()
            values[self.kinds == VALUE_NAN] = np.nan
            values[self.kinds == VALUE_POS_INF] = np.inf
            values[self.kinds == VALUE_NEG_INF] = -np.inf
        return values.tolist()  # type: ignore[no-any-return]


def _mariadb_history_query(dialect_of: Connection | Engine, statement: Any) -> tuple[str, Any]:
    """The statement that reads the rows of `statement` (step, timestamp, value, value_kind)
    as four texts, one per column, and its parameters; `_mariadb_columns` parses them.

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


def _mariadb_columns(texts: Sequence[str | None]) -> HistoryColumns:
    """The columns of a `_mariadb_history_query` result, in the page's order."""
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


class MetricHistoryStore(StoreBase):
    def get_metric_history(
        self, run_id: str, key: str, max_results: int = MAX_HISTORY_PER_PAGE, page_token: str = ""
    ) -> Page[Metric]:
        """Every point of one metric, by step, then timestamp (then value: a total order)."""
        page = self.get_metric_history_points(run_id, key, max_results, page_token)
        items = [make_metric(key, value, timestamp, step) for value, timestamp, step in page.items]
        return Page(items, page.next_page_token)

    def get_metric_history_points(
        self, run_id: str, key: str, max_results: int = MAX_HISTORY_PER_PAGE, page_token: str = ""
    ) -> Page[MetricPoint]:
        """`get_metric_history` as (value, timestamp, step) tuples of the metric `key`: what
        GetMetricHistory's Metric view needs, without a Metric object per point."""
        columns, token = self._history_page(run_id, key, max_results, page_token)
        values, timestamps, steps = (
            columns.decoded_values(),
            columns.timestamps.tolist(),
            columns.steps.tolist(),
        )
        return Page(list(zip(values, timestamps, steps, strict=True)), token)

    def get_metric_history_series(
        self, run_id: str, key: str, max_results: int = MAX_HISTORY_PER_PAGE, page_token: str = ""
    ) -> tuple[MetricSeries, str]:
        """The page of `get_metric_history` as three parallel lists, and the next page's token
        (a token serves either shape)."""
        columns, token = self._history_page(run_id, key, max_results, page_token)
        series = MetricSeries(
            columns.steps.tolist(), columns.timestamps.tolist(), columns.decoded_values()
        )
        return series, token

    def _history_page(
        self, run_id: str, key: str, max_results: int, page_token: str
    ) -> tuple[HistoryColumns, str]:
        v.check_key(key, "metric_key")
        limit = v.check_max_results(max_results, MAX_HISTORY_PER_PAGE, MAX_HISTORY_PER_PAGE)
        m = MetricRow
        order = (m.step, m.timestamp, m.value, m.value_kind)
        statement = select(*order).where(m.run_uuid == run_id, m.key == key)
        fingerprint = query_fingerprint("metric_history", run_id, key)
        if page_token:
            values = decode_token(page_token, fingerprint, len(order))
            statement = statement.where(after_row(order, [False] * len(order), values))
        statement = statement.order_by(*order).limit(limit + 1)

        def one_trip_columns(engine: Engine) -> HistoryColumns:
            """MariaDB: whether the run exists and the page's texts, with the COMMIT, in one
            round trip (no SQLAlchemy statement for the run, no separate COMMIT)."""

            def build(script: one_trip.Script) -> None:
                script.add(_RUN_EXISTS, (run_id,))
                script.add(*_mariadb_history_query(engine, statement))

            (_, found), (_, (texts,)) = one_trip.run_in_one_trip(engine, build)
            if not found:
                raise NotFound(f"run {run_id!r} does not exist", field="run_id")
            return _mariadb_columns(texts)

        def work(connection: Connection) -> HistoryColumns:
            self.fetch_run_info(connection, run_id)
            return HistoryColumns.of_rows(fetch_tuples(connection, statement))

        engine = self.one_trip_engine
        if self.mariadb and engine is not None:
            check_run_id(run_id)
            columns = with_retry(lambda: one_trip_columns(engine), what="get_metric_history")
        else:
            columns = self.read(work)
        if len(columns) <= limit:
            return columns, ""
        return columns.head(limit), encode_token(fingerprint, columns.sort_key(limit - 1))
