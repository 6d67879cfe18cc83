"""Each database's fast paths, behind one small interface (`FastPaths`).

The portable store (`tracking_service/store/portable/`, with `rules.py` and `search/`) is correct
on every supported database and never imports this package (tests/tracking/store/
test_store_layers.py checks it). `SqlTrackingStore` asks `fast_paths_for`
once, at start-up, for the fast paths of its engine, then for each hot call tries the fast path
and falls back to the portable method when there is none or it answers None.

Adding a database's fast paths is adding one module here, named as SQLAlchemy names the
engine's dialect (`engine.dialect.name`: `mysql.py` serves MySQL and MariaDB), with a function
`fast_paths(store) -> FastPaths | None`. Nothing outside this package changes: the module is
found by its name. A method may answer None for a call it does not speed up.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from mlgrpc_server.db import database_kind

if TYPE_CHECKING:
    from tracking_service.domain import Page, Run
    from tracking_service.logged_model_domain import RunIo
    from tracking_service.store.portable.metric_history import HistoryColumns
    from tracking_service.store.portable.run_search import RunPageQuery
    from tracking_service.store.rules import BatchOutcome, CheckedBatch, NewRun
    from tracking_service.store.sql_store import SqlTrackingStore


class FastPaths(Protocol):
    """One database's faster ways to answer the hot calls; None from any of them = portable.

    Each gets the request after the store's rules (validation, system tags, SQL of the page)
    and must answer exactly what the portable method would: the store suite runs every test
    with fast paths on and off.
    """

    def create_run(self, new: NewRun) -> Run | None: ...
    def log_batch(self, batch: CheckedBatch) -> BatchOutcome | None: ...
    def get_run(self, run_id: str) -> Run | None: ...
    #: the points `statement` selects (step, timestamp, value, value_kind), NotFound if no run
    def history_page(self, run_id: str, statement: Any) -> HistoryColumns | None: ...
    def search_page(self, query: RunPageQuery) -> Page[Run] | None: ...
    #: what each run used and produced, runs with nothing left out (SearchRuns' page)
    def runs_io(self, run_ids: Sequence[str]) -> dict[str, RunIo] | None: ...
    def dispose(self) -> None: ...


def fast_paths_for(store: SqlTrackingStore) -> FastPaths | None:
    """The fast paths of the module named after `store.engine`'s dialect, None if there is no
    such module (the portable store alone). An unsupported database is refused by
    `database_kind` before this (UnsupportedDatabase, naming the supported ones)."""
    name = database_kind(store.engine)
    module_name = f"{__name__}.{name}"
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name != module_name:
            raise  # the module exists but something it imports does not
        return None
    fast_paths: FastPaths | None = module.fast_paths(store)
    return fast_paths


__all__ = ["FastPaths", "fast_paths_for"]
