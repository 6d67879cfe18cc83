"""Input rules of the registry (MLflow's limits), each failure an InvalidArgument naming the field.

Model names: 1 to 256 characters, no "/" (it would make `models:/<name>/<version>` ambiguous) and
no control characters. A new name (create, rename) must also read back the same from every
`models:/` URI: no "@", "?", "#", "%", "\\", not "." or ".." (`mlgrpc.uris.model_name_problem`).
Names that older versions accepted stay readable, so lookups check only the first rules.
MLflow itself only rejects empty names; the rest is our choice, stated in the proto.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from mlgrpc.uris import model_name_problem
from mlgrpc_server.errors import InvalidArgument
from registry_service.domain import ALL_STAGES

MAX_NAME_LENGTH = 256
MAX_TAG_KEY_LENGTH = 250
MAX_TAG_VALUE_LENGTH = 100_000
MAX_ALIAS_LENGTH = 255
MAX_DESCRIPTION_LENGTH = 5_000
MAX_SOURCE_LENGTH = 5_000
MAX_RUN_LINK_LENGTH = 5_000

# \Z, not $: "$" also matches before a final newline, which would let "champion\n" in.
_ALIAS = re.compile(r"^[\w\-]*\Z")
_RESERVED_ALIAS = re.compile(r"^v\d+$", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_RUN_ID = re.compile(r"^[0-9a-zA-Z_\-]{1,32}$")
_STAGES_BY_LOWER = {stage.lower(): stage for stage in ALL_STAGES}


def validate_model_name(name: str, *, field: str = "name") -> str:
    if not name:
        raise InvalidArgument(f"{field} is empty; give the registered model's name", field=field)
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidArgument(
            f"{field} has {len(name)} characters; at most {MAX_NAME_LENGTH} are allowed",
            field=field,
        )
    if "/" in name or _CONTROL.search(name):
        raise InvalidArgument(
            f"{field} {name!r} contains '/' or a control character; use a name without them",
            field=field,
        )
    return name


def validate_new_model_name(name: str, *, field: str = "name") -> str:
    """A name for a model being created or renamed: also unambiguous in a `models:/` URI."""
    validate_model_name(name, field=field)
    problem = model_name_problem(name)
    if problem is not None:
        raise InvalidArgument(
            f"{field} {name[:100]!r} cannot name a registered model: {problem}; use letters, "
            "digits, spaces, '_', '-', '.' and ':'",
            field=field,
        )
    return name


def validate_version(version: int, *, field: str = "version") -> int:
    if version < 1:
        raise InvalidArgument(
            f"{field} must be a version number of at least 1, got {version}", field=field
        )
    return version


def validate_tag(key: str, value: str, *, field: str = "tags") -> None:
    if not key:
        raise InvalidArgument(f"{field}: a tag key is empty; give a non-empty key", field=field)
    if len(key) > MAX_TAG_KEY_LENGTH:
        raise InvalidArgument(
            f"{field}: tag key of {len(key)} characters; at most {MAX_TAG_KEY_LENGTH} are allowed",
            field=field,
        )
    if _CONTROL.search(key):
        raise InvalidArgument(
            f"{field}: tag key {key[:50]!r} contains a control character; use a key without them",
            field=field,
        )
    if len(value) > MAX_TAG_VALUE_LENGTH:
        raise InvalidArgument(
            f"{field}: value of tag {key[:50]!r} has {len(value)} characters; at most "
            f"{MAX_TAG_VALUE_LENGTH} are allowed",
            field=field,
        )


def validate_tags(tags: Mapping[str, str], *, field: str = "tags") -> None:
    for key, value in tags.items():
        validate_tag(key, value, field=field)


def validate_text(text: str, limit: int, *, field: str) -> str:
    if len(text) > limit:
        raise InvalidArgument(
            f"{field} has {len(text)} characters; at most {limit} are allowed", field=field
        )
    if "\x00" in text:
        # PostgreSQL stores no NUL in text: refused on every database, so that all behave alike.
        raise InvalidArgument(f"{field} contains a NUL character (\\x00); remove it", field=field)
    return text


def validate_no_control_characters(text: str, *, field: str) -> str:
    """For names, keys and URIs: a control character there is a mistake or an attack."""
    if _CONTROL.search(text):
        raise InvalidArgument(
            f"{field} {text[:100]!r} contains a control character; remove it", field=field
        )
    return text


def validate_alias(alias: str, *, field: str = "alias") -> str:
    if not alias:
        raise InvalidArgument(f"{field} is empty; give an alias such as 'champion'", field=field)
    if len(alias) > MAX_ALIAS_LENGTH:
        raise InvalidArgument(
            f"{field} has {len(alias)} characters; at most {MAX_ALIAS_LENGTH} are allowed",
            field=field,
        )
    if not _ALIAS.match(alias):
        raise InvalidArgument(
            f"{field} {alias!r} may only contain letters, digits, '_' and '-'", field=field
        )
    if alias.lower() == "latest" or _RESERVED_ALIAS.match(alias):
        raise InvalidArgument(
            f"{field} {alias!r} is reserved ('latest' and 'v<number>' name versions); "
            "choose another alias",
            field=field,
        )
    return alias


def validate_run_id(run_id: str, *, field: str = "run_id") -> str:
    if not _RUN_ID.match(run_id):
        raise InvalidArgument(
            f"{field} {run_id[:64]!r} is not a run id (1 to 32 letters, digits, '_' or '-')",
            field=field,
        )
    return run_id


def canonical_stage(stage: str, *, field: str = "stage") -> str:
    """MLflow's spelling of a stage given in any letter case."""
    canonical = _STAGES_BY_LOWER.get(stage.strip().lower())
    if canonical is None:
        raise InvalidArgument(
            f"{field} {stage!r} is not a stage; use one of {', '.join(ALL_STAGES)}", field=field
        )
    return canonical
