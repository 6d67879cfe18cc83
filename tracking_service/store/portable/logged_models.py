"""LoggedModels: create, get, finalize, delete, params, tags, and the metric values linked to
them. Portable SQLAlchemy (bound parameters only) for SQLite, MariaDB/MySQL and PostgreSQL;
every public method is one transaction."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, delete, insert, select, tuple_, update

from mlgrpc_server.errors import FailedPrecondition, InvalidArgument, NotFound
from tracking_service.domain import ACTIVE, DELETED
from tracking_service.logged_model_domain import (
    FAILED,
    PENDING,
    READY,
    LoggedModel,
    LoggedModelMetric,
)
from tracking_service.store import rules
from tracking_service.store.portable.base import StoreBase
from tracking_service.store.portable.logged_model_tables import (
    LoggedModelMetricRow,
    LoggedModelParamRow,
    LoggedModelRow,
    LoggedModelTagRow,
)
from tracking_service.store.portable.tables import RunRow
from tracking_service.store.rules import decode_value


class LoggedModelStore(StoreBase):
    def create_logged_model(
        self,
        experiment_id: str,
        name: str = "",
        model_type: str = "",
        source_run_id: str = "",
        params: Sequence[rules.KeyValueLike] = (),
        tags: Sequence[rules.KeyValueLike] = (),
    ) -> LoggedModel:
        number = rules.parse_experiment_id(experiment_id)
        name = (
            rules.check_string(name, "name", rules.MAX_MODEL_NAME_LENGTH)
            or rules.generate_run_name()
        )
        rules.check_string(model_type, "model_type", rules.MAX_MODEL_TYPE_LENGTH)
        prepared_params = {key: value for key, (_, value) in rules.prepare_params(params).items()}
        prepared_tags = rules.prepare_tags(tags)
        model_id = rules.new_model_id()

        def work(connection: Connection) -> LoggedModel:
            experiment = self.fetch_experiment_row(connection, number)
            if experiment.lifecycle_stage == DELETED:
                raise FailedPrecondition(
                    f"experiment {number} is deleted; restore it before logging models to it",
                    field="experiment_id",
                )
            if source_run_id:
                run_experiment = connection.execute(
                    select(RunRow.experiment_id).where(RunRow.run_uuid == source_run_id)
                ).scalar()
                if run_experiment is None:
                    raise NotFound(f"run {source_run_id!r} does not exist", field="source_run_id")
                if run_experiment != number:
                    raise InvalidArgument(
                        f"source run {source_run_id!r} is in experiment {run_experiment}, "
                        f"not in {number}",
                        field="source_run_id",
                    )
            location = self.experiment_location(number, experiment.artifact_location)
            now = rules.now_ms()
            connection.execute(
                insert(LoggedModelRow).values(
                    model_id=model_id,
                    experiment_id=number,
                    name=name,
                    source_run_id=source_run_id or None,
                    status=PENDING,
                    status_message="",
                    model_type=model_type,
                    artifact_location=f"{location}/models/{model_id}/artifacts",
                    lifecycle_stage=ACTIVE,
                    creation_timestamp_ms=now,
                    last_updated_timestamp_ms=now,
                )
            )
            _insert_key_values(connection, LoggedModelParamRow, model_id, prepared_params)
            _insert_key_values(connection, LoggedModelTagRow, model_id, prepared_tags)
            return load_logged_model(connection, model_id)

        return self.write("create_logged_model", work)

    def get_logged_model(self, model_id: str, allow_deleted: bool = False) -> LoggedModel:
        rules.check_model_id(model_id)
        return self.read(lambda c: load_logged_model(c, model_id, allow_deleted=allow_deleted))

    def finalize_logged_model(
        self, model_id: str, status: str, status_message: str = ""
    ) -> LoggedModel:
        rules.check_model_id(model_id)
        if status not in (READY, FAILED):
            raise InvalidArgument(
                f"status {status!r} is not a final status; use READY or FAILED", field="status"
            )
        rules.check_string(status_message, "status_message", rules.MAX_STATUS_MESSAGE_LENGTH)

        def work(connection: Connection) -> LoggedModel:
            self._require_active(connection, model_id)
            connection.execute(
                update(LoggedModelRow)
                .where(LoggedModelRow.model_id == model_id)
                .values(
                    status=status,
                    status_message=status_message,
                    last_updated_timestamp_ms=rules.now_ms(),
                )
            )
            return load_logged_model(connection, model_id)

        return self.write("finalize_logged_model", work)

    def delete_logged_model(self, model_id: str) -> None:
        rules.check_model_id(model_id)

        def work(connection: Connection) -> None:
            self._require_active(connection, model_id)
            connection.execute(
                update(LoggedModelRow)
                .where(LoggedModelRow.model_id == model_id)
                .values(lifecycle_stage=DELETED, last_updated_timestamp_ms=rules.now_ms())
            )

        self.write("delete_logged_model", work)

    def set_logged_model_tags(self, model_id: str, tags: Sequence[rules.KeyValueLike]) -> None:
        rules.check_model_id(model_id)
        prepared = rules.prepare_tags(tags)

        def work(connection: Connection) -> None:
            self._require_active(connection, model_id)
            if prepared:
                connection.execute(
                    delete(LoggedModelTagRow).where(
                        LoggedModelTagRow.model_id == model_id,
                        LoggedModelTagRow.key.in_(list(prepared)),
                    )
                )
            _insert_key_values(connection, LoggedModelTagRow, model_id, prepared)
            self._touch(connection, model_id)

        self.write("set_logged_model_tags", work)

    def delete_logged_model_tag(self, model_id: str, key: str) -> None:
        rules.check_model_id(model_id)
        rules.check_key(key, "tag_key")

        def work(connection: Connection) -> None:
            self._require_active(connection, model_id)
            result = connection.execute(
                delete(LoggedModelTagRow).where(
                    LoggedModelTagRow.model_id == model_id, LoggedModelTagRow.key == key
                )
            )
            if result.rowcount == 0:
                raise NotFound(f"logged model {model_id!r} has no tag {key!r}", field="tag_key")
            self._touch(connection, model_id)

        self.write("delete_logged_model_tag", work)

    def log_logged_model_params(self, model_id: str, params: Sequence[rules.KeyValueLike]) -> None:
        rules.check_model_id(model_id)
        prepared = rules.prepare_params(params)

        def work(connection: Connection) -> None:
            self._require_active(connection, model_id)
            existing = dict(
                connection.execute(
                    select(LoggedModelParamRow.key, LoggedModelParamRow.value).where(
                        LoggedModelParamRow.model_id == model_id,
                        LoggedModelParamRow.key.in_(list(prepared)),
                    )
                ).all()
            )
            for key, (index, value) in prepared.items():
                if key in existing and existing[key] != value:
                    raise InvalidArgument(
                        f"param {key!r} of logged model {model_id!r} is already "
                        f"{existing[key]!r}; params are immutable (got {value!r})",
                        field=f"params[{index}].value",
                    )
            new = {key: value for key, (_, value) in prepared.items() if key not in existing}
            _insert_key_values(connection, LoggedModelParamRow, model_id, new)
            self._touch(connection, model_id)

        self.write("log_logged_model_params", work)

    def logged_model_artifact_location(self, model_id: str, *, writing: bool) -> str:
        """The model's artifact root; writing needs it active (FAILED_PRECONDITION)."""
        rules.check_model_id(model_id)

        def work(connection: Connection) -> str:
            row = connection.execute(
                select(LoggedModelRow.artifact_location, LoggedModelRow.lifecycle_stage).where(
                    LoggedModelRow.model_id == model_id
                )
            ).first()
            if row is None:
                raise NotFound(f"logged model {model_id!r} does not exist", field="model_id")
            if writing and row.lifecycle_stage == DELETED:
                raise FailedPrecondition(f"logged model {model_id!r} is deleted", field="model_id")
            return str(row.artifact_location)

        return self.read(work)

    @staticmethod
    def _require_active(connection: Connection, model_id: str) -> None:
        stage = connection.execute(
            select(LoggedModelRow.lifecycle_stage).where(LoggedModelRow.model_id == model_id)
        ).scalar()
        if stage is None or stage == DELETED:
            raise NotFound(f"logged model {model_id!r} does not exist", field="model_id")

    @staticmethod
    def _touch(connection: Connection, model_id: str) -> None:
        connection.execute(
            update(LoggedModelRow)
            .where(LoggedModelRow.model_id == model_id)
            .values(last_updated_timestamp_ms=rules.now_ms())
        )


