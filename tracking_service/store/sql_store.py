"""`SqlTrackingStore`: the `TrackingStore` on SQLite, MySQL/MariaDB or PostgreSQL.

Each hot call is the store's rules (`rules.py`: validation, system tags, the rows to write; no
SQL, no database kind), then the fast path of the database if `dialects/` has one (chosen once,
here, from the engine), else the portable method (`portable/`: SQLAlchemy, correct everywhere).
Each concern lives in its own module; this class only puts them together and owns the engine:
experiments (`portable/experiments.py`), runs (`runs.py`), logging (`run_data.py`), metric
history (`metric_history.py`), run search (`run_search.py`), LoggedModels (`logged_models.py`,
`logged_model_search.py`), run inputs and outputs (`run_inputs.py`). Every public method is one
transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Engine

from mlgrpc_server.db import create_db_engine, database_kind
from mlgrpc_server.schema import ensure_schema
from tracking_service.domain import Page, Run
from tracking_service.logged_model_domain import RunIo
from tracking_service.store import rules
from tracking_service.store.dialects import FastPaths, fast_paths_for
from tracking_service.store.portable.experiments import ExperimentStore
from tracking_service.store.portable.logged_model_search import LoggedModelSearchStore
from tracking_service.store.portable.logged_models import LoggedModelStore
from tracking_service.store.portable.metric_history import HistoryColumns, MetricHistoryStore
from tracking_service.store.portable.run_data import RunDataStore
from tracking_service.store.portable.run_inputs import RunInputStore
from tracking_service.store.portable.run_search import RunPageQuery, RunSearchStore
from tracking_service.store.portable.runs import RunStore
from tracking_service.store.portable.upserts import conflict_writes_for
from tracking_service.store.rules import (
    MAX_METRICS_PER_BATCH,
    BatchOutcome,
    KeyValueLike,
    MetricLike,
    artifact_root_uri,
)

logger = logging.getLogger(__name__)


class SqlTrackingStore(
    ExperimentStore,
    RunStore,
    RunDataStore,
    MetricHistoryStore,
    RunSearchStore,
    # MLflow 3's LoggedModels and run inputs/outputs (issue #14)
    LoggedModelStore,
    LoggedModelSearchStore,
    RunInputStore,
):
    """The tracking store on a SQLAlchemy engine (or a database URI to create one from).

    Migrates an empty database on construction. `default_artifact_root` (a local path or a URI)
    is where experiments without an explicit location keep artifacts: `<root>/<experiment_id>`,
    and a run's are at `<experiment location>/<run_id>/artifacts`. `fast_paths=False` keeps to
    the portable SQLAlchemy paths on every database (the store suite compares the two).
    """

    def __init__(
        self, engine_or_uri: Engine | str, default_artifact_root: str, *, fast_paths: bool = True
    ) -> None:
        self.engine = (
            create_db_engine(engine_or_uri) if isinstance(engine_or_uri, str) else engine_or_uri
        )
        # "sqlite", "mysql" or "postgresql" (any other is refused here); only the choice of fast
        # paths reads it: the portable code knows no database kind.
        self.dialect = database_kind(self.engine)
        self.writes = conflict_writes_for(self.engine)
        self.artifact_root = artifact_root_uri(default_artifact_root)
        ensure_schema(self.engine)
        # Known once the dialect has seen a connection (ensure_schema made one).
        self.fast_paths: FastPaths | None = fast_paths_for(self) if fast_paths else None
        logger.debug("tracking store on %s", self.engine.url.render_as_string(hide_password=True))

    def dispose(self) -> None:
        """Close the pooled connections (tests, shutdown)."""
        self.engine.dispose()
        if self.fast_paths is not None:
            self.fast_paths.dispose()

    # Rules → fast path if the database has one → portable.

    def create_run(
        self,
        experiment_id: str,
        run_name: str = "",
        user_id: str = "",
        start_time: int | None = None,
        tags: Mapping[str, str] = {},
        parent_run_id: str = "",
        status: str = "RUNNING",
        params: Sequence[KeyValueLike] = (),
    ) -> Run:
        new = rules.new_run(experiment_id, run_name, user_id, start_time, tags, parent_run_id,
                           status, params)  # fmt: skip
        fast = self.fast_paths.create_run(new) if self.fast_paths else None
        return self.create_run_portable(new) if fast is None else fast

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[MetricLike] = (),
        params: Sequence[KeyValueLike] = (),
        tags: Sequence[KeyValueLike] = (),
        *,
        max_metrics: int = MAX_METRICS_PER_BATCH,
        batch_id: str = "",
    ) -> BatchOutcome:
        """Validate everything, then write it all in one transaction (or nothing), with the
        links of metrics carrying a `model_id` to their LoggedModels; with a `batch_id`
        idempotent (see `portable/batch_ids.py`)."""
        batch = rules.check_batch(run_id, metrics, params, tags, max_metrics=max_metrics,
                                 batch_id=batch_id)  # fmt: skip
        # Metrics linked to LoggedModels take the portable path, which writes the links in
        # the batch's transaction; the fast paths write a run's own values only.
        fast_path = self.fast_paths if not batch.model_metric_rows else None
        fast = fast_path.log_batch(batch) if fast_path else None
        return self.log_batch_portable(batch) if fast is None else fast

    def get_run(self, run_id: str) -> Run:
        fast = self.fast_paths.get_run(run_id) if self.fast_paths else None
        return self.get_run_portable(run_id) if fast is None else fast

    def history_page(self, run_id: str, statement: Any) -> HistoryColumns:
        fast = self.fast_paths.history_page(run_id, statement) if self.fast_paths else None
        return self.history_page_portable(run_id, statement) if fast is None else fast

    def search_page(self, query: RunPageQuery) -> Page[Run]:
        fast = self.fast_paths.search_page(query) if self.fast_paths else None
        return self.search_page_portable(query) if fast is None else fast

    def get_runs_io(self, run_ids: Sequence[str]) -> dict[str, RunIo]:
        fast = self.fast_paths.runs_io(run_ids) if self.fast_paths else None
        return super().get_runs_io(run_ids) if fast is None else fast


__all__ = ["KeyValueLike", "MetricLike", "SqlTrackingStore"]
