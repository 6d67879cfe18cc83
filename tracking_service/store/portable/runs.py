"""Runs: write a new run checked by `rules.new_run` (its name and MLflow's system tags are
assembled there), read, update, delete/restore."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import Connection, insert, select, update

from mlgrpc_server.errors import FailedPrecondition
from tracking_service.domain import (
    ACTIVE,
    DELETED,
    RUN_NAME_TAG,
    Run,
    RunInfo,
)
from tracking_service.store import rules
from tracking_service.store.portable.base import (
    RUN_INFO_COLUMNS,
    RunData,
    StoreBase,
    fetch_tuples,
    make_metric,
)
from tracking_service.store.portable.tables import LatestMetricRow, ParamRow, RunRow, TagRow
from tracking_service.store.portable.upserts import ConflictWrites, upsert_rows
from tracking_service.store.rules import (
    VALUE_FINITE,
    NewRun,
    check_new_run_place,
    decode_value,
    now_ms,
)

# SQLite binds at most 32,766 parameters per statement; pages may hold 50,000 runs.
_IDS_PER_QUERY = 5000


def set_run_tags(
    connection: Connection, writes: ConflictWrites, run_id: str, tags: Mapping[str, str]
) -> None:
    """Upsert tags (sorted, one lock order); `mlflow.runName` also renames the run."""
    rows = [{"run_uuid": run_id, "key": k, "value": val} for k, val in sorted(tags.items())]
    upsert_rows(connection, writes, TagRow.__table__, rows, ("run_uuid", "key"), ("value",))  # type: ignore[arg-type]
    if RUN_NAME_TAG in tags:
        name = rules.check_string(tags[RUN_NAME_TAG], f"tags[{RUN_NAME_TAG!r}].value",
                              rules.MAX_RUN_NAME_LENGTH)  # fmt: skip
        connection.execute(update(RunRow).where(RunRow.run_uuid == run_id).values(name=name))


class RunStore(StoreBase):
    def create_run_portable(self, new: NewRun) -> Run:
        """Write a checked new run, its tags and params in one transaction."""

        def work(connection: Connection) -> Run:
            experiment = self.fetch_experiment_row(connection, new.experiment)
            parent_exists = (
                new.parent_run_id
                and connection.execute(
                    select(RunRow.run_uuid).where(RunRow.run_uuid == new.parent_run_id)
                ).first()
            )
            check_new_run_place(new.experiment, experiment.lifecycle_stage, new.parent_run_id,
                                parent_exists)  # fmt: skip
            info = new.info(self.experiment_location(new.experiment, experiment.artifact_location))
            connection.execute(
                insert(RunRow).values(
                    run_uuid=new.run_id,
                    name=new.name,
                    experiment_id=new.experiment,
                    user_id=new.user_id,
                    status=new.status,
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
                [{"run_uuid": new.run_id, "key": k, "value": val} for k, val in new.tags.items()],
            )
            if new.params:
                connection.execute(
                    insert(ParamRow),
                    [{"run_uuid": new.run_id, "key": k, "value": val} for k, val in new.param_rows],
                )
            return new.as_run(info)

        return self.write("create_run", work)

    def get_run_portable(self, run_id: str) -> Run:
        def work(connection: Connection) -> Run:
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
            changes["status"] = rules.check_status(status)
        if end_time is not None:
            changes["end_time"] = rules.check_timestamp(end_time, "end_time")
        if run_name:
            changes["name"] = rules.check_string(run_name, "run_name", rules.MAX_RUN_NAME_LENGTH)

        def work(connection: Connection) -> RunInfo:
            self.fetch_run_info(connection, run_id, for_write=True)
            if changes:
                connection.execute(
                    update(RunRow).where(RunRow.run_uuid == run_id).values(**changes)
                )
            if run_name:
                set_run_tags(connection, self.writes, run_id, {RUN_NAME_TAG: run_name})
            return self.fetch_run_info(connection, run_id)

        return self.write("update_run", work)

    def delete_run(self, run_id: str) -> None:
        self._set_lifecycle(run_id, DELETED)

    def restore_run(self, run_id: str) -> None:
        self._set_lifecycle(run_id, ACTIVE)

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


def load_run_data(connection: Connection, run_ids: Sequence[str]) -> dict[str, RunData]:
    """Latest metrics, params and tags of many runs: three queries per chunk of ids."""
    data: dict[str, RunData] = {run_id: ([], {}, {}) for run_id in run_ids}
    ids = list(run_ids)
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


__all__ = [
    "RUN_INFO_COLUMNS",
    "RunStore",
    "load_run_data",
    "set_run_tags",
]
