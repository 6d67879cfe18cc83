"""SearchRuns: filter and order in SQL, keyset pages; on MariaDB a page and its runs' data in one
statement, elsewhere the data in batched queries after the page."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection, literal, select

from mlgrpc_server.paging import after_row, decode_token, encode_token, query_fingerprint
from tracking_service.domain import Page, Run, ViewType
from tracking_service.store import validation as v
from tracking_service.store.base import RUN_INFO_COLUMNS, StoreBase, run_info_of
from tracking_service.store.mariadb_run_data import mariadb_page_rows, page_run_data
from tracking_service.store.models import VALUE_NAN, RunRow
from tracking_service.store.runs import load_run_data
from tracking_service.store.search import Identifier, OrderTerm, parse_filter, parse_order_by
from tracking_service.store.search.ast import ATTRIBUTE, METRIC
from tracking_service.store.search.run_query import run_filter, run_order

DEFAULT_RUNS_PER_PAGE = 1000
MAX_RUNS_PER_PAGE = 50000
_FAST_PLAN_MIN_BUDGET = 10000
_FAST_PLAN_ROWS_PER_RESULT = 20
#: Pages larger than this are read as rows on MariaDB (their JSON text could pass the limit).
_JSON_PAGE_MAX_RUNS = 5000
_DEFAULT_ORDER = OrderTerm(Identifier(ATTRIBUTE, "start_time", 0, "attributes.start_time"), True)


class RunSearchStore(StoreBase):
    def search_runs(
        self,
        experiment_ids: Sequence[str],
        filter_string: str = "",
        view_type: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int = DEFAULT_RUNS_PER_PAGE,
        order_by: Sequence[str] = (),
        page_token: str = "",
    ) -> Page[Run]:
        limit = v.check_max_results(max_results, DEFAULT_RUNS_PER_PAGE, MAX_RUNS_PER_PAGE)
        ids = sorted(
            {v.parse_experiment_id(e, f"experiment_ids[{i}]") for i, e in enumerate(experiment_ids)}
        )
        parsed = parse_filter(filter_string)
        terms = [
            (parse_order_by(text, f"order_by[{i}]"), text) for i, text in enumerate(order_by)
        ] or [(_DEFAULT_ORDER, "attributes.start_time DESC")]
        statement, keys, joined_metrics = run_order(select(*RUN_INFO_COLUMNS), terms)
        conditions = run_filter(parsed, filter_string, self.dialect, joined_metrics)
        fingerprint = query_fingerprint("runs", ids, filter_string, list(order_by), view_type.name)
        values = decode_token(page_token, fingerprint, len(keys)) if page_token else None
        if not ids:
            return Page([])

        run_scope = [
            RunRow.experiment_id.in_(ids),
            RunRow.lifecycle_stage.in_(view_type.stages()),
        ]
        scope = [*run_scope, *conditions]
        columns = [key.expression for key in keys]
        descending = [key.descending for key in keys]
        statement = statement.add_columns(
            *(column.label(f"sort_{i}") for i, column in enumerate(columns))
        ).where(*scope)
        if values is not None:
            statement = statement.where(after_row(columns, descending, values))
        statement = statement.order_by(
            *(c.desc() if d else c.asc() for c, d in zip(columns, descending, strict=True))
        ).limit(limit + 1)
        fast = None
        if self.mariadb:
            fast = self._metric_ordered_page(
                terms, joined_metrics, run_scope, (parsed, filter_string), values, limit
            )

        json_page = self.mariadb and limit <= _JSON_PAGE_MAX_RUNS
        column_names = [*(c.name for c in RUN_INFO_COLUMNS)]
        column_names += [f"sort_{i}" for i in range(len(columns))]
        json_order = [f"page.sort_{i} {'DESC' if d else 'ASC'}" for i, d in enumerate(descending)]

        def rows_of(connection: Connection, plan: Any) -> tuple[Sequence[Sequence[Any]], bool]:
            """The plan's rows, and whether they end with their runs' data (MariaDB JSON)."""
            # The fast plan's sort columns are the full plan's (rank 0, value, run id), so one
            # JSON order fits both. A fast plan stopped by its budget yields no JSON row at all.
            if json_page:
                rows = mariadb_page_rows(
                    connection, plan, column_names, json_order, with_run_data=True
                )
                if rows is not None:
                    return rows, True
            return connection.execute(plan).all(), False

        def work(connection: Connection) -> Page[Run]:
            rows: Sequence[Sequence[Any]] = []
            with_data = False
            if fast is not None:
                rows, with_data = rows_of(connection, fast)
            if len(rows) <= limit:  # the fast plan ran out of budget, or of rows: the full plan
                rows, with_data = rows_of(connection, statement)
            page = rows[:limit]
            data = page_run_data(page) if with_data else None
            if data is None:
                data = load_run_data(
                    connection,
                    [row[0] for row in page],
                    mysql=self.mysql_fast,
                    mariadb=self.mariadb,
                )
            runs = []
            for row in page:
                metrics, params, tags = data[row[0]]
                runs.append(Run(run_info_of(tuple(row)), metrics, params, tags))
            token = ""
            if len(rows) > limit:
                sort_values = page[-1][len(RUN_INFO_COLUMNS) : len(column_names)]
                token = encode_token(fingerprint, list(sort_values))
            return Page(runs, token)

        return self.read(work)

    def _metric_ordered_page(
        self,
        terms: list[tuple[OrderTerm, str]],
        joined_metrics: dict[str, Any],
        run_scope: list[ColumnElement[bool]],
        parsed_filter: tuple[Any, str],
        token_values: list[Any] | None,
        limit: int,
    ) -> Any:
        """For `ORDER BY metrics.<key>` alone: walk the (key, value) index in order.

        The general plan joins every run of the experiments to its metric and sorts them all
        (tens of ms for 10,000 runs); this one reads the index in order and stops after a page.
        It only covers runs that have a non-NaN value, and MariaDB stops it after a budget of
        examined rows (a selective filter, or a small experiment among many), so it is only an
        attempt: short of a full page, the caller runs the general plan, which gives the same
        rows. Its sort values (rank 0, value, run id) are the general plan's, so tokens mix.
        """
        if len(terms) != 1 or terms[0][0].target.entity != METRIC:
            return None
        term = terms[0][0]
        if token_values is not None and (len(token_values) != 3 or token_values[0] != 0):
            return None
        metric = joined_metrics[term.target.key]  # the filter's conditions refer to it too
        # The filter's semi-joins test the walked index's run id: checked before the join.
        conditions = run_filter(*parsed_filter, self.dialect, joined_metrics, metric.run_uuid)
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
