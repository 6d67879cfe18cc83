"""The tracking store's rules, with no SQL: MLflow's limits and key rules (REFERENCE §1.4), the
assembly of a new run (generated names, MLflow's system tags), the rows of a LogBatch, batch ids,
how metric values are stored, LoggedModel and dataset checks.

`sql_store.SqlTrackingStore` applies them before the fast path of its database or the portable
store writes anything; every failure is an `InvalidArgument` naming the offending field, e.g.
`metrics[3].key`.
"""

from __future__ import annotations

import dataclasses
import json
import math
import posixpath
import random
import re
import sys
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from mlgrpc_server.errors import FailedPrecondition, InvalidArgument, NotFound
from tracking_service.domain import (
    ACTIVE,
    DELETED,
    PARENT_RUN_ID_TAG,
    RUN_NAME_TAG,
    RUN_STATUSES,
    USER_TAG,
    Run,
    RunInfo,
)
from tracking_service.logged_model_domain import DatasetInput

MAX_KEY_LENGTH = 250
MAX_PARAM_VALUE_LENGTH = 6000
MAX_TAG_VALUE_LENGTH = 8000
MAX_EXPERIMENT_NAME_LENGTH = 500
MAX_EXPERIMENT_TAG_VALUE_LENGTH = 20000
MAX_RUN_NAME_LENGTH = 250
MAX_USER_ID_LENGTH = 256
MAX_ARTIFACT_LOCATION_LENGTH = 2000
MAX_METRICS_PER_BATCH = 1000
MAX_PARAMS_TAGS_PER_BATCH = 100

# Alphanumerics (any script), underscore, dash, period, space, slash and colon.
# \Z, not $: "$" also matches before a final newline, which would let "loss\n" in.
_VALID_KEY = re.compile(r"^[/\w.\- :]*\Z")


def check_key(key: object, field: str) -> str:
    """A metric, param or tag key: ≤ 250 characters of MLflow's charset, a normalised path."""
    if not isinstance(key, str) or not key:
        raise InvalidArgument(f"{field} must be a non-empty string", field=field)
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidArgument(
            f"{field} is {len(key)} characters long; at most {MAX_KEY_LENGTH} are allowed",
            field=field,
        )
    if not _VALID_KEY.match(key):
        raise InvalidArgument(
            f"{field} {key!r} may only contain alphanumerics, underscores (_), dashes (-), "
            "periods (.), spaces ( ), slashes (/) and colons (:)",
            field=field,
        )
    normalised = posixpath.normpath(key)
    if normalised != key or normalised.startswith(("..", "/")) or normalised == ".":
        raise InvalidArgument(
            f"{field} {key!r} must be a plain relative path: no '..', no leading '/', "
            "no '//' and no '.' segments",
            field=field,
        )
    return key


def check_string(value: object, field: str, max_length: int, *, allow_empty: bool = True) -> str:
    if not isinstance(value, str):
        raise InvalidArgument(f"{field} must be a string", field=field)
    if not allow_empty and not value:
        raise InvalidArgument(f"{field} must not be empty", field=field)
    if len(value) > max_length:
        raise InvalidArgument(
            f"{field} is {len(value)} characters long; at most {max_length} are allowed",
            field=field,
        )
    if "\x00" in value:
        # PostgreSQL stores no NUL in text: refused on every database, so that all behave alike.
        raise InvalidArgument(f"{field} contains a NUL character (\\x00); remove it", field=field)
    return value


def check_count(items: Iterable[object] | int, limit: int, field: str) -> None:
    count = items if isinstance(items, int) else len(list(items))
    if count > limit:
        raise InvalidArgument(
            f"too many {field} in one batch: {count}; at most {limit} are allowed", field=field
        )


def check_status(status: str, field: str = "status") -> str:
    if status not in RUN_STATUSES:
        raise InvalidArgument(
            f"{field} {status!r} is not a run status; use one of {', '.join(RUN_STATUSES)}",
            field=field,
        )
    return status


def check_timestamp(value: object, field: str) -> int:
    if type(value) is not int or value < 0:
        raise InvalidArgument(
            f"{field} must be a non-negative integer (milliseconds since the Unix epoch), "
            f"got {value!r}",
            field=field,
        )
    return value


_EXPERIMENT_ID = re.compile(r"-?[0-9]{1,19}")


