"""`SqlTrackingStore`: the `TrackingStore` on MySQL/MariaDB or SQLite.

Each concern lives in its own module; this class only puts them together and owns the engine:
experiments (`experiments.py`), runs (`runs.py`), logging (`run_data.py`), metric history
(`metric_history.py`), run search (`run_search.py`), LoggedModels (`logged_models.py`,
`logged_model_search.py`), run inputs and outputs (`run_inputs.py`). Every public method is one
transaction.
"""

from __future__ import annotations

import logging

from sqlalchemy import Engine

from mlgrpc_server.db import create_db_engine, database_kind
from mlgrpc_server.schema import ensure_schema
from tracking_service.store.base import artifact_root_uri
from tracking_service.store.experiments import ExperimentStore
from tracking_service.store.logged_model_search import LoggedModelSearchStore
from tracking_service.store.logged_models import LoggedModelStore
from tracking_service.store.metric_history import MetricHistoryStore
from tracking_service.store.run_data import KeyValueLike, MetricLike, RunDataStore
from tracking_service.store.run_inputs import RunInputStore
from tracking_service.store.run_search import RunSearchStore
from tracking_service.store.runs import RunStore

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
    the portable SQLAlchemy paths on MySQL/MariaDB too (tests compare the two).
    """

    def __init__(
        self, engine_or_uri: Engine | str, default_artifact_root: str, *, fast_paths: bool = True
    ) -> None:
        self.engine = (
            create_db_engine(engine_or_uri) if isinstance(engine_or_uri, str) else engine_or_uri
        )
        self.dialect = database_kind(self.engine)
        self.artifact_root = artifact_root_uri(default_artifact_root)
        self.experiment_locations = {}
        ensure_schema(self.engine)
        # Known once the dialect has seen a connection (ensure_schema made one).
        self.mysql_fast = fast_paths and self.dialect == "mysql"
        self.mariadb = self.mysql_fast and bool(getattr(self.engine.dialect, "is_mariadb", False))
        if self.mysql_fast:
            # Its own pool, sized like the main one: these connections take multi-statement
            # queries, which no other code path should ever be able to send.
            size = getattr(self.engine.pool, "size", lambda: 10)()
            self.one_trip_engine = create_db_engine(
                self.engine.url.render_as_string(hide_password=False),
                pool_size=size,
                multi_statements=True,
            )
        logger.debug("tracking store on %s", self.engine.url.render_as_string(hide_password=True))

    def dispose(self) -> None:
        """Close the pooled connections (tests, shutdown)."""
        self.engine.dispose()
        if self.one_trip_engine is not None:
            self.one_trip_engine.dispose()


__all__ = ["KeyValueLike", "MetricLike", "SqlTrackingStore"]
