"""Logging metrics, params and tags (the hot path), deleting tags (history: metric_history.py).

Duck typing: `log_batch` accepts any objects with `.key/.value/.timestamp/.step` as metrics
(`MetricLike`) and `.key/.value` as params and tags (`KeyValueLike`) — the domain dataclasses,
or the protobuf messages of a request as they are, so the servicer need not copy them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import Connection, delete, insert, select
from sqlalchemy.exc import IntegrityError

from mlgrpc_server.errors import InvalidArgument, NotFound
from tracking_service.store import rules
from tracking_service.store.portable import batch_ids
from tracking_service.store.portable.base import StoreBase, check_run_id
from tracking_service.store.portable.batch_ids import BatchOutcome
from tracking_service.store.portable.runs import set_run_tags
from tracking_service.store.portable.tables import (
    ParamRow,
    TagRow,
    encode_value,
)
from tracking_service.store.portable.upserts import (
    MetricTuple,
    insert_metric_history,
    upsert_latest_metrics,
)
from tracking_service.store.rules import KeyValueLike, prepare_params, prepare_tags

_INT64 = (-(2**63), 2**63 - 1)

#: A batch's params: key → (its index in the request, its value).
ParamValues = dict[str, tuple[int, str]]


@dataclass(frozen=True, slots=True)
class CheckedBatch:
    """A LogBatch request after every check: what the portable path and the fast paths write."""

    run_id: str
    #: history rows; one latest-value candidate per key, sorted by key (see `prepare_metrics`)
    metric_rows: list[MetricTuple]
    latest_rows: list[MetricTuple]
    params: ParamValues
    tags: dict[str, str]
    batch_id: str
    #: what the call answers when it writes the batch
    written: BatchOutcome


class MetricLike(Protocol):
    """What log_batch reads of a metric: `domain.Metric`, or a protobuf Metric message."""

    @property
    def key(self) -> str: ...
    @property
    def value(self) -> float: ...
    @property
    def timestamp(self) -> int: ...
    @property
    def step(self) -> int: ...


def prepare_metrics(
    run_id: str, metrics: Sequence[MetricLike], max_metrics: int
) -> tuple[list[MetricTuple], list[MetricTuple]]:
    """Validated history rows, and one latest-value candidate per key sorted by key."""
    rules.check_count(len(metrics), max_metrics, "metrics")
    rows: list[MetricTuple] = []
    best: dict[str, MetricTuple] = {}
    valid_keys: set[str] = set()
    low, high = _INT64
    for index, metric in enumerate(metrics):
        key = metric.key
        if key not in valid_keys:
            rules.check_key(key, f"metrics[{index}].key")
            valid_keys.add(key)
        value, timestamp, step = metric.value, metric.timestamp, metric.step
        if isinstance(value, bool) or not isinstance(value, (float, int)):
            raise InvalidArgument(f"metrics[{index}].value must be a number, got {value!r}",
                                  field=f"metrics[{index}].value")  # fmt: skip
        if not isinstance(timestamp, int) or not 0 <= timestamp <= high:
            rules.check_timestamp(timestamp, f"metrics[{index}].timestamp")
            raise InvalidArgument(f"metrics[{index}].timestamp is out of range",
                                  field=f"metrics[{index}].timestamp")  # fmt: skip
        if isinstance(step, bool) or not isinstance(step, int) or not low <= step <= high:
            raise InvalidArgument(
                f"metrics[{index}].step must be a 64-bit integer, got {step!r}",
                field=f"metrics[{index}].step",
            )
        if math.isfinite(value):
            row = (run_id, key, step, timestamp, float(value), 0)
        else:
            stored, kind = encode_value(value)
            row = (run_id, key, step, timestamp, stored, kind)
        rows.append(row)
        current = best.get(key)
        if current is None or row[2:5] > current[2:5]:
            best[key] = row
    return rows, [best[key] for key in sorted(best)]


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


def check_params_unchanged(run_id: str, params: ParamValues, existing: dict[str, str]) -> None:
    """InvalidArgument if a param of the batch was logged before with another value."""
    for key, (index, value) in sorted(params.items()):
        if key in existing and existing[key] != value:
            raise InvalidArgument(
                f"Changing param values is not allowed. Param with key={key!r} was already "
                f"logged with value={existing[key]!r} for run ID={run_id!r}. Attempted logging "
                f"new value {value!r}.",
                field=f"params[{index}].value",
            )


class RunDataStore(StoreBase):
    def check_batch(
        self,
        run_id: str,
        metrics: Sequence[MetricLike] = (),
        params: Sequence[KeyValueLike] = (),
        tags: Sequence[KeyValueLike] = (),
        *,
        max_metrics: int = rules.MAX_METRICS_PER_BATCH,
        batch_id: str = "",
    ) -> CheckedBatch:
        """The rules of LogBatch (no SQL): every value checked, rows ready to write."""
        check_run_id(run_id)
        metric_rows, latest_rows = prepare_metrics(run_id, metrics, max_metrics)
        param_values = prepare_params(params)
        tag_values = prepare_tags(tags)
        if batch_id:
            batch_ids.check_batch_id(batch_id)
        written = BatchOutcome(len(metric_rows) + len(params) + len(tags))
        return CheckedBatch(run_id, metric_rows, latest_rows, param_values, tag_values, batch_id,
                            written)  # fmt: skip

    def log_batch_portable(self, batch: CheckedBatch) -> BatchOutcome:
        """Write it all in one transaction (or nothing). With a `batch_id` the batch is
        idempotent: an id already written makes this a replay that writes nothing (see
        `batch_ids.py`)."""
        run_id = batch.run_id

        def work(connection: Connection) -> BatchOutcome:
            self.require_active_run(connection, run_id)
            if batch.batch_id:
                replay = batch_ids.record_batch_id(
                    connection, batch.batch_id, run_id, batch.written.rows_written
                )
                if replay is not None:
                    return replay
            if batch.params:
                _write_params(connection, run_id, batch.params)
            if batch.tags:
                set_run_tags(connection, run_id, batch.tags)
            if batch.metric_rows:
                insert_metric_history(connection, batch.metric_rows)
                upsert_latest_metrics(connection, batch.latest_rows)
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