def parse_experiment_id(experiment_id: object, field: str = "experiment_id") -> int:
    text = str(experiment_id).strip() if experiment_id is not None else ""
    # One optional "-" ("--1" is not a number), ASCII digits, 64 bits: a database driver given a
    # bigger int fails (SQLite: OverflowError) instead of finding nothing.
    if not _EXPERIMENT_ID.fullmatch(text) or not -(2**63) <= int(text) < 2**63:
        raise InvalidArgument(
            f"{field} must be an experiment id (a 64-bit decimal integer), got {experiment_id!r}",
            field=field,
        )
    return int(text)


def check_max_results(max_results: int, default: int, maximum: int) -> int:
    """0 means the default (proto3's unset value); negative or above the maximum is invalid."""
    if max_results == 0:
        return default
    if max_results < 0 or max_results > maximum:
        raise InvalidArgument(
            f"max_results must be between 1 and {maximum}, got {max_results}", field="max_results"
        )
    return max_results


class KeyValueLike(Protocol):
    """What log_batch reads of a param or a tag: `domain.Param`/`RunTag`, or their messages."""

    @property
    def key(self) -> str: ...
    @property
    def value(self) -> str: ...


def prepare_params(params: Sequence[KeyValueLike]) -> dict[str, tuple[int, str]]:
    """key → (index in the request, value); the same key twice must have the same value."""
    check_count(len(params), MAX_PARAMS_TAGS_PER_BATCH, "params")
    out: dict[str, tuple[int, str]] = {}
    for index, param in enumerate(params):
        key = check_key(param.key, f"params[{index}].key")
        value = check_string(param.value, f"params[{index}].value", MAX_PARAM_VALUE_LENGTH)
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
    check_count(len(tags), MAX_PARAMS_TAGS_PER_BATCH, "tags")
    out: dict[str, str] = {}
    for index, tag in enumerate(tags):
        key = check_key(tag.key, f"tags[{index}].key")
        out[key] = check_string(tag.value, f"tags[{index}].value", MAX_TAG_VALUE_LENGTH)
    return out


def parse_model_json(model_json: object) -> dict[str, object]:
    """LogModel's `model_json`: a JSON object (an MLmodel description), or InvalidArgument."""
    text = check_string(model_json, "model_json", MAX_TAG_VALUE_LENGTH, allow_empty=False)
    try:
        model = json.loads(text)
    except ValueError:
        model = None
    if not isinstance(model, dict):
        raise InvalidArgument(
            f"model_json must be a JSON object (a model's MLmodel description), got {text!r}",
            field="model_json",
        )
    return model


def appended_model_history(stored: str | None, model: dict[str, object]) -> str:
    """The value of a run's `mlflow.log-model.history` tag with `model` appended; a stored
    value that is not a JSON list (set by hand) starts a new history. InvalidArgument if the
    tag would exceed a tag value's length."""
    history: list[object] = []
    if stored:
        try:
            loaded = json.loads(stored)
        except ValueError:
            loaded = None
        history = loaded if isinstance(loaded, list) else []
    history.append(model)
    value = json.dumps(history)
    if len(value) > MAX_TAG_VALUE_LENGTH:
        raise InvalidArgument(
            f"the run's model history would be {len(value)} characters long; a tag value holds "
            f"at most {MAX_TAG_VALUE_LENGTH}",
            field="model_json",
        )
    return value


def check_run_id(run_id: object, field: str = "run_id") -> str:
    # NUL: no run has it, and PostgreSQL refuses it in a parameter (an error, not "not found").
    if not isinstance(run_id, str) or not run_id or len(run_id) > 32 or "\x00" in run_id:
        raise InvalidArgument(f"{field} must be a run id (32 hex characters), got {run_id!r}",
                              field=field)  # fmt: skip
    return run_id


def now_ms() -> int:
    return int(time.time() * 1000)


def artifact_root_uri(root: str) -> str:
    """A local path as a `file:///abs` URI; URIs (`file:`, `s3://`, …) unchanged."""
    if "://" in root or root.startswith("file:"):
        return root.rstrip("/")
    return Path(root).expanduser().resolve().as_uri()


def check_experiment_tags(tags: Mapping[str, str], field: str = "tags") -> dict[str, str]:
    for key, value in tags.items():
        check_key(key, f"{field}.key")
        check_string(value, f"{field}[{key!r}].value", MAX_EXPERIMENT_TAG_VALUE_LENGTH)
    return dict(tags)


