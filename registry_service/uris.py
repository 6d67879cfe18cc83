"""Parsing `models:/` URIs and `runs:/` sources.

`models:/<name>/<version>`, `models:/<name>/<stage>` (any letter case), `models:/<name>/latest`,
`models:/<name>@<alias>`. Names cannot contain "/", so the last "/" splits name and suffix; an
alias form has no "/" after `models:/` and splits at the last "@".
"""

from __future__ import annotations

from dataclasses import dataclass

from mlgrpc_server.errors import InvalidArgument
from registry_service.domain import ALL_STAGES, ModelUri
from registry_service.store import validation as v

MODELS_SCHEME = "models:/"
RUNS_SCHEME = "runs:/"


def _bad(uri: str, why: str) -> InvalidArgument:
    return InvalidArgument(
        f"model_uri {uri[:300]!r} is malformed: {why}; use models:/<name>/<version>, "
        "models:/<name>@<alias>, models:/<name>/<stage> or models:/<name>/latest",
        field="model_uri",
    )


def parse_models_uri(uri: str) -> ModelUri:
    if not uri.startswith(MODELS_SCHEME):
        raise _bad(uri, "it does not start with models:/")
    rest = uri[len(MODELS_SCHEME) :].lstrip("/")
    if "/" not in rest:
        if "@" not in rest:
            raise _bad(uri, "it names no version, stage, alias or 'latest'")
        name, alias = rest.rsplit("@", 1)
        if not name:
            raise _bad(uri, "the model name is empty")
        v.validate_alias(alias, field="model_uri")
        return ModelUri(name=name, alias=alias)
    name, suffix = rest.split("/", 1)
    if not name or not suffix or "/" in suffix:
        raise _bad(uri, "expected exactly models:/<name>/<suffix>")
    if suffix.isdigit():
        return ModelUri(name=name, version=v.validate_version(int(suffix), field="model_uri"))
    if suffix.lower() == "latest":
        return ModelUri(name=name, latest=True)
    if suffix.lower() in {stage.lower() for stage in ALL_STAGES}:
        return ModelUri(name=name, stage=v.canonical_stage(suffix, field="model_uri"))
    raise _bad(uri, f"{suffix!r} is neither a version number, a stage nor 'latest'")


@dataclass(frozen=True)
class RunsSource:
    run_id: str
    path: str


def parse_runs_source(source: str) -> RunsSource | None:
    """`runs:/<run_id>/<path>` → its parts; None for any other kind of source."""
    if not source.startswith(RUNS_SCHEME):
        return None
    rest = source[len(RUNS_SCHEME) :]
    run_id, _, path = rest.partition("/")
    if not run_id:
        raise InvalidArgument(
            f"source {source!r} names no run; use runs:/<run_id>/<path>", field="source"
        )
    v.validate_run_id(run_id, field="source")
    return RunsSource(run_id=run_id, path=path.strip("/"))
