"""Logging metrics, params and tags (the hot path), deleting tags, reading metric history.

Duck typing: `log_batch` accepts any objects with `.key/.value/.timestamp/.step` as metrics
(`MetricLike`) and `.key/.value` as params and tags (`KeyValueLike`) — the domain dataclasses,
or the protobuf messages of a request as they are, so the servicer need not copy them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Protocol

from sqlalchemy import Connection, delete, insert, select
from sqlalchemy.exc import IntegrityError

from mlgrpc_server.errors import InvalidArgument, NotFound
from tracking_service.domain import Metric, Page
from tracking_service.store import validation as v
from tracking_service.store.base import StoreBase, check_run_id, fetch_tuples, make_metric
from tracking_service.store.models import (
    VALUE_FINITE,
    MetricRow,
    ParamRow,
    TagRow,
    decode_value,
    encode_value,
)
from tracking_service.store.paging import after_row, decode_token, encode_token, query_fingerprint
from tracking_service.store.runs import set_run_tags
from tracking_service.store.upserts import MetricTuple, insert_metric_history, upsert_latest_metrics

MAX_HISTORY_PER_PAGE = 25000
_INT64 = (-(2**63), 2**63 - 1)


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


class KeyValueLike(Protocol):
    """What log_batch reads of a param or a tag: `domain.Param`/`RunTag`, or their messages."""

    @property
    def key(self) -> str: ...
    @property
    def value(self) -> str: ...


def prepare_metrics(
    run_id: str, metrics: Sequence[MetricLike], max_metrics: int
) -> tuple[list[MetricTuple], list[MetricTuple]]:
    """Validated history rows, and one latest-value candidate per key sorted by key."""
    v.check_count(len(metrics), max_metrics, "metrics")
    rows: list[MetricTuple] = []
    best: dict[str, MetricTuple] = {}
    valid_keys: set[str] = set()
    low, high = _INT64
    for index, metric in enumerate(metrics):
        key = metric.key
        if key not in valid_keys:
            v.check_key(key, f"metrics[{index}].key")
            valid_keys.add(key)
        value, timestamp, step = metric.value, metric.timestamp, metric.step
        if isinstance(value, bool) or not isinstance(value, (float, int)):
            raise InvalidArgument(f"metrics[{index}].value must be a number, got {value!r}",
                                  field=f"metrics[{index}].value")  # fmt: skip
        if not isinstance(timestamp, int) or not 0 <= timestamp <= high:
            v.check_timestamp(timestamp, f"metrics[{index}].timestamp")
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


def prepare_params(params: Sequence[KeyValueLike]) -> dict[str, tuple[int, str]]:
    """key → (index in the request, value); the same key twice must have the same value."""
    v.check_count(len(params), v.MAX_PARAMS_TAGS_PER_BATCH, "params")
    out: dict[str, tuple[int, str]] = {}
    for index, param in enumerate(params):
        key = v.check_key(param.key, f"params[{index}].key")
        value = v.check_string(param.value, f"params[{index}].value", v.MAX_PARAM_VALUE_LENGTH)
        if key in out and out[key][1] != value:
            raise InvalidArgument(
                f"params[{index}]: param {key!r} appears twice in the batch with different "
                f"values ({out[key][1]!r} and {value!r}); params are immutable",
                field=f"params[{index}].value",
            )
        out.setdefault(key, (index, value))
    return out


def prepare_tags(tags: Sequence[KeyValueLike]) -> dict[str, str]:
    """key → value; when a key repeats, the last value wins."""
    v.check_count(len(tags), v.MAX_PARAMS_TAGS_PER_BATCH, "tags")
    out: dict[str, str] = {}
    for index, tag in enumerate(tags):
        key = v.check_key(tag.key, f"tags[{index}].key")
        out[key] = v.check_string(tag.value, f"tags[{index}].value", v.MAX_TAG_VALUE_LENGTH)
    return out


def _write_params(connection: Connection, run_id: str, params: dict[str, tuple[int, str]]) -> None:
    rows = connection.execute(
        select(ParamRow.key, ParamRow.value).where(
            ParamRow.run_uuid == run_id, ParamRow.key.in_(list(params))
        )
    )
    existing = {key: value for key, value in rows}
    new_rows = []
    for key, (index, value) in sorted(params.items()):
        if key not in existing:
            new_rows.append({"run_uuid": run_id, "key": key, "value": value})
        elif existing[key] != value:
            raise InvalidArgument(
                f"Changing param values is not allowed. Param with key={key!r} was already "
                f"logged with value={existing[key]!r} for run ID={run_id!r}. Attempted logging "
                f"new value {value!r}.",
                field=f"params[{index}].value",
            )
    if new_rows:
        connection.execute(insert(ParamRow), new_rows)


class RunDataStore(StoreBase):
    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[MetricLike] = (),
        params: Sequence[KeyValueLike] = (),
        tags: Sequence[KeyValueLike] = (),
        *,
        max_metrics: int = v.MAX_METRICS_PER_BATCH,
    ) -> None:
        """Validate everything, then write it all in one transaction (or nothing)."""
        check_run_id(run_id)
        metric_rows, latest_rows = prepare_metrics(run_id, metrics, max_metrics)
        param_values = prepare_params(params)
        tag_values = prepare_tags(tags)

        def work(connection: Connection) -> None:
            self.require_active_run(connection, run_id)
            if param_values:
                _write_params(connection, run_id, param_values)
            if tag_values:
                set_run_tags(connection, run_id, tag_values)
            if metric_rows:
                insert_metric_history(connection, metric_rows)
                upsert_latest_metrics(connection, latest_rows)

        try:
            self.write("log_batch", work)
        except IntegrityError:
            if not param_values:
                raise
            # A concurrent batch inserted one of our new params first: once more, now seeing it.
            self.write("log_batch", work)

    def delete_tag(self, run_id: str, key: str) -> None:
        v.check_key(key, "key")

        def work(connection: Connection) -> None:
            self.fetch_run_info(connection, run_id, for_write=True)
            result = connection.execute(
                delete(TagRow).where(TagRow.run_uuid == run_id, TagRow.key == key)
            )
            if result.rowcount == 0:
                raise NotFound(f"run {run_id!r} has no tag {key!r}", field="key")

        self.write("delete_tag", work)

    def get_metric_history(
        self, run_id: str, key: str, max_results: int = MAX_HISTORY_PER_PAGE, page_token: str = ""
    ) -> Page[Metric]:
        """Every point of one metric, by step, then timestamp (then value: a total order)."""
        v.check_key(key, "metric_key")
        limit = v.check_max_results(max_results, MAX_HISTORY_PER_PAGE, MAX_HISTORY_PER_PAGE)
        m = MetricRow
        order = (m.step, m.timestamp, m.value, m.value_kind)
        statement = select(*order).where(m.run_uuid == run_id, m.key == key)
        fingerprint = query_fingerprint("metric_history", run_id, key)
        if page_token:
            values = decode_token(page_token, fingerprint, len(order))
            statement = statement.where(after_row(order, [False] * len(order), values))
        statement = statement.order_by(*order).limit(limit + 1)

        def work(connection: Connection) -> Page[Metric]:
            self.fetch_run_info(connection, run_id)
            rows = fetch_tuples(connection, statement)
            page = rows[:limit]
            items = [
                make_metric(key, value if kind == VALUE_FINITE else decode_value(value, kind),
                        timestamp, step)
                for step, timestamp, value, kind in page
            ]  # fmt: skip
            token = encode_token(fingerprint, list(page[-1])) if len(rows) > limit else ""
            return Page(items, token)

        return self.read(work)