def write_model_metrics(connection: Connection, rows: rules.ModelMetricRows) -> None:
    """Link metric values a run logged with a `model_id` to their models, in the caller's
    transaction (LogBatch's: the run's values and their links are written together or not at
    all); NotFound if a model does not exist. A value logged again replaces the linked one."""
    model_ids = sorted({key[0] for key in rows})
    _require_models(connection, model_ids)
    table = LoggedModelMetricRow
    columns = (
        table.model_id,
        table.key,
        table.step,
        table.timestamp,
        table.run_uuid,
        table.dataset_name,
        table.dataset_digest,
    )
    connection.execute(delete(table).where(tuple_(*columns).in_(list(rows))))
    connection.execute(insert(table), list(rows.values()))
    connection.execute(
        update(LoggedModelRow)
        .where(LoggedModelRow.model_id.in_(model_ids))
        .values(last_updated_timestamp_ms=rules.now_ms())
    )


def _require_models(connection: Connection, model_ids: Sequence[str]) -> None:
    found = set(
        connection.execute(
            select(LoggedModelRow.model_id).where(LoggedModelRow.model_id.in_(list(model_ids)))
        ).scalars()
    )
    missing = [model_id for model_id in model_ids if model_id not in found]
    if missing:
        raise NotFound(f"logged model {missing[0]!r} does not exist", field="metrics.model_id")


