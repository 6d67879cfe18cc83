"""Reading one metric's history: keyset pages ordered by (step, timestamp), as Metric objects,
as (value, timestamp, step) tuples, or as three parallel columns (`MetricSeries`).

Every reader goes through `_history_page`, which returns the page as columns: steps,
timestamps, stored values and value kinds, in the page's order. Columns suit all three
shapes, and on MariaDB they come straight from the server's text (`dialects/mysql_history.py`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, select

from mlgrpc_server.paging import after_row, decode_token, encode_token, query_fingerprint
from tracking_service.domain import Metric, MetricSeries, Page
from tracking_service.store import rules
from tracking_service.store.portable.base import StoreBase, fetch_tuples, make_metric
from tracking_service.store.portable.tables import MetricRow
from tracking_service.store.rules import VALUE_FINITE, VALUE_NAN, VALUE_NEG_INF, VALUE_POS_INF

if TYPE_CHECKING:
    import numpy as np

MAX_HISTORY_PER_PAGE = 25000
#: A point of one metric's history: value, timestamp, step.
MetricPoint = tuple[float, int, int]


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

    def history_page(self, run_id: str, statement: Any) -> HistoryColumns:
        """`history_page_portable`; `SqlTrackingStore` tries its dialect's fast path first."""
        return self.history_page_portable(run_id, statement)

    def history_page_portable(self, run_id: str, statement: Any) -> HistoryColumns:
        """The points `statement` selects (step, timestamp, value, value_kind; ordered and
        limited), NotFound if the run does not exist: the portable read."""

        def work(connection: Connection) -> HistoryColumns:
            self.fetch_run_info(connection, run_id)
            return HistoryColumns.of_rows(fetch_tuples(connection, statement))

        return self.read(work)

    def _history_page(
        self, run_id: str, key: str, max_results: int, page_token: str
    ) -> tuple[HistoryColumns, str]:
        rules.check_key(key, "metric_key")
        limit = rules.check_max_results(max_results, MAX_HISTORY_PER_PAGE, MAX_HISTORY_PER_PAGE)
        m = MetricRow
        order = (m.step, m.timestamp, m.value, m.value_kind)
        statement = select(*order).where(m.run_uuid == run_id, m.key == key)
        fingerprint = query_fingerprint("metric_history", run_id, key)
        if page_token:
            values = decode_token(page_token, fingerprint, len(order))
            statement = statement.where(after_row(order, [False] * len(order), values))
        statement = statement.order_by(*order).limit(limit + 1)

        columns = self.history_page(run_id, statement)
        if len(columns) <= limit:
            return columns, ""
        return columns.head(limit), encode_token(fingerprint, columns.sort_key(limit - 1))
