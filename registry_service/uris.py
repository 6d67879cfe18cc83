"""`models:/` URIs as the registry reads them, and `runs:/` sources (kept inside the run).

The grammar of `models:/` URIs is the client's (`mlgrpc.uris.parse_models_uri`), the one parser
the scoring service and the client use too; here its error becomes the service's InvalidArgument
and the alias is held to the registry's alias rules.
"""

from __future__ import annotations

from dataclasses import dataclass

from mlgrpc.exceptions import InvalidArgumentError
from mlgrpc.uris import ModelsUri
from mlgrpc.uris import parse_models_uri as parse_any_models_uri
from mlgrpc_server.artifact_locations import normalise_run_path
from mlgrpc_server.errors import InvalidArgument
from registry_service.store import validation as v

RUNS_SCHEME = "runs:/"


def parse_models_uri(uri: str, *, field: str = "model_uri") -> ModelsUri:
    try:
        parsed = parse_any_models_uri(uri, field=field)
    except InvalidArgumentError as exc:
        raise InvalidArgument(exc.message, field=field) from exc
    if parsed.alias is not None:
        v.validate_alias(parsed.alias, field=field)
    return parsed


@dataclass(frozen=True)
class RunsSource:
    run_id: str
    #: Inside the run's artifacts, normalised ("a/./b/../c" → "a/c"); "" for all of them.
    path: str

    @property
    def uri(self) -> str:
        return f"{RUNS_SCHEME}{self.run_id}/{self.path}" if self.path else RUNS_SCHEME + self.run_id


def parse_runs_source(source: str) -> RunsSource | None:
    """`runs:/<run_id>/<path>` → its parts; None for any other kind of source. A path that
    leaves the run's artifacts ("..") is InvalidArgument naming `source`."""
    if not source.startswith(RUNS_SCHEME):
        return None
    rest = source[len(RUNS_SCHEME) :]
    run_id, _, path = rest.partition("/")
    if not run_id:
        raise InvalidArgument(
            f"source {source!r} names no run; use runs:/<run_id>/<path>", field="source"
        )
    v.validate_run_id(run_id, field="source")
    return RunsSource(run_id=run_id, path=normalise_run_path(path, field="source", uri=source))
