"""Runs: create (with generated names and MLflow's system tags), read, update, delete/restore."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence

from sqlalchemy import Connection, Engine, insert, select, update

from mlgrpc_server.db import with_retry
from mlgrpc_server.errors import FailedPrecondition, InvalidArgument, NotFound
from tracking_service.domain import (
    ACTIVE,
    DELETED,
    PARENT_RUN_ID_TAG,
    RUN_NAME_TAG,
    USER_TAG,
    Run,
    RunInfo,
)
from tracking_service.store import one_trip
from tracking_service.store import validation as v
from tracking_service.store.base import (
    RUN_INFO_COLUMNS,
    DriverCursor,
    StoreBase,
    check_run_id,
    fetch_tuples,
    make_metric,
    now_ms,
    run_info_of,
)
from tracking_service.store.mariadb_run_data import (
    JSON_MIN_RUNS,
    RunData,
    add_run_data_rows,
    mariadb_run_data,
    mysql_run_data_rows,
    run_data_rows_query,
)
from tracking_service.store.models import (
    VALUE_FINITE,
    LatestMetricRow,
    ParamRow,
    RunRow,
    TagRow,
    decode_value,
)
from tracking_service.store.names import generate_run_name
from tracking_service.store.upserts import upsert_rows

# SQLite binds at most 32,766 parameters per statement; pages may hold 50,000 runs.
_IDS_PER_QUERY = 5000
# Runs per JSON statement on MariaDB: their texts stay far below the length limit.
_IDS_PER_JSON_QUERY = 1000


def check_run_tags(tags: Mapping[str, str], field: str = "tags") -> dict[str, str]:
    for key, value in tags.items():
        v.check_key(key, f"{field}.key")
        v.check_string(value, f"{field}[{key!r}].value", v.MAX_TAG_VALUE_LENGTH)
    return dict(tags)


def set_run_tags(connection: Connection, run_id: str, tags: Mapping[str, str]) -> None:
    """Upsert tags (sorted, one lock order); `mlflow.runName` also renames the run."""
    rows = [{"run_uuid": run_id, "key": k, "value": val} for k, val in sorted(tags.items())]
    upsert_rows(connection, TagRow.__table__, rows, ("run_uuid", "key"), ("value",))  # type: ignore[arg-type]
    if RUN_NAME_TAG in tags:
        name = v.check_string(tags[RUN_NAME_TAG], f"tags[{RUN_NAME_TAG!r}].value",
                              v.MAX_RUN_NAME_LENGTH)  # fmt: skip
        connection.execute(update(RunRow).where(RunRow.run_uuid == run_id).values(name=name))


_MYSQL_EXPERIMENT_OF_NEW_RUN = (
    "SELECT lifecycle_stage, artifact_location, "
    "EXISTS (SELECT 1 FROM runs WHERE run_uuid = %s) FROM experiments WHERE experiment_id = %s"
)
_MYSQL_INSERT_RUN = (
    "INSERT INTO runs (run_uuid, name, experiment_id, user_id, status, start_time, end_time, "
    "deleted_time, lifecycle_stage, artifact_uri) "
    "VALUES (%s, %s, %s, %s, %s, %s, NULL, NULL, %s, %s)"
)
_TAG_COLUMNS = "INSERT INTO tags (run_uuid, `key`, value)"
_MYSQL_RUN_INFO = (  # RUN_INFO_COLUMNS, in their order
    "SELECT run_uuid, experiment_id, name, user_id, status, start_time, end_time, artifact_uri, "
    "lifecycle_stage FROM runs WHERE run_uuid = %s"
)
_MYSQL_INSERT_TAGS = f"{_TAG_COLUMNS} VALUES (%s, %s, %s)"
_PARAM_COLUMNS = "INSERT INTO params (run_uuid, `key`, value)"
_MYSQL_INSERT_PARAMS = f"{_PARAM_COLUMNS} VALUES (%s, %s, %s)"
# The run, only if its experiment is active and still has the artifact location we cached.
_MYSQL_INSERT_RUN_IF_EXPERIMENT_ACTIVE = (
    "INSERT INTO runs (run_uuid, name, experiment_id, user_id, status, start_time, end_time, "
    "deleted_time, lifecycle_stage, artifact_uri) "
    "SELECT %s, %s, experiment_id, %s, %s, %s, NULL, NULL, %s, %s FROM experiments "
    "WHERE experiment_id = %s AND lifecycle_stage = %s AND artifact_location = %s"
)
#: Experiments whose artifact location a store remembers at most (then it starts over).
_MAX_CACHED_LOCATIONS = 10_000


def check_new_run_place(
    number: int, experiment_stage: str, parent_run_id: str, parent_exists: object
) -> None:
    """A run may be created in an active experiment, under a parent run that exists."""
    if experiment_stage == DELETED:
        raise FailedPrecondition(
            f"experiment {number} is deleted; restore it before creating runs in it",
            field="experiment_id",
        )
    if parent_run_id and not parent_exists:
        raise NotFound(f"parent run {parent_run_id!r} does not exist", field="parent_run_id")


class RunStore(StoreBase):
    def create_run(
        self,
        experiment_id: str,
        run_name: str = "",
        user_id: str = "",
        start_time: int | None = None,
        tags: Mapping[str, str] = {},
        parent_run_id: str = "",
        status: str = "RUNNING",
        params: Sequence[v.KeyValueLike] = (),
    ) -> Run:
        """A new run with its tags (and MLflow's system tags) and its initial `params`, all in
        one transaction: a run is never seen without the params it was created with."""
        number = v.parse_experiment_id(experiment_id)
        v.check_status(status)
        v.check_string(user_id, "user_id", v.MAX_USER_ID_LENGTH)
        v.check_string(run_name, "run_name", v.MAX_RUN_NAME_LENGTH)
        if start_time is not None:
            v.check_timestamp(start_time, "start_time")
        all_tags = check_run_tags(tags)
        param_values = {key: value for key, (_, value) in v.prepare_params(params).items()}
        param_rows = [(key, value) for key, value in sorted(param_values.items())]
        tagged_name = all_tags.get(RUN_NAME_TAG, "")
        if run_name and tagged_name and tagged_name != run_name:
            raise InvalidArgument(
                f"run_name {run_name!r} differs from the {RUN_NAME_TAG} tag {tagged_name!r}; "
                "give one of them, or the same value",
                field="run_name",
            )
        name = run_name or tagged_name or generate_run_name()
        v.check_string(name, "run_name", v.MAX_RUN_NAME_LENGTH)
        all_tags[RUN_NAME_TAG] = name
        if user_id:
            all_tags.setdefault(USER_TAG, user_id)
        if parent_run_id:
            all_tags[PARENT_RUN_ID_TAG] = check_run_id(parent_run_id, "parent_run_id")
        run_id = uuid.uuid4().hex

        def work_mysql(connection: Connection) -> Run:
            # Fewest round trips: the run, then its tags in one multi-row INSERT; nothing read
            # back. The experiment is checked inside the run's INSERT when its artifact location
            # is known from an earlier run (a location never changes once the experiment is
            # created). Otherwise, or if that INSERT wrote nothing (experiment deleted or gone),
            # one SELECT reads the experiment, and the parent run in the same query.
            with DriverCursor(connection) as cursor:
                cached = self.experiment_locations.get(number)
                info = None
                if cached is not None and not parent_run_id:
                    info = new_run_info(self.experiment_location(number, cached))
                    inserted = cursor.execute(
                        _MYSQL_INSERT_RUN_IF_EXPERIMENT_ACTIVE,
                        (run_id, name, user_id, status, info.start_time, ACTIVE,
                         info.artifact_uri, number, ACTIVE, cached),
                    )  # fmt: skip
                    if inserted != 1:
                        self.experiment_locations.pop(number, None)
                        info = None
                if info is None:
                    cursor.execute(_MYSQL_EXPERIMENT_OF_NEW_RUN, (parent_run_id, number))
                    found = cursor.fetchall()
                    if not found:
                        raise NotFound(f"experiment {number} does not exist",
                                       field="experiment_id")  # fmt: skip
                    stage, stored_location, parent_exists = found[0]
                    check_new_run_place(number, stage, parent_run_id, parent_exists)
                    info = new_run_info(self.experiment_location(number, stored_location))
                    cursor.execute(
                        _MYSQL_INSERT_RUN,
                        (run_id, name, number, user_id, status, info.start_time, ACTIVE,
                         info.artifact_uri),
                    )  # fmt: skip
                    if len(self.experiment_locations) >= _MAX_CACHED_LOCATIONS:
                        self.experiment_locations.clear()
                    self.experiment_locations[number] = stored_location
                cursor.executemany(
                    _MYSQL_INSERT_TAGS, [(run_id, k, val) for k, val in sorted(all_tags.items())]
                )
                if param_rows:
                    cursor.executemany(_MYSQL_INSERT_PARAMS, [(run_id, *row) for row in param_rows])
            return Run(info=info, params=dict(param_values), tags=dict(all_tags))

        def new_run_info(location: str) -> RunInfo:
            return RunInfo(
                run_id=run_id,
                experiment_id=str(number),
                run_name=name,
                user_id=user_id,
                status=status,
                start_time=now_ms() if start_time is None else start_time,
                end_time=None,
                artifact_uri=f"{location}/{run_id}/artifacts",
                lifecycle_stage=ACTIVE,
            )

        def work(connection: Connection) -> Run:
            experiment = self.fetch_experiment_row(connection, number)
            parent_exists = (
                parent_run_id
                and connection.execute(
                    select(RunRow.run_uuid).where(RunRow.run_uuid == parent_run_id)
                ).first()
            )
            check_new_run_place(number, experiment.lifecycle_stage, parent_run_id, parent_exists)
            info = new_run_info(self.experiment_location(number, experiment.artifact_location))
            connection.execute(
                insert(RunRow).values(
                    run_uuid=run_id,
                    name=name,
                    experiment_id=number,
                    user_id=user_id,
                    status=status,
                    start_time=info.start_time,
                    end_time=None,
                    deleted_time=None,
                    lifecycle_stage=ACTIVE,
                    artifact_uri=info.artifact_uri,
                )
            )
            # A new run has no tags yet: a plain INSERT (the name is already in the row).
            connection.execute(
                insert(TagRow),
                [{"run_uuid": run_id, "key": k, "value": val} for k, val in all_tags.items()],
            )
            if param_rows:
                connection.execute(
                    insert(ParamRow),
                    [{"run_uuid": run_id, "key": k, "value": val} for k, val in param_rows],
                )
            return Run(info=info, params=dict(param_values), tags=dict(all_tags))

        def one_trip_attempt(engine: Engine, cached: str) -> Run | None:
            """The run and its tags with the COMMIT in one round trip (`one_trip.py`); None,
            with nothing written, unless the cached experiment is still active and the same."""
            info = new_run_info(self.experiment_location(number, cached))

            def build(script: one_trip.Script) -> None:
                script.add(
                    _MYSQL_INSERT_RUN_IF_EXPERIMENT_ACTIVE,
                    (run_id, name, user_id, status, info.start_time, ACTIVE, info.artifact_uri,
                     number, ACTIVE, cached),
                )  # fmt: skip
                # Joined with the run's row: no tag unless the INSERT above wrote the run.
                tag_rows = [(run_id, key, value) for key, value in sorted(all_tags.items())]
                script.add_rows_if(_TAG_COLUMNS, tag_rows, "", "runs.run_uuid = %s", (run_id,),
                                   of_run=True)  # fmt: skip
                if param_rows:
                    script.add_rows_if(_PARAM_COLUMNS, [(run_id, *row) for row in param_rows], "",
                                       "runs.run_uuid = %s", (run_id,), of_run=True)  # fmt: skip

            if one_trip.run_in_one_trip(engine, build)[0][0] != 1:
                self.experiment_locations.pop(number, None)
                return None
            return Run(info=info, params=dict(param_values), tags=dict(all_tags))

        engine = self.one_trip_engine
        cached_location = self.experiment_locations.get(number)
        if (
            engine is not None
            and cached_location is not None
            and not parent_run_id
            and len(all_tags) <= one_trip.MAX_ROWS
            and len(param_rows) <= one_trip.MAX_ROWS
        ):
            run = with_retry(lambda: one_trip_attempt(engine, cached_location), what="create_run")
            if run is not None:
                return run
        return self.write("create_run", work_mysql if self.mysql_fast else work)

    def get_run(self, run_id: str) -> Run:
        engine = self.one_trip_engine
        if engine is not None:  # MySQL/MariaDB
            return with_retry(lambda: self._get_run_in_one_trip(engine, run_id), what="get_run")

        def work(connection: Connection) -> Run:  # SQLite
            info = self.fetch_run_info(connection, run_id)
            metrics, params, tags = load_run_data(connection, [run_id])[run_id]
            return Run(info=info, metrics=metrics, params=params, tags=tags)

        return self.read(work)

    def get_run_info(self, run_id: str) -> RunInfo:
        return self.read(lambda connection: self.fetch_run_info(connection, run_id))

    def update_run(
        self,
        run_id: str,
        status: str | None = None,
        end_time: int | None = None,
        run_name: str | None = None,
    ) -> RunInfo:
        changes: dict[str, object] = {}
        if status:
            changes["status"] = v.check_status(status)
        if end_time is not None:
            changes["end_time"] = v.check_timestamp(end_time, "end_time")
        if run_name:
            changes["name"] = v.check_string(run_name, "run_name", v.MAX_RUN_NAME_LENGTH)

        def work(connection: Connection) -> RunInfo:
            self.fetch_run_info(connection, run_id, for_write=True)
            if changes:
                connection.execute(
                    update(RunRow).where(RunRow.run_uuid == run_id).values(**changes)
                )
            if run_name:
                set_run_tags(connection, run_id, {RUN_NAME_TAG: run_name})
            return self.fetch_run_info(connection, run_id)

        return self.write("update_run", work)

    def delete_run(self, run_id: str) -> None:
        self._set_lifecycle(run_id, DELETED)

    def restore_run(self, run_id: str) -> None:
        self._set_lifecycle(run_id, ACTIVE)

    def _get_run_in_one_trip(self, engine: Engine, run_id: str) -> Run:
        """MySQL: the run's row and its data as plain rows, with the COMMIT, in one round trip
        of the one-trip engine's DBAPI connection (no SQLAlchemy statement to build, compile
        and read: under load that was a quarter of GetRun's time holding the GIL)."""
        check_run_id(run_id)
        data: dict[str, RunData] = {run_id: ([], {}, {})}

        def build(script: one_trip.Script) -> None:
            script.add(_MYSQL_RUN_INFO, (run_id,))
            script.add(*run_data_rows_query([run_id]))

        (_, info_rows), (_, data_rows) = one_trip.run_in_one_trip(engine, build)
        if not info_rows:
            raise NotFound(f"run {run_id!r} does not exist", field="run_id")
        add_run_data_rows(data_rows, data)
        metrics, params, tags = data[run_id]
        return Run(info=run_info_of(info_rows[0]), metrics=metrics, params=params, tags=tags)

    def _set_lifecycle(self, run_id: str, stage: str) -> None:
        def work(connection: Connection) -> None:
            info = self.fetch_run_info(connection, run_id)
            if stage == ACTIVE and info.lifecycle_stage == ACTIVE:
                return
            if stage == ACTIVE:
                experiment = self.fetch_experiment_row(connection, int(info.experiment_id))
                if experiment.lifecycle_stage == DELETED:
                    raise FailedPrecondition(
                        f"run {run_id!r} belongs to deleted experiment {info.experiment_id}; "
                        "restore the experiment first",
                        field="run_id",
                    )
            connection.execute(
                update(RunRow)
                .where(RunRow.run_uuid == run_id)
                .values(lifecycle_stage=stage, deleted_time=now_ms() if stage == DELETED else None)
            )

        self.write(f"set run {stage}", work)


def load_run_data(
    connection: Connection, run_ids: Sequence[str], *, mysql: bool = False, mariadb: bool = False
) -> dict[str, RunData]:
    """Latest metrics, params and tags of many runs. On MySQL/MariaDB one statement per chunk
    of ids: plain rows for a few runs (GetRun), JSON texts for a page of many on MariaDB
    (`mariadb_run_data`, when the texts fit). On SQLite three queries per chunk."""
    data: dict[str, RunData] = {run_id: ([], {}, {}) for run_id in run_ids}
    ids = list(run_ids)
    if mysql or mariadb:
        as_json = mariadb and len(ids) >= JSON_MIN_RUNS
        cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            step = _IDS_PER_JSON_QUERY if as_json else _IDS_PER_QUERY
            for start in range(0, len(ids), step):
                chunk = ids[start : start + step]
                if not as_json:
                    mysql_run_data_rows(cursor, chunk, data)
                elif not mariadb_run_data(cursor, chunk, data):
                    _load_chunk(connection, chunk, data)
        finally:
            cursor.close()
        return data
    for start in range(0, len(ids), _IDS_PER_QUERY):
        _load_chunk(connection, ids[start : start + _IDS_PER_QUERY], data)
    return data


def _load_chunk(connection: Connection, ids: list[str], data: dict[str, RunData]) -> None:
    metric = LatestMetricRow
    for run_id, key, number, kind, timestamp, step in fetch_tuples(
        connection,
        select(
            metric.run_uuid, metric.key, metric.value, metric.value_kind, metric.timestamp,
            metric.step,
        ).where(metric.run_uuid.in_(ids))
    ):  # fmt: skip
        number = number if kind == VALUE_FINITE else decode_value(number, kind)
        data[run_id][0].append(make_metric(key, number, timestamp, step))
    for run_id, key, text in fetch_tuples(
        connection,
        select(ParamRow.run_uuid, ParamRow.key, ParamRow.value).where(ParamRow.run_uuid.in_(ids)),
    ):
        data[run_id][1][key] = text
    for run_id, key, text in fetch_tuples(
        connection,
        select(TagRow.run_uuid, TagRow.key, TagRow.value).where(TagRow.run_uuid.in_(ids)),
    ):
        data[run_id][2][key] = text


__all__ = ["RUN_INFO_COLUMNS", "RunStore", "check_run_tags", "load_run_data", "set_run_tags"]
