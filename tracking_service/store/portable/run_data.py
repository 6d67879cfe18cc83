"""Writing a checked LogBatch (the hot path) and deleting tags (history: metric_history.py).

The batch arrives checked (`rules.check_batch`: every key and value, the rows to write); this
module only writes it, portably.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection, delete, insert, select
from sqlalchemy.exc import IntegrityError

from mlgrpc_server.errors import FailedPrecondition, NotFound
from tracking_service.domain import DELETED, LOG_MODEL_HISTORY_TAG
from tracking_service.store import rules
from tracking_service.store.portable import batch_ids
from tracking_service.store.portable.base import StoreBase
from tracking_service.store.portable.logged_models import write_model_metrics
from tracking_service.store.portable.runs import set_run_tags
from tracking_service.store.portable.tables import ParamRow, RunRow, TagRow
from tracking_service.store.portable.upserts import insert_metric_history, upsert_latest_metrics
from tracking_service.store.rules import (
    BatchOutcome,
    CheckedBatch,
    ParamValues,
    check_params_unchanged,
)


def _write_params(connection: Connection, run_id: str, params: ParamValues) -> None:
    rows = connection.execute(
        select(ParamRow.key, ParamRow.value).where(
            ParamRow.run_uuid == run_id, ParamRow.key.in_(list(params))
        )
    )
    existing = {key: value for key, value in rows}
    check_params_unchanged(run_id, params, existing)
    new_rows = [
        {"run_uuid": run_id, "key": key, "value": value}
        for key, (_, value) in sorted(params.items())
        if key not in existing
    ]
    if new_rows:
        connection.execute(insert(ParamRow), new_rows)


class RunDataStore(StoreBase):
    def log_batch_portable(self, batch: CheckedBatch) -> BatchOutcome:
        """Write it all in one transaction (or nothing). With a `batch_id` the batch is
        idempotent: an id already written makes this a replay that writes nothing (see
        `batch_ids.py`)."""
        run_id = batch.run_id

        def work(connection: Connection) -> BatchOutcome:
            self.require_active_run(connection, run_id)
            if batch.batch_id:
                replay = batch_ids.record_batch_id(
                    connection, self.writes, batch.batch_id, run_id, batch.written.rows_written
                )
                if replay is not None:
                    return replay
            if batch.params:
                _write_params(connection, run_id, batch.params)
            if batch.tags:
                set_run_tags(connection, self.writes, run_id, batch.tags)
            if batch.metric_rows:
                insert_metric_history(connection, self.writes, batch.metric_rows)
                upsert_latest_metrics(connection, self.writes, batch.latest_rows)
            if batch.model_metric_rows:  # MLflow 3: values logged with a model id
                write_model_metrics(connection, batch.model_metric_rows)
            return batch.written

        return self.write_batch(batch, work)

    def write_batch(
        self, batch: CheckedBatch, work: Callable[[Connection], BatchOutcome]
    ) -> BatchOutcome:
        """`work` in a transaction, once more if it lost a race to insert a new param; then the
        batch ids' housekeeping."""
        try:
            outcome = self.write("log_batch", work)
        except IntegrityError:
            if not batch.params:
                raise
            # A concurrent batch inserted one of our new params first: once more, now seeing it.
            outcome = self.write("log_batch", work)
        if batch.batch_id:
            batch_ids.maybe_delete_expired(self.engine)
        return outcome

    def delete_tag(self, run_id: str, key: str) -> None:
        rules.check_key(key, "key")

        def work(connection: Connection) -> None:
            self.fetch_run_info(connection, run_id, for_write=True)
            result = connection.execute(
                delete(TagRow).where(TagRow.run_uuid == run_id, TagRow.key == key)
            )
            if result.rowcount == 0:
                raise NotFound(f"run {run_id!r} has no tag {key!r}", field="key")

        self.write("delete_tag", work)

    def log_model(self, run_id: str, model_json: str) -> None:
        """Append a model's MLmodel description to the run's `mlflow.log-model.history` tag:
        read and written in one transaction holding the run's row lock, so that concurrent
        calls on one run each add their entry (SQLite: BEGIN IMMEDIATE serialises writers)."""
        rules.check_run_id(run_id)
        model = rules.parse_model_json(model_json)

        def work(connection: Connection) -> None:
            stage = connection.execute(
                select(RunRow.lifecycle_stage).where(RunRow.run_uuid == run_id).with_for_update()
            ).scalar()
            if stage is None:
                raise NotFound(f"run {run_id!r} does not exist", field="run_id")
            if stage == DELETED:
                raise FailedPrecondition(
                    f"run {run_id!r} is deleted; restore it before logging to it", field="run_id"
                )
            stored = connection.execute(
                select(TagRow.value).where(
                    TagRow.run_uuid == run_id, TagRow.key == LOG_MODEL_HISTORY_TAG
                )
            ).scalar()
            value = rules.appended_model_history(stored, model)
            set_run_tags(connection, self.writes, run_id, {LOG_MODEL_HISTORY_TAG: value})

        self.write("log_model", work)
