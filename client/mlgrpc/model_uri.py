"""Turn a model URI into a local model directory.

Accepted forms:
- a local path, or `file:` URI (`file:///abs/path`, `file:relative`): used in place;
- `runs:/<run_id>/<artifact path>`: downloaded through the tracking service
  (`MlgrpcClient().download_artifacts`) into `dst_path` or a new temporary directory;
- `models:/name/3`, `models:/name@alias`, `models:/name/Stage`, `models:/name/latest`: asked of
  the registry service (`mlgrpc.registration.resolve_models_uri`), which names the version's
  `runs:/…` URI or artifact location, resolved in turn;
- `models:/m-<id>` (an MLflow 3 LoggedModel): its artifacts downloaded through the tracking
  service, as MLflow's client does (no registry needed);
- any scheme with a resolver registered by `register_model_uri_resolver(scheme, fn)`: `fn`
  receives the URI and returns another URI or a local path, which is resolved in turn.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from mlgrpc.models.errors import ModelUriError

logger = logging.getLogger(__name__)

UriResolver = Callable[[str], str]

_RESOLVERS: dict[str, UriResolver] = {}
_MAX_RESOLUTION_DEPTH = 8


def register_model_uri_resolver(scheme: str, resolver: UriResolver) -> None:
    """Resolve `<scheme>:/…` URIs with `resolver(uri) -> uri_or_local_path` from now on."""
    _RESOLVERS[scheme.lower().rstrip(":/")] = resolver


def _scheme_of(uri: str) -> str | None:
    if "://" not in uri and ":/" not in uri:
        return None
    scheme = uri.split(":", 1)[0].lower()
    # A Windows drive letter ("C:/…") is a path, not a scheme.
    return scheme if len(scheme) > 1 else None


def _local_path_of_file_uri(uri: str) -> str:
    parsed = urlparse(uri)
    if parsed.netloc not in ("", "localhost"):
        raise ModelUriError(f"{uri!r}: file URIs must name a local path (no host)", field="uri")
    return unquote(parsed.path or uri[len("file:") :])


def _download_run_artifacts(uri: str, dst_path: str | None) -> str:
    from mlgrpc.uris import parse_runs_uri

    runs_uri = parse_runs_uri(uri)
    try:
        from mlgrpc.client import MlgrpcClient
    except ImportError as exc:  # the tracking client is written alongside; say so plainly
        raise ModelUriError(
            f"cannot resolve {uri!r}: the tracking client (mlgrpc.client) is not available",
            field="uri",
        ) from exc
    if dst_path is None:
        dst_path = tempfile.mkdtemp(prefix="mlgrpc-model-")
    client = MlgrpcClient()
    path = runs_uri.artifact_path.strip("/")
    if path and "/" not in path and not client.list_artifacts(runs_uri.run_id, path):
        # As MLflow 3: `runs:/<run>/<name>` also names the LoggedModel `<name>` the run logged
        # (autologging's model), whose files are not among the run's artifacts.
        model_id = _logged_model_of_run(client, runs_uri.run_id, path)
        if model_id is not None:
            return str(client.download_artifacts(model_id, "", dst_path))
    local = client.download_artifacts(runs_uri.run_id, runs_uri.artifact_path, dst_path)
    return str(local)


def _logged_model_of_run(client: Any, run_id: str, name: str) -> str | None:
    """The newest LoggedModel `name` whose source run is `run_id`, if any."""
    if "'" in run_id or "'" in name:
        return None  # not an id and name we logged; the run's artifacts answer
    run = client.get_run(run_id)
    page = client.search_logged_models(
        [run.info.experiment_id],
        filter_string=f"source_run_id = '{run_id}' AND name = '{name}'",
        order_by=["creation_timestamp DESC"],
        max_results=1,
    )
    return page[0].model_id if page else None


def _download_logged_model(uri: str, dst_path: str | None) -> str | None:
    """The local copy of the LoggedModel `models:/m-<id>` names; None for a registered model."""
    from mlgrpc.uris import LOGGED_MODEL_ID, MODELS_SCHEME

    model_id = uri[len(MODELS_SCHEME) :].strip("/")
    if not LOGGED_MODEL_ID.fullmatch(model_id):
        return None
    from mlgrpc.client import MlgrpcClient

    if dst_path is None:
        dst_path = tempfile.mkdtemp(prefix="mlgrpc-model-")
    return str(MlgrpcClient().download_artifacts(model_id, "", dst_path))


def resolve_model_uri(model_uri: str | os.PathLike[str], dst_path: str | None = None) -> str:
    """A local directory holding the model that `model_uri` names."""
    uri = os.fspath(model_uri)
    for _ in range(_MAX_RESOLUTION_DEPTH):
        scheme = _scheme_of(uri)
        if scheme is None:
            path = Path(uri).expanduser()
            if not path.exists():
                raise ModelUriError(f"no model at {uri!r}: the path does not exist", field="uri")
            return str(path.resolve())
        if scheme == "file":
            uri = _local_path_of_file_uri(uri)
            continue
        if scheme == "runs":
            return _download_run_artifacts(uri, dst_path)
        if scheme == "models" and (logged := _download_logged_model(uri, dst_path)) is not None:
            return logged
        resolver = _RESOLVERS.get(scheme)
        if resolver is None and scheme == "models":
            from mlgrpc.registration import resolve_models_uri

            resolver = resolve_models_uri
        if resolver is None:
            raise ModelUriError(
                f"unsupported model URI scheme {scheme!r} in {uri!r}; use a local path, a "
                "'file:' URI or 'runs:/<run_id>/<artifact path>'",
                field="uri",
            )
        resolved = resolver(uri)
        logger.debug("resolved %s to %s", uri, resolved)
        uri = os.fspath(resolved)
    raise ModelUriError(f"{model_uri!r} resolves through too many indirections", field="uri")
