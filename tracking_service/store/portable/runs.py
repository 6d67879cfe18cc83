"""Runs: create (with generated names and MLflow's system tags), read, update, delete/restore."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, insert, select, update

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
from tracking_service.store import rules
from tracking_service.store.names import generate_run_name
from tracking_service.store.portable.base import (
    RUN_INFO_COLUMNS,
    RunData,
    StoreBase,
    check_run_id,
    fetch_tuples,
    make_metric,
    now_ms,
)
from tracking_service.store.portable.tables import (
    VALUE_FINITE,
    LatestMetricRow,
    ParamRow,
    RunRow,
    TagRow,
    decode_value,
)
from tracking_service.store.portable.upserts import upsert_rows

# SQLite binds at most 32,766 parameters per statement; pages may hold 50,000 runs.
_IDS_PER_QUERY = 5000


def check_run_tags(tags: Mapping[str, str], field: str = "tags") -> dict[str, str]:
    for key, value in tags.items():
        rules.check_key(key, f"{field}.key")
        rules.check_string(value, f"{field}[{key!r}].value", rules.MAX_TAG_VALUE_LENGTH)
    return dict(tags)


def set_run_tags(connection: Connection, run_id: str, tags: Mapping[str, str]) -> None:
    """Upsert tags (sorted, one lock order); `mlflow.runName` also renames the run."""
    rows = [{"run_uuid": run_id, "key": k, "value": val} for k, val in sorted(tags.items())]
    upsert_rows(connection, TagRow.__table__, rows, ("run_uuid", "key"), ("value",))  # type: ignore[arg-type]
    if RUN_NAME_TAG in tags:
        name = rules.check_string(tags[RUN_NAME_TAG], f"tags[{RUN_NAME_TAG!r}].value",
                              rules.MAX_RUN_NAME_LENGTH)  # fmt: skip
        connection.execute(update(RunRow).where(RunRow.run_uuid == run_id).values(name=name))


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


@dataclass(frozen=True, slots=True)
class NewRun:
    """A CreateRun request after every check (`RunStore.new_run`): what to write."""

    run_id: str
    experiment: int
    name: str
    user_id: str
    status: str
    start_time: int
    parent_run_id: str
    #: with MLflow's system tags (run name, user, parent)
    tags: dict[str, str]
    params: dict[str, str]

    @property
    def param_rows(self) -> list[tuple[str, str]]:
        """(key, value) sorted by key: one lock order for concurrent writers."""
        return sorted(self.params.items())

    def info(self, experiment_location: str) -> RunInfo:
        return RunInfo(
            run_id=self.run_id,
            experiment_id=str(self.experiment),
            run_name=self.name,
            user_id=self.user_id,
            status=self.status,
            start_time=self.start_time,
            end_time=None,
            artifact_uri=f"{experiment_location}/{self.run_id}/artifacts",
            lifecycle_stage=ACTIVE,
        )

    def as_run(self, info: RunInfo) -> Run:
        return Run(info=info, params=dict(self.params), tags=dict(self.tags))


class RunStore(StoreBase):
    def new_run(
        self,
        experiment_id: str,
        run_name: str = "",
        user_id: str = "",
        start_time: int | None = None,
        tags: Mapping[str, str] = {},
        parent_run_id: str = "",
        status: str = "RUNNING",
        params: Sequence[rules.KeyValueLike] = (),
    ) -> NewRun:
        """The rules of CreateRun (no SQL): a new run with its tags (and MLflow's system tags)
        and its initial `params`, written in one transaction by `create_run_portable` or a fast
        path: a run is never seen without the params it was created with."""
        number = rules.parse_experiment_id(experiment_id)
        rules.check_status(status)
        rules.check_string(user_id, "user_id", rules.MAX_USER_ID_LENGTH)
        rules.check_string(run_name, "run_name", rules.MAX_RUN_NAME_LENGTH)
        if start_time is not None:
            rules.check_timestamp(start_time, "start_time")
        all_tags = check_run_tags(tags)
        param_values = {key: value for key, (_, value) in rules.prepare_params(params).items()}
        tagged_name = all_tags.get(RUN_NAME_TAG, "")
        if run_name and tagged_name and tagged_name != run_name:
            raise InvalidArgument(
                f"run_name {run_name!r} differs from the {RUN_NAME_TAG} tag {tagged_name!r}; "
                "give one of them, or the same value",
                field="run_name",
            )
        name = run_name or tagged_name or generate_run_name()
        rules.check_string(name, "run_name", rules.MAX_RUN_NAME_LENGTH)
        all_tags[RUN_NAME_TAG] = name
        if user_id:
            all_tags.setdefault(USER_TAG, user_id)
        if parent_run_id:
            all_tags[PARENT_RUN_ID_TAG] = check_run_id(parent_run_id, "parent_run_id")
        return NewRun(
            run_id=uuid.uuid4().hex,
            experiment=number,
            name=name,
            user_id=user_id,
            status=status,
            start_time=now_ms() if start_time is None else start_time,
            parent_run_id=parent_run_id,
            tags=all_tags,
            params=param_values,
        )

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
                set_run_tags(connection, run_id, {RUN_NAME_TAG: run_name})
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
    "NewRun",
    "RunStore",
    "check_run_tags",
    "load_run_data",
    "set_run_tags",
]
