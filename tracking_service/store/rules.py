"""MLflow's limits and key rules (REFERENCE §1.4), checked before anything touches the database.

Every failure is an `InvalidArgument` naming the offending field, e.g. `metrics[3].key`.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Sequence
from typing import Protocol

from mlgrpc_server.errors import InvalidArgument
from tracking_service.domain import RUN_STATUSES

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
