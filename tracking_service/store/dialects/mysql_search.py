"""SearchRuns on MySQL/MariaDB: run data through the DBAPI cursor; on MariaDB a page and its
runs' data in one statement (JSON), and `ORDER BY metrics.<key>` walked along its index."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, literal, select

from mlgrpc_server.paging import after_row
from tracking_service.domain import Page, Run
from tracking_service.store.dialects.mysql_run_data import (
    JSON_MIN_RUNS,
    mariadb_page_rows,
    mariadb_run_data,
    mysql_run_data_rows,
    page_run_data,
)
from tracking_service.store.portable.base import RUN_INFO_COLUMNS, RunData, StoreBase
from tracking_service.store.portable.run_search import RunPageQuery
from tracking_service.store.portable.runs import load_run_data
from tracking_service.store.portable.search.ast import METRIC
from tracking_service.store.portable.search.run_query import run_filter
from tracking_service.store.portable.tables import RunRow
from tracking_service.store.rules import VALUE_NAN

_FAST_PLAN_MIN_BUDGET = 10000
_FAST_PLAN_ROWS_PER_RESULT = 20
#: Pages larger than this are read as rows on MariaDB (their JSON text could pass the limit).
_JSON_PAGE_MAX_RUNS = 5000
# Runs per statement of `load_run_data`: JSON texts stay far below the length limit.
_IDS_PER_JSON_QUERY = 1000
_IDS_PER_QUERY = 5000


def search_page(store: StoreBase, query: RunPageQuery, *, mariadb: bool) -> Page[Run]:
    """The page of `query`, read on MySQL/MariaDB (what `search_page_portable` answers)."""
    limit = query.limit
    fast = metric_ordered_plan(query) if mariadb else None
    json_page = mariadb and limit <= _JSON_PAGE_MAX_RUNS
    column_names = query.column_names
    json_order = [f"page.sort_{i} {'DESC' if d else 'ASC'}" for i, d in enumerate(query.descending)]

    def rows_of(connection: Connection, plan: Any) -> tuple[Sequence[Sequence[Any]], bool]:
        """The plan's rows, and whether they end with their runs' data (MariaDB JSON)."""
        # The fast plan's sort columns are the full plan's (rank 0, value, run id), so one
        # JSON order fits both. A fast plan stopped by its budget yields no JSON row at all.
        if json_page:
            rows = mariadb_page_rows(connection, plan, column_names, json_order, with_run_data=True)
            if rows is not None:
                return rows, True
        return connection.execute(plan).all(), False

    def work(connection: Connection) -> Page[Run]:
        rows: Sequence[Sequence[Any]] = []
        with_data = False
        if fast is not None:
            rows, with_data = rows_of(connection, fast)
        if len(rows) <= limit:  # the fast plan ran out of budget, or of rows: the full plan
            rows, with_data = rows_of(connection, query.statement)
        page = rows[:limit]
        data = page_run_data(page) if with_data else None
        if data is None:
            data = load_run_data_by_cursor(connection, [row[0] for row in page], mariadb=mariadb)
        return query.page_of(rows, data)

    return store.read(work)


def load_run_data_by_cursor(
    connection: Connection, run_ids: Sequence[str], *, mariadb: bool
) -> dict[str, RunData]:
    """`runs.load_run_data` in one statement per chunk of ids: plain rows for a few runs, JSON
    texts for many on MariaDB (`mariadb_run_data`, when the texts fit)."""
    data: dict[str, RunData] = {run_id: ([], {}, {}) for run_id in run_ids}
    ids = list(run_ids)
    as_json = mariadb and len(ids) >= JSON_MIN_RUNS
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        step = _IDS_PER_JSON_QUERY if as_json else _IDS_PER_QUERY
        for start in range(0, len(ids), step):
            chunk = ids[start : start + step]
            if not as_json:
                mysql_run_data_rows(cursor, chunk, data)
            elif not mariadb_run_data(cursor, chunk, data):
                data.update(load_run_data(connection, chunk))
    finally:
        cursor.close()
    return data


def metric_ordered_plan(query: RunPageQuery) -> Any:
    """For `ORDER BY metrics.<key>` alone: walk the (key, value) index in order.

    The general plan joins every run of the experiments to its metric and sorts them all
    (tens of ms for 10,000 runs); this one reads the index in order and stops after a page.
    It only covers runs that have a non-NaN value, and MariaDB stops it after a budget of
    examined rows (a selective filter, or a small experiment among many), so it is only an
    attempt: short of a full page, the caller runs the general plan, which gives the same
    rows. Its sort values (rank 0, value, run id) are the general plan's, so tokens mix.
    """
    terms, joined_metrics, run_scope = query.terms, query.joined_metrics, query.run_scope
    parsed_filter, token_values, limit = query.parsed_filter, query.token_values, query.limit
    if len(terms) != 1 or terms[0][0].target.entity != METRIC:
        return None
    term = terms[0][0]
    if token_values is not None and (len(token_values) != 3 or token_values[0] != 0):
        return None
    metric = joined_metrics[term.target.key]  # the filter's conditions refer to it too
    # The filter's semi-joins test the walked index's run id: checked before the join.
    conditions = run_filter(*parsed_filter, joined_metrics, metric.run_uuid)
    columns = [metric.value, metric.run_uuid]
    statement = (
        select(
            *RUN_INFO_COLUMNS,
            literal(0).label("sort_0"),
            metric.value.label("sort_1"),
            metric.run_uuid.label("sort_2"),
        )
        .select_from(metric)
        .join(RunRow, RunRow.run_uuid == metric.run_uuid)
        .where(
            metric.key == term.target.key,
            metric.value_kind != VALUE_NAN,
            *run_scope,
            *conditions,
        )
    )
    if token_values is not None:
        statement = statement.where(after_row(columns, [term.descending] * 2, token_values[1:]))
    budget = max(_FAST_PLAN_MIN_BUDGET, _FAST_PLAN_ROWS_PER_RESULT * (limit + 1))
    return (
        statement.order_by(*(c.desc() if term.descending else c.asc() for c in columns))
        .limit(limit + 1)
        .prefix_with("STRAIGHT_JOIN", dialect="mysql")
        .suffix_with(f"ROWS EXAMINED {budget}", dialect="mysql")
    )
