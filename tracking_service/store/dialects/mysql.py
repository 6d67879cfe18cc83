"""MySQL and MariaDB fast paths: SQL text straight to PyMySQL, writes and their COMMIT in one
round trip (`mysql_one_query.py`), and on MariaDB pages read as texts the server writes.

Chosen by `dialects.fast_paths_for` for an engine whose dialect is `mysql` (MariaDB included).
Each method answers what the portable method of `SqlTrackingStore` would, or None to leave the
call to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from mlgrpc_server.db import create_db_engine, with_retry
from mlgrpc_server.errors import NotFound
from tracking_service.domain import ACTIVE, Page, Run
from tracking_service.logged_model_domain import RunIo
from tracking_service.store.dialects import (
    mysql_history,
    mysql_log_batch,
    mysql_one_query,
    mysql_run_io,
    mysql_search,
)
from tracking_service.store.dialects.mysql_cursor import DriverCursor, require_active_run
from tracking_service.store.dialects.mysql_log_metric import log_metric_script
from tracking_service.store.dialects.mysql_one_query import (
    OneQueryTransaction,
    run_as_one_query,
    send_script,
)
from tracking_service.store.dialects.mysql_run_data import add_run_data_rows, run_data_rows_query
from tracking_service.store.dialects.mysql_thread_connections import ThreadConnections
from tracking_service.store.portable import batch_ids
from tracking_service.store.portable.base import RunData, run_info_of
from tracking_service.store.portable.metric_history import HistoryColumns
from tracking_service.store.portable.run_search import RunPageQuery
from tracking_service.store.rules import (
    BatchOutcome,
    CheckedBatch,
    NewRun,
    check_new_run_place,
    check_run_id,
)

if TYPE_CHECKING:
    from tracking_service.store.sql_store import SqlTrackingStore

_EXPERIMENT_OF_NEW_RUN = (
    "SELECT lifecycle_stage, artifact_location, "
    "EXISTS (SELECT 1 FROM runs WHERE run_uuid = %s) FROM experiments WHERE experiment_id = %s"
)
_INSERT_RUN = (
    "INSERT INTO runs (run_uuid, name, experiment_id, user_id, status, start_time, end_time, "
    "deleted_time, lifecycle_stage, artifact_uri) "
    "VALUES (%s, %s, %s, %s, %s, %s, NULL, NULL, %s, %s)"
)
_TAG_COLUMNS = "INSERT INTO tags (run_uuid, `key`, value)"
_RUN_INFO = (  # RUN_INFO_COLUMNS, in their order
    "SELECT run_uuid, experiment_id, name, user_id, status, start_time, end_time, artifact_uri, "
    "lifecycle_stage FROM runs WHERE run_uuid = %s"
)
_INSERT_TAGS = f"{_TAG_COLUMNS} VALUES (%s, %s, %s)"
_PARAM_COLUMNS = "INSERT INTO params (run_uuid, `key`, value)"
_INSERT_PARAMS = f"{_PARAM_COLUMNS} VALUES (%s, %s, %s)"
# The run, only if its experiment is active and still has the artifact location we cached.
_INSERT_RUN_IF_EXPERIMENT_ACTIVE = (
    "INSERT INTO runs (run_uuid, name, experiment_id, user_id, status, start_time, end_time, "
    "deleted_time, lifecycle_stage, artifact_uri) "
    "SELECT %s, %s, experiment_id, %s, %s, %s, NULL, NULL, %s, %s FROM experiments "
    "WHERE experiment_id = %s AND lifecycle_stage = %s AND artifact_location = %s"
)
#: Experiments whose artifact location a store remembers at most (then it starts over).
_MAX_CACHED_LOCATIONS = 10_000


def _first_count(cursor: Any) -> int:
    """The affected rows of a script's first statement, every result read."""
    count: int = cursor.rowcount
    while cursor.nextset():
        pass
    return count


def fast_paths(store: SqlTrackingStore) -> MySQLFastPaths:
    """The fast paths of `store`'s MySQL/MariaDB engine (which has seen a connection)."""
    return MySQLFastPaths(store)