# Metric values as stored: MySQL's DOUBLE holds neither NaN nor ±inf (see portable/tables.py).

VALUE_FINITE = 0
VALUE_POS_INF = 1
VALUE_NEG_INF = 2
VALUE_NAN = 3

_MAX_DOUBLE = sys.float_info.max


def encode_value(value: float) -> tuple[float, int]:
    """(stored value, value kind) of a metric value; see the module docstring."""
    if math.isfinite(value):
        return value, VALUE_FINITE
    if math.isnan(value):
        return 0.0, VALUE_NAN
    return (_MAX_DOUBLE, VALUE_POS_INF) if value > 0 else (-_MAX_DOUBLE, VALUE_NEG_INF)


def decode_value(value: float, kind: int) -> float:
    if kind == VALUE_FINITE:
        return float(value)
    if kind == VALUE_NAN:
        return math.nan
    return math.inf if kind == VALUE_POS_INF else -math.inf


# Run names

_ADJECTIVES = (
    "able", "amber", "ample", "bold", "brave", "bright", "calm", "clever", "crisp", "curious",
    "dapper", "eager", "fancy", "gentle", "glad", "golden", "grand", "happy", "honest", "jolly",
    "keen", "kind", "lively", "loud", "lucky", "merry", "mighty", "neat", "nimble", "noble",
    "proud", "quick", "quiet", "rare", "rosy", "shy", "silent", "smart", "sunny", "swift",
    "tidy", "vast", "warm", "wise", "witty", "young", "zesty",
)  # fmt: skip
_NOUNS = (
    "ant", "ape", "bass", "bat", "bear", "bee", "cat", "crab", "crow", "deer", "dog", "dove",
    "eel", "elk", "fish", "fox", "frog", "goat", "hare", "hawk", "hen", "lark", "lion", "lynx",
    "mole", "moth", "mouse", "newt", "owl", "ox", "panda", "pig", "ram", "rat", "seal", "shark",
    "slug", "snail", "swan", "toad", "trout", "wasp", "whale", "wolf", "worm", "yak", "zebra",
)  # fmt: skip


def generate_run_name(rng: random.Random | None = None) -> str:
    pick = rng or random
    return f"{pick.choice(_ADJECTIVES)}-{pick.choice(_NOUNS)}-{pick.randint(0, 999)}"


# CreateRun


def check_run_tags(tags: Mapping[str, str], field: str = "tags") -> dict[str, str]:
    for key, value in tags.items():
        check_key(key, f"{field}.key")
        check_string(value, f"{field}[{key!r}].value", MAX_TAG_VALUE_LENGTH)
    return dict(tags)


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


def new_run(
    experiment_id: str,
    run_name: str = "",
    user_id: str = "",
    start_time: int | None = None,
    tags: Mapping[str, str] = {},
    parent_run_id: str = "",
    status: str = "RUNNING",
    params: Sequence[KeyValueLike] = (),
) -> NewRun:
    """The rules of CreateRun (no SQL): a new run with its tags (and MLflow's system tags)
    and its initial `params`, written in one transaction by `create_run_portable` or a fast
    path: a run is never seen without the params it was created with."""
    number = parse_experiment_id(experiment_id)
    check_status(status)
    check_string(user_id, "user_id", MAX_USER_ID_LENGTH)
    check_string(run_name, "run_name", MAX_RUN_NAME_LENGTH)
    if start_time is not None:
        check_timestamp(start_time, "start_time")
    all_tags = check_run_tags(tags)
    param_values = {key: value for key, (_, value) in prepare_params(params).items()}
    tagged_name = all_tags.get(RUN_NAME_TAG, "")
    if run_name and tagged_name and tagged_name != run_name:
        raise InvalidArgument(
            f"run_name {run_name!r} differs from the {RUN_NAME_TAG} tag {tagged_name!r}; "
            "give one of them, or the same value",
            field="run_name",
        )
    name = run_name or tagged_name or generate_run_name()
    check_string(name, "run_name", MAX_RUN_NAME_LENGTH)
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


# LogBatch

#: Rows of the metrics table, in this column order: run_uuid, key, step, timestamp, value, kind.
MetricTuple = tuple[str, str, int, int, float, int]

MAX_BATCH_ID_LENGTH = 64


