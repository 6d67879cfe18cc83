"""SearchRuns: filter and order in SQL, keyset pages, the runs' data in batched queries after
the page (MariaDB's page-and-data in one statement: `dialects/mysql_search.py`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, select

from mlgrpc_server.paging import after_row, decode_token, encode_token, query_fingerprint
from tracking_service.domain import Page, Run, ViewType
from tracking_service.store import rules
from tracking_service.store.portable.base import RUN_INFO_COLUMNS, RunData, StoreBase, run_info_of
from tracking_service.store.portable.runs import load_run_data
from tracking_service.store.portable.search import (
    Identifier,
    OrderTerm,
    parse_filter,
    parse_order_by,
)
from tracking_service.store.portable.search.ast import ATTRIBUTE
from tracking_service.store.portable.search.run_query import run_filter, run_order
from tracking_service.store.portable.tables import RunRow

DEFAULT_RUNS_PER_PAGE = 1000
MAX_RUNS_PER_PAGE = 50000
_DEFAULT_ORDER = OrderTerm(Identifier(ATTRIBUTE, "start_time", 0, "attributes.start_time"), True)


@dataclass(frozen=True)
class RunPageQuery:
    """A checked SearchRuns request: the SQL of its page and what a fast path may need to build
    its own plan for the same rows."""

    #: RUN_INFO_COLUMNS, then the sort values `sort_0`, `sort_1`, …; `limit + 1` rows at most
    statement: Any
    limit: int
    fingerprint: str
    terms: list[tuple[OrderTerm, str]]
    joined_metrics: dict[str, Any]
    #: the experiments and lifecycle stages searched (the filter's conditions excluded)
    run_scope: list[ColumnElement[bool]]
    #: the parsed filter and its text
    parsed_filter: tuple[Any, str]
    #: the sort values of the page token, None for the first page
    token_values: list[Any] | None
    descending: list[bool]

    @property
    def column_names(self) -> list[str]:
        """The names of the statement's result columns."""
        names = [column.name for column in RUN_INFO_COLUMNS]
        return names + [f"sort_{i}" for i in range(len(self.descending))]

    def page_of(self, rows: Sequence[Sequence[Any]], data: dict[str, RunData]) -> Page[Run]:
        """The page of `rows` (`limit + 1` at most: one more means a next page) with their
        runs' data."""
        page = rows[: self.limit]
        runs = []
        for row in page:
            metrics, params, tags = data[row[0]]
            runs.append(Run(run_info_of(tuple(row)), metrics, params, tags))
        token = ""
        if len(rows) > self.limit:
            sort_values = page[-1][
                len(RUN_INFO_COLUMNS) : len(RUN_INFO_COLUMNS) + len(self.descending)
            ]
            token = encode_token(self.fingerprint, list(sort_values))
        return Page(runs, token)


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
        limit = rules.check_max_results(max_results, DEFAULT_RUNS_PER_PAGE, MAX_RUNS_PER_PAGE)
        ids = sorted(
            {
                rules.parse_experiment_id(e, f"experiment_ids[{i}]")
                for i, e in enumerate(experiment_ids)
            }
        )
        parsed = parse_filter(filter_string)
        terms = [
            (parse_order_by(text, f"order_by[{i}]"), text) for i, text in enumerate(order_by)
        ] or [(_DEFAULT_ORDER, "attributes.start_time DESC")]
        statement, keys, joined_metrics = run_order(select(*RUN_INFO_COLUMNS), terms)
        conditions = run_filter(parsed, filter_string, joined_metrics)
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
        query = RunPageQuery(
            statement=statement,
            limit=limit,
            fingerprint=fingerprint,
            terms=terms,
            joined_metrics=joined_metrics,
            run_scope=run_scope,
            parsed_filter=(parsed, filter_string),
            token_values=values,
            descending=descending,
        )
        return self.search_page(query)

    def search_page(self, query: RunPageQuery) -> Page[Run]:
        """`search_page_portable`; `SqlTrackingStore` tries its dialect's fast path first."""
        return self.search_page_portable(query)

    def search_page_portable(self, query: RunPageQuery) -> Page[Run]:
        """The page of `query.statement`, its runs' data in batched queries after it."""

        def work(connection: Connection) -> Page[Run]:
            rows = connection.execute(query.statement).all()
            ids = [row[0] for row in rows[: query.limit]]
            return query.page_of(rows, load_run_data(connection, ids))

        return self.read(work)
