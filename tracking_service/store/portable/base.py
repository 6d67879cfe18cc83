"""What every part of `SqlTrackingStore` shares: the engine, transactions with retry, lookups."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, Row, select

from mlgrpc_server.db import with_retry
from mlgrpc_server.errors import FailedPrecondition, NotFound
from tracking_service.domain import DELETED, Metric, RunInfo
from tracking_service.store.portable.tables import ExperimentRow, RunRow
from tracking_service.store.portable.upserts import ConflictWrites
from tracking_service.store.rules import check_run_id

T = TypeVar("T")

#: A run's latest metrics, params and tags.
RunData = tuple[list[Metric], dict[str, str], dict[str, str]]

RUN_INFO_COLUMNS = (
    RunRow.run_uuid,
    RunRow.experiment_id,
    RunRow.name,
    RunRow.user_id,
    RunRow.status,
    RunRow.start_time,
    RunRow.end_time,
    RunRow.artifact_uri,
    RunRow.lifecycle_stage,
)


def make_metric(key: str, value: float, timestamp: int, step: int) -> Metric:
    """`Metric(key, value, timestamp, step)` without the frozen dataclass __init__ (four
    object.__setattr__ calls): a third of the Python time of reading a 25,000-point history.
    The object is equal to, and behaves as, one built by the constructor."""
    metric = _new_object(Metric)
    metric.__dict__.update(key=key, value=value, timestamp=timestamp, step=step)
    return metric


_new_object = object.__new__


def run_info_of(row: tuple) -> RunInfo:  # type: ignore[type-arg]
    """A RunInfo from a row of RUN_INFO_COLUMNS (in that order)."""
    run_id, experiment_id, name, user_id, status, start, end, uri, stage = row[:9]
    info = _new_object(RunInfo)  # as in make_metric: a page holds up to 50,000 of them
    info.__dict__.update(
        run_id=run_id,
        experiment_id=str(experiment_id),
        run_name=name,
        user_id=user_id,
        status=status,
        start_time=start,
        end_time=end,
        artifact_uri=uri,
        lifecycle_stage=stage,
    )
    return info


def fetch_tuples(connection: Connection, statement: Any) -> list[tuple[Any, ...]]:
    """All rows as plain tuples, read straight from the DBAPI cursor (in the same transaction).

    For large results (a 25,000-point metric history): SQLAlchemy's Row objects cost a few
    µs per row on top of the driver. Only for statements whose types need no bind or result
    processing (strings, integers, floats).
    """
    sql, parameters = driver_sql(connection, statement)
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql, parameters)
        return list(cursor.fetchall())
    finally:
        cursor.close()


def driver_sql(connection: Connection | Engine, statement: Any) -> tuple[str, Any]:
    """The SQL text and parameters the DBAPI driver of `connection` (or of an engine's
    connections) takes for `statement`."""
    compiled = statement.compile(
        dialect=connection.dialect, compile_kwargs={"render_postcompile": True}
    )
    parameters: Any = compiled.params
    if compiled.positional:
        parameters = tuple(parameters[name] for name in compiled.positiontup or ())
    return str(compiled), parameters


class StoreBase:
    """The portable store's shared part: SQLAlchemy only, correct on every supported database.

    Nothing here (nor in the mixins built on it) knows the fast paths of `dialects/`:
    `SqlTrackingStore` tries those first and calls the portable methods otherwise.
    """

    engine: Engine
    #: how this database writes rows that may already exist (chosen once, at start-up)
    writes: ConflictWrites
    artifact_root: str

    def write(self, what: str, work: Callable[[Connection], T]) -> T:
        """`work` in one transaction, run again after a deadlock or a dropped connection."""

        def attempt() -> T:
            with self.engine.begin() as connection:
                return work(connection)

        return with_retry(attempt, what=what)

    def read(self, work: Callable[[Connection], T]) -> T:
        # An explicit transaction, ended here: reads that only use the DBAPI cursor
        # (`fetch_tuples`) must not hand the pool a connection in an open transaction (the pool
        # does not roll back on return on MySQL, see create_db_engine).
        with self.engine.connect() as connection, connection.begin():
            return work(connection)

    def experiment_location(self, experiment_id: int, stored: str) -> str:
        return stored or f"{self.artifact_root}/{experiment_id}"

    @staticmethod
    def fetch_run_info(connection: Connection, run_id: str, *, for_write: bool = False) -> RunInfo:
        check_run_id(run_id)
        row = connection.execute(select(*RUN_INFO_COLUMNS).where(RunRow.run_uuid == run_id)).first()
        if row is None:
            raise NotFound(f"run {run_id!r} does not exist", field="run_id")
        info = run_info_of(tuple(row))
        if for_write and info.lifecycle_stage == DELETED:
            raise FailedPrecondition(
                f"run {run_id!r} is deleted; restore it before writing to it", field="run_id"
            )
        return info

    @staticmethod
    def require_active_run(connection: Connection, run_id: str) -> None:
        """The cheap check of the logging hot path: the run exists and is not deleted."""
        check_run_id(run_id)
        stage = connection.execute(
            select(RunRow.lifecycle_stage).where(RunRow.run_uuid == run_id)
        ).scalar()
        if stage is None:
            raise NotFound(f"run {run_id!r} does not exist", field="run_id")
        if stage == DELETED:
            raise FailedPrecondition(
                f"run {run_id!r} is deleted; restore it before logging to it", field="run_id"
            )

    @staticmethod
    def fetch_experiment_row(connection: Connection, experiment_id: int) -> Row[Any]:
        """The experiments row (attributes named as the columns); NotFound if there is none."""
        table = ExperimentRow.__table__
        row = connection.execute(
            select(table).where(table.c.experiment_id == experiment_id)
        ).first()
        if row is None:
            raise NotFound(f"experiment {experiment_id} does not exist", field="experiment_id")
        return row