@dataclass(frozen=True, slots=True)
class BatchOutcome:
    """What a LogBatch did: rows it wrote (or, for a replay, the original batch wrote)."""

    rows_written: int
    replayed: bool = False


def check_batch_id(batch_id: object, field: str = "batch_id") -> str:
    """The batch id, or InvalidArgument: a non-empty string of at most 64 printable ASCII."""
    if (
        not isinstance(batch_id, str)
        or not 0 < len(batch_id) <= MAX_BATCH_ID_LENGTH
        or not batch_id.isascii()
        or not batch_id.isprintable()
    ):
        raise InvalidArgument(
            f"{field} must be a client-generated UUID (at most {MAX_BATCH_ID_LENGTH} printable "
            f"ASCII characters), got {batch_id!r}",
            field=field,
        )
    return batch_id


def replay_of(batch_id: str, run_id: str, stored: tuple[str, int] | None) -> BatchOutcome:
    if stored is None:  # deleted meanwhile (its run was deleted): cannot tell, write nothing
        return BatchOutcome(0, replayed=True)
    stored_run, rows_written = stored
    if stored_run != run_id:
        raise InvalidArgument(
            f"batch_id {batch_id!r} was already used for a batch of run {stored_run!r}, not "
            f"{run_id!r}; every batch needs a new id",
            field="batch_id",
        )
    return BatchOutcome(int(rows_written), replayed=True)


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
    #: links of the metrics logged with a `model_id` to their LoggedModels, written in the
    #: same transaction as the run's values (see `prepare_model_metrics`)
    model_metric_rows: ModelMetricRows = dataclasses.field(default_factory=dict)


class MetricLike(Protocol):
    """What log_batch reads of a metric: `domain.Metric`, or a protobuf Metric message as it
    is (duck typing: the servicer need not copy a request's metrics)."""

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
    check_count(len(metrics), max_metrics, "metrics")
    rows: list[MetricTuple] = []
    best: dict[str, MetricTuple] = {}
    valid_keys: set[str] = set()
    low, high = _INT64
    for index, metric in enumerate(metrics):
        key = metric.key
        if key not in valid_keys:
            check_key(key, f"metrics[{index}].key")
            valid_keys.add(key)
        value, timestamp, step = metric.value, metric.timestamp, metric.step
        if isinstance(value, bool) or not isinstance(value, (float, int)):
            raise InvalidArgument(f"metrics[{index}].value must be a number, got {value!r}",
                                  field=f"metrics[{index}].value")  # fmt: skip
        if not isinstance(timestamp, int) or not 0 <= timestamp <= high:
            check_timestamp(timestamp, f"metrics[{index}].timestamp")
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


def check_batch(
    run_id: str,
    metrics: Sequence[MetricLike] = (),
    params: Sequence[KeyValueLike] = (),
    tags: Sequence[KeyValueLike] = (),
    *,
    max_metrics: int = MAX_METRICS_PER_BATCH,
    batch_id: str = "",
) -> CheckedBatch:
    """The rules of LogBatch (no SQL): every value checked, rows ready to write."""
    check_run_id(run_id)
    metric_rows, latest_rows = prepare_metrics(run_id, metrics, max_metrics)
    param_values = prepare_params(params)
    tag_values = prepare_tags(tags)
    if batch_id:
        check_batch_id(batch_id)
    written = BatchOutcome(len(metric_rows) + len(params) + len(tags))
    # MLflow 3 logs a model's metrics as run metrics carrying the model's id (domain.Metric
    # has none: getattr).
    linked = any(getattr(metric, "model_id", "") for metric in metrics)
    model_metric_rows = prepare_model_metrics(run_id, metrics) if linked else {}  # type: ignore[arg-type]
    return CheckedBatch(run_id, metric_rows, latest_rows, param_values, tag_values, batch_id,
                        written, model_metric_rows)  # fmt: skip


# LoggedModels and datasets

MODEL_ID_PREFIX = "m-"
MAX_MODEL_NAME_LENGTH = 500
MAX_MODEL_TYPE_LENGTH = 500
MAX_STATUS_MESSAGE_LENGTH = 1000
#: the dataset a metric value linked to a model was computed on
MAX_METRIC_DATASET_NAME_LENGTH = 255
MAX_DATASET_DIGEST_LENGTH = 36