class MySQLFastPaths:
    def __init__(self, store: SqlTrackingStore) -> None:
        self.store = store
        #: MySQL's dialect on a MariaDB server: its JSON and `SET STATEMENT` paths too
        self.mariadb = bool(getattr(store.engine.dialect, "is_mariadb", False))
        #: experiment id → its stored artifact location, learnt by create_run
        self.experiment_locations: dict[int, str] = {}
        # Its own pool, sized like the main one: these connections take multi-statement
        # queries, which no other code path should ever be able to send.
        size = getattr(store.engine.pool, "size", lambda: 10)()
        self.one_query_engine = create_db_engine(
            store.engine.url.render_as_string(hide_password=False),
            pool_size=size,
            multi_statements=True,
        )
        #: its connections, each thread keeping the one it last used (mysql_thread_connections)
        self.one_query_connections = ThreadConnections(self.one_query_engine)

    def dispose(self) -> None:
        self.one_query_connections.dispose()  # the one-query engine's connections too

    # -- CreateRun --------------------------------------------------------------------------

    def create_run(self, new: NewRun) -> Run:
        number = new.experiment
        cached = self.experiment_locations.get(number)
        if (
            cached is not None
            and not new.parent_run_id
            and len(new.tags) <= mysql_one_query.MAX_ROWS
            and len(new.params) <= mysql_one_query.MAX_ROWS
        ):
            run = with_retry(lambda: self._create_run_in_one_query(new, cached), what="create_run")
            if run is not None:
                return run
        return self.store.write("create_run", lambda connection: self._create_run(connection, new))

    def _create_run_in_one_query(self, new: NewRun, cached: str) -> Run | None:
        """The run and its tags with the COMMIT in one round trip; None, with nothing written,
        unless the cached experiment is still active and the same."""
        info = new.info(self.store.experiment_location(new.experiment, cached))
        run_id = new.run_id

        def build(transaction: OneQueryTransaction) -> None:
            transaction.add(
                _INSERT_RUN_IF_EXPERIMENT_ACTIVE,
                (run_id, new.name, new.user_id, new.status, info.start_time, ACTIVE,
                 info.artifact_uri, new.experiment, ACTIVE, cached),
            )  # fmt: skip
            # Joined with the run's row: no tag unless the INSERT above wrote the run.
            tag_rows = [(run_id, key, value) for key, value in sorted(new.tags.items())]
            transaction.add_rows_if(_TAG_COLUMNS, tag_rows, "", "runs.run_uuid = %s", (run_id,),
                                    of_run=True)  # fmt: skip
            if new.params:
                param_rows = [(run_id, *row) for row in new.param_rows]
                transaction.add_rows_if(_PARAM_COLUMNS, param_rows, "", "runs.run_uuid = %s",
                                        (run_id,), of_run=True)  # fmt: skip

        if run_as_one_query(self.one_query_connections, build)[0][0] != 1:
            self.experiment_locations.pop(new.experiment, None)
            return None
        return new.as_run(info)

    def _create_run(self, connection: Connection, new: NewRun) -> Run:
        # Fewest round trips: the run, then its tags in one multi-row INSERT; nothing read
        # back. The experiment is checked inside the run's INSERT when its artifact location
        # is known from an earlier run (a location never changes once the experiment is
        # created). Otherwise, or if that INSERT wrote nothing (experiment deleted or gone),
        # one SELECT reads the experiment, and the parent run in the same query.
        number, run_id = new.experiment, new.run_id
        with DriverCursor(connection) as cursor:
            cached = self.experiment_locations.get(number)
            info = None
            if cached is not None and not new.parent_run_id:
                info = new.info(self.store.experiment_location(number, cached))
                inserted = cursor.execute(
                    _INSERT_RUN_IF_EXPERIMENT_ACTIVE,
                    (run_id, new.name, new.user_id, new.status, info.start_time, ACTIVE,
                     info.artifact_uri, number, ACTIVE, cached),
                )  # fmt: skip
                if inserted != 1:
                    self.experiment_locations.pop(number, None)
                    info = None
            if info is None:
                cursor.execute(_EXPERIMENT_OF_NEW_RUN, (new.parent_run_id, number))
                found = cursor.fetchall()
                if not found:
                    raise NotFound(f"experiment {number} does not exist", field="experiment_id")
                stage, stored_location, parent_exists = found[0]
                check_new_run_place(number, stage, new.parent_run_id, parent_exists)
                info = new.info(self.store.experiment_location(number, stored_location))
                cursor.execute(
                    _INSERT_RUN,
                    (run_id, new.name, number, new.user_id, new.status, info.start_time, ACTIVE,
                     info.artifact_uri),
                )  # fmt: skip
                if len(self.experiment_locations) >= _MAX_CACHED_LOCATIONS:
                    self.experiment_locations.clear()
                self.experiment_locations[number] = stored_location
            cursor.executemany(
                _INSERT_TAGS, [(run_id, k, val) for k, val in sorted(new.tags.items())]
            )
            if new.params:
                cursor.executemany(_INSERT_PARAMS, [(run_id, *row) for row in new.param_rows])
        return new.as_run(info)

    # -- LogBatch ---------------------------------------------------------------------------

    def log_batch(self, batch: CheckedBatch) -> BatchOutcome:
        if (
            len(batch.metric_rows) == 1
            and not batch.params
            and not batch.tags
            and not batch.batch_id
        ):  # LogMetric
            one = with_retry(lambda: self._log_metric_in_one_query(batch), what="log_metric")
            if one is not None:
                return one
        elif len(batch.metric_rows) <= mysql_one_query.MAX_ROWS:
            fast = with_retry(lambda: self._log_batch_in_one_query(batch), what="log_batch")
            if fast is not None:
                if batch.batch_id:
                    batch_ids.maybe_delete_expired(self.store.engine)
                return fast

        def work(connection: Connection) -> BatchOutcome:
            run_id = batch.run_id
            with DriverCursor(connection) as cursor:
                if batch.batch_id:
                    replay = mysql_log_batch.record_batch_id(
                        cursor, batch.batch_id, run_id, batch.written.rows_written,
                        require_active_run,
                    )  # fmt: skip
                    if replay is not None:
                        return replay
                mysql_log_batch.log_batch(cursor, run_id, batch.metric_rows, batch.latest_rows,
                                          batch.params, batch.tags, require_active_run)  # fmt: skip
            return batch.written

        return self.store.write_batch(batch, work)

    def _log_metric_in_one_query(self, batch: CheckedBatch) -> BatchOutcome | None:
        """A batch of one metric, as `_log_batch_in_one_query` writes it (the same statements),
        its script made by `mysql_log_metric` from a text made once."""
        row = batch.metric_rows[0]
        try:
            written = send_script(
                self.one_query_connections,
                lambda cursor: log_metric_script(cursor, row),
                _first_count,
            )
        except IntegrityError:
            return None  # as `_log_batch_in_one_query`: the general path decides
        if written > 0:
            return batch.written
        # Nothing written: NotFound or FailedPrecondition; or restored meanwhile.
        self.store.read(lambda connection: self.store.require_active_run(connection, batch.run_id))
        return None

    def _log_batch_in_one_query(self, batch: CheckedBatch) -> BatchOutcome | None:
        locked: list[int] = []

        def build(transaction: OneQueryTransaction) -> None:
            locked.append(mysql_log_batch.add_log_batch(
                transaction, batch.run_id, batch.metric_rows, batch.latest_rows, batch.params,
                batch.tags, batch.batch_id, batch.written.rows_written))  # fmt: skip

        try:
            results = run_as_one_query(self.one_query_connections, build)
        except IntegrityError:
            return None  # a param or batch id seen before: the general path decides
        if results[locked[0]][0] > 0:
            return batch.written
        # Nothing written: NotFound or FailedPrecondition; or restored meanwhile.
        self.store.read(lambda connection: self.store.require_active_run(connection, batch.run_id))
        return None

    # -- GetRun -----------------------------------------------------------------------------

    def get_run(self, run_id: str) -> Run:
        """The run's row and its data as plain rows, with the COMMIT, in one round trip of the
        one-query engine's DBAPI connection (no SQLAlchemy statement to build, compile and
        read: under load that was a quarter of GetRun's time holding the GIL)."""
        check_run_id(run_id)
        return with_retry(lambda: self._get_run(run_id), what="get_run")

    def _get_run(self, run_id: str) -> Run:
        data: dict[str, RunData] = {run_id: ([], {}, {})}

        def build(transaction: OneQueryTransaction) -> None:
            transaction.add(_RUN_INFO, (run_id,))
            transaction.add(*run_data_rows_query([run_id]))

        (_, info_rows), (_, data_rows) = run_as_one_query(self.one_query_connections, build)
        if not info_rows:
            raise NotFound(f"run {run_id!r} does not exist", field="run_id")
        add_run_data_rows(data_rows, data)
        metrics, params, tags = data[run_id]
        return Run(info=run_info_of(info_rows[0]), metrics=metrics, params=params, tags=tags)

    # -- GetMetricHistory, SearchRuns ----------------------------------------------------------

    def history_page(self, run_id: str, statement: Any) -> HistoryColumns | None:
        """MariaDB: whether the run exists and the page's texts, with the COMMIT, in one
        round trip (no SQLAlchemy statement for the run, no separate COMMIT)."""
        if not self.mariadb:
            return None
        check_run_id(run_id)
        engine = self.one_query_engine

        def attempt() -> HistoryColumns:
            def build(transaction: OneQueryTransaction) -> None:
                transaction.add(mysql_history.RUN_EXISTS, (run_id,))
                transaction.add(*mysql_history.history_texts_query(engine, statement))

            (_, found), (_, (texts,)) = run_as_one_query(self.one_query_connections, build)
            if not found:
                raise NotFound(f"run {run_id!r} does not exist", field="run_id")
            return mysql_history.columns_of_texts(texts)

        return with_retry(attempt, what="get_metric_history")

    def search_page(self, query: RunPageQuery) -> Page[Run]:
        return mysql_search.search_page(self.store, query, mariadb=self.mariadb)

    def runs_io(self, run_ids: Sequence[str]) -> dict[str, RunIo]:
        return self.store.read(lambda connection: mysql_run_io.runs_io(connection, run_ids))