def _insert_key_values(
    connection: Connection, table: Any, model_id: str, items: Mapping[str, str]
) -> None:
    if items:
        connection.execute(
            insert(table),
            [{"model_id": model_id, "key": key, "value": value} for key, value in items.items()],
        )


def load_logged_model(
    connection: Connection, model_id: str, *, allow_deleted: bool = False
) -> LoggedModel:
    models = load_logged_models(connection, [model_id])
    model = models.get(model_id)
    if model is None or (model.lifecycle_stage == DELETED and not allow_deleted):
        raise NotFound(f"logged model {model_id!r} does not exist", field="model_id")
    return model


def load_logged_models(connection: Connection, model_ids: Iterable[str]) -> dict[str, LoggedModel]:
    """The models (with params, tags and linked metrics) of `model_ids`, by id."""
    ids = list(dict.fromkeys(model_ids))
    if not ids:
        return {}
    params: dict[str, dict[str, str]] = {model_id: {} for model_id in ids}
    tags: dict[str, dict[str, str]] = {model_id: {} for model_id in ids}
    metrics: dict[str, list[LoggedModelMetric]] = {model_id: [] for model_id in ids}
    for table, target in ((LoggedModelParamRow, params), (LoggedModelTagRow, tags)):
        for model_id, key, value in connection.execute(
            select(table.model_id, table.key, table.value).where(table.model_id.in_(ids))
        ):
            target[model_id][key] = value
    m = LoggedModelMetricRow
    for row in connection.execute(
        select(m.__table__).where(m.model_id.in_(ids)).order_by(m.key, m.step, m.timestamp)
    ):
        metrics[row.model_id].append(
            LoggedModelMetric(
                key=row.key,
                value=decode_value(row.value, row.value_kind),
                timestamp=row.timestamp,
                step=row.step,
                run_id=row.run_uuid,
                dataset_name=row.dataset_name,
                dataset_digest=row.dataset_digest,
            )
        )
    out = {}
    for row in connection.execute(
        select(LoggedModelRow.__table__).where(LoggedModelRow.model_id.in_(ids))
    ):
        out[row.model_id] = LoggedModel(
            model_id=row.model_id,
            experiment_id=str(row.experiment_id),
            name=row.name,
            artifact_location=row.artifact_location,
            status=row.status,
            creation_timestamp_ms=row.creation_timestamp_ms,
            last_updated_timestamp_ms=row.last_updated_timestamp_ms,
            source_run_id=row.source_run_id or "",
            status_message=row.status_message,
            model_type=row.model_type,
            lifecycle_stage=row.lifecycle_stage,
            params=params[row.model_id],
            tags=tags[row.model_id],
            metrics=_latest_per_key(metrics[row.model_id]),
        )
    return out


def _latest_per_key(values: list[LoggedModelMetric]) -> list[LoggedModelMetric]:
    """The latest value per (key, dataset), as MLflow shows a model's metrics: greatest
    (step, timestamp)."""
    latest: dict[tuple[str, str, str], LoggedModelMetric] = {}
    for metric in values:
        slot = (metric.key, metric.dataset_name, metric.dataset_digest)
        current = latest.get(slot)
        if current is None or (metric.step, metric.timestamp) >= (
            current.step,
            current.timestamp,
        ):
            latest[slot] = metric
    return list(latest.values())