class ModelMetricLike(Protocol):
    """What LogBatch reads of a metric linked to a LoggedModel: `Metric` messages with
    `model_id` set."""

    @property
    def key(self) -> str: ...
    @property
    def value(self) -> float: ...
    @property
    def timestamp(self) -> int: ...
    @property
    def step(self) -> int: ...
    @property
    def model_id(self) -> str: ...
    @property
    def dataset_name(self) -> str: ...
    @property
    def dataset_digest(self) -> str: ...


#: logged_model_metrics rows by primary key (model_id, key, step, timestamp, run_uuid,
#: dataset_name, dataset_digest): a value logged twice in one batch is one row
ModelMetricRows = dict[tuple[str, str, int, int, str, str, str], dict[str, object]]


def prepare_model_metrics(run_id: str, metrics: Sequence[ModelMetricLike]) -> ModelMetricRows:
    """The logged_model_metrics rows of the `metrics` that carry a model id (the others are
    skipped); InvalidArgument naming the field (its index in `metrics`) of a malformed one.
    The metric's key, value, step and timestamp are checked by `prepare_metrics`."""
    rows: ModelMetricRows = {}
    for index, metric in enumerate(metrics):
        if not metric.model_id:
            continue
        model_id = check_model_id(metric.model_id, f"metrics[{index}].model_id")
        name = check_string(
            metric.dataset_name, f"metrics[{index}].dataset_name", MAX_METRIC_DATASET_NAME_LENGTH
        )
        digest = check_string(
            metric.dataset_digest, f"metrics[{index}].dataset_digest", MAX_DATASET_DIGEST_LENGTH
        )
        value, kind = encode_value(metric.value)
        key = (model_id, metric.key, metric.step, metric.timestamp, run_id, name, digest)
        rows[key] = {
            "model_id": model_id,
            "key": metric.key,
            "step": metric.step,
            "timestamp": metric.timestamp,
            "run_uuid": run_id,
            "dataset_name": name,
            "dataset_digest": digest,
            "value": value,
            "value_kind": kind,
        }
    return rows


def check_model_id(model_id: object, field: str = "model_id") -> str:
    """`m-` and 32 lowercase hex characters."""
    text = model_id if isinstance(model_id, str) else ""
    hex_part = text.removeprefix(MODEL_ID_PREFIX)
    if (
        not text.startswith(MODEL_ID_PREFIX)
        or len(hex_part) != 32
        or any(c not in "0123456789abcdef" for c in hex_part)
    ):
        raise InvalidArgument(
            f"{field} must be a LoggedModel id ('m-' and 32 lowercase hex characters), "
            f"got {model_id!r}",
            field=field,
        )
    return text


def new_model_id() -> str:
    return MODEL_ID_PREFIX + uuid.uuid4().hex


MAX_DATASETS_PER_CALL = 1000
MAX_DATASET_NAME_LENGTH = 500
MAX_SOURCE_TYPE_LENGTH = 36
MAX_DATASET_TEXT_LENGTH = 16 * 1024 * 1024  # source, schema, profile (MEDIUMTEXT on MySQL)
MAX_INPUT_TAG_KEY_LENGTH = 255
MAX_INPUT_TAG_VALUE_LENGTH = 500


def check_dataset_input(item: DatasetInput, index: int) -> DatasetInput:
    field = f"datasets[{index}]"
    d = item.dataset
    check_string(d.name, f"{field}.dataset.name", MAX_DATASET_NAME_LENGTH, allow_empty=False)
    check_string(d.digest, f"{field}.dataset.digest", MAX_DATASET_DIGEST_LENGTH, allow_empty=False)
    check_string(
        d.source_type, f"{field}.dataset.source_type", MAX_SOURCE_TYPE_LENGTH, allow_empty=False
    )
    check_string(d.source, f"{field}.dataset.source", MAX_DATASET_TEXT_LENGTH, allow_empty=False)
    check_string(d.schema, f"{field}.dataset.schema", MAX_DATASET_TEXT_LENGTH)
    check_string(d.profile, f"{field}.dataset.profile", MAX_DATASET_TEXT_LENGTH)
    for key, value in item.tags.items():
        check_string(key, f"{field}.tags.key", MAX_INPUT_TAG_KEY_LENGTH, allow_empty=False)
        check_string(value, f"{field}.tags.value", MAX_INPUT_TAG_VALUE_LENGTH)
    return item
