"""Model URI → a local model directory, plus what the registry says about it.

Local paths and `file:` URIs are used in place. `runs:/<run_id>/<path>` downloads through the
tracking service; `models:/…` resolves through the registry (ResolveModelUri), then downloads
the version's files (its run's artifacts, or its LoggedModel's for `models:/m-<id>` and versions
registering one) the same way. Downloads check each file's sha256 and
are kept in a `ModelFileCache` keyed by the run and path, never by a model's name and version.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import grpc

from mlgrpc.exceptions import InvalidArgumentError, MlgrpcException
from mlgrpc.service_support import with_bearer_token
from mlgrpc.uris import parse_models_uri
from mlgrpc_server.errors import FailedPrecondition, InvalidArgument, NotFound, Unavailable
from mlgrpc_server.tls import secure_or_insecure_channel
from scoring_service.config import ServeConfig
from scoring_service.models.file_cache import ContentKey, ModelFileCache

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ResolvedSource:
    """Where a model URI's files are, and its identity in the registry (if any)."""

    local_dir: Path
    default_name: str
    version: str
    run_id: str = ""
    registered_name: str = ""


def is_registry_uri(uri: str) -> bool:
    return uri.startswith("models:/")


def follows(uri: str) -> bool:
    """Whether the URI names a moving target (an alias, a stage or `latest`)."""
    if not is_registry_uri(uri):
        return False
    try:
        return parse_models_uri(uri).moves
    except InvalidArgumentError:
        return False


def _local(uri: str) -> ResolvedSource:
    try:
        path = Path(unquote(urlparse(uri).path)) if uri.startswith("file:") else Path(uri)
        path = path.expanduser()
        is_dir = path.is_dir()
    except (OSError, RuntimeError, ValueError) as exc:
        # A name too long, a NUL byte, "~user" of an unknown user: not a path we can open.
        why = getattr(exc, "strerror", None) or exc
        raise InvalidArgument(
            f"model_uri {uri[:200]!r} is not a usable path: {why}",
            field="model_uri",
        ) from exc
    if not is_dir:
        raise NotFound(
            f"model directory {str(path)!r} does not exist; give a model directory (holding "
            "an MLmodel file), runs:/<run_id>/<path> or models:/<name>/<version|@alias|stage>",
            field="model_uri",
        )
    return ResolvedSource(path, path.resolve().name, "1")


class SourceResolver:
    """Resolves model URIs; owns the registry and tracking channels (created lazily)."""

    def __init__(self, config: ServeConfig) -> None:
        self._config = config
        self._channels: dict[str, grpc.Channel] = {}
        self._cache = ModelFileCache(config.cache_dir)

    def channel(self, address: str, what: str, flag: str) -> grpc.Channel:
        if not address:
            raise FailedPrecondition(
                f"this model URI needs the {what} service: start the server with {flag}",
                field="model_uri",
            )
        if address not in self._channels:
            # Calls send MLGRPC_TOKEN, for registry/tracking services started with --auth.
            self._channels[address] = with_bearer_token(
                secure_or_insecure_channel(address, self._config.peer_tls)
            )
        return self._channels[address]

    def registry_channel(self) -> grpc.Channel:
        return self.channel(
            self._config.registry_address,
            "registry",
            "--registry-address (MLGRPC_REGISTRY_ADDRESS)",
        )

    def close(self) -> None:
        for channel in self._channels.values():
            channel.close()
        self._channels.clear()

    def resolve(self, uri: str) -> ResolvedSource:
        if not uri:
            raise InvalidArgument("model_uri is empty", field="model_uri")
        if any(ord(ch) < 32 or ord(ch) == 127 for ch in uri):
            raise InvalidArgument(
                f"model_uri {uri[:200]!r} contains a control character; remove it",
                field="model_uri",
            )
        if uri.startswith("runs:/"):
            return self._runs(uri)
        if is_registry_uri(uri):
            return self._registered(uri)
        if "://" in uri and not uri.startswith("file:"):
            raise InvalidArgument(
                f"unsupported model URI {uri!r}; use a path, file:, runs:/ or models:/",
                field="model_uri",
            )
        return _local(uri)

    def _runs(self, uri: str) -> ResolvedSource:
        run_id, _, path = uri[len("runs:/") :].strip("/").partition("/")
        key = ContentKey.of(run_id, path)
        name = Path(key.artifact_path).name if key.artifact_path else run_id
        return ResolvedSource(self._files_of(key), name, "1", run_id=run_id)

    def _registered(self, uri: str) -> ResolvedSource:
        from mlgrpc.registry.v1 import registry_service_pb2 as rpb
        from mlgrpc.registry.v1 import registry_service_pb2_grpc as rpb_grpc

        stub = rpb_grpc.ModelRegistryServiceStub(self.registry_channel())
        try:
            resolved = stub.ResolveModelUri(rpb.ResolveModelUriRequest(model_uri=uri), timeout=30)
        except grpc.RpcError as exc:
            raise _from_rpc(exc, "registry") from exc
        mv = resolved.model_version
        version = str(mv.version)
        if resolved.model_id and not mv.name:  # models:/m-<id>: an MLflow 3 LoggedModel
            local = self._files_of(ContentKey.of(resolved.model_id, ""))
            return ResolvedSource(local, resolved.model_id, "1", resolved.run_id)
        if resolved.model_id and not resolved.artifact_path:
            # A version registering a LoggedModel: its files are the model's artifacts.
            local = self._files_of(ContentKey.of(resolved.model_id, ""))
        elif resolved.run_id and resolved.artifact_path:
            local = self._files_of(ContentKey.of(resolved.run_id, resolved.artifact_path))
        else:
            local = _local(resolved.storage_location).local_dir
        return ResolvedSource(local, mv.name, version, resolved.run_id, mv.name)

    def _tracking(self) -> Any:
        from mlgrpc.tracking.v1 import tracking_service_pb2_grpc as tpb_grpc

        channel = self.channel(
            self._config.tracking_address,
            "tracking",
            "--tracking-address (MLGRPC_TRACKING_URI)",
        )
        return tpb_grpc.TrackingServiceStub(channel)

    def _files_of(self, key: ContentKey) -> Path:
        """A local directory with the key's files: a verified cache entry, or a new download."""
        cached = self._cache.reusable(key, lambda: self._listed_sizes(key))
        if cached is not None:
            return cached
        from mlgrpc import artifacts

        stub = self._tracking()
        entry = self._cache.entry(key)
        staging = entry.with_name(f"{entry.name}.partial-{os.getpid()}")
        shutil.rmtree(staging, ignore_errors=True)
        try:
            local = Path(artifacts.download(stub, key.run_id, key.artifact_path, staging))
            if not local.is_dir():
                raise InvalidArgument(
                    f"runs:/{key.run_id}/{key.artifact_path} is a file; a model URI names the "
                    "directory holding the MLmodel file",
                    field="model_uri",
                )
            return self._cache.publish(key, local)
        except MlgrpcException as exc:
            error = Unavailable if exc.code == grpc.StatusCode.UNAVAILABLE else FailedPrecondition
            raise error(
                f"downloading runs:/{key.run_id}/{key.artifact_path} failed: {exc.message}"
            ) from exc
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def _listed_sizes(self, key: ContentKey) -> dict[str, int] | None:
        """`{path below key.artifact_path: size}` of the run's files, or None if the tracking
        service cannot be asked now (the entry is then judged by its own manifest)."""
        if not self._config.tracking_address:
            return None
        return _listed_sizes(self._tracking(), key)


def _listed_sizes(stub: Any, key: ContentKey) -> dict[str, int] | None:
    from mlgrpc import artifacts

    prefix = f"{key.artifact_path}/" if key.artifact_path else ""

    def walk(path: str) -> Iterator[tuple[str, int]]:
        for info in artifacts.list_artifacts(stub, key.run_id, path):
            if info.is_dir:
                yield from walk(info.path)
            else:
                yield info.path.removeprefix(prefix), info.file_size or 0

    try:
        return dict(walk(key.artifact_path))
    except MlgrpcException as exc:
        if exc.code == grpc.StatusCode.NOT_FOUND:
            return {}  # the run or its files are gone: nothing cached may be served for it
        logger.warning(
            "could not list runs:/%s/%s to check the cached copy (%s); it is checked against "
            "its own manifest only",
            key.run_id,
            key.artifact_path,
            exc.message,
        )
        return None


def _from_rpc(exc: grpc.RpcError, service: str) -> Exception:
    code = exc.code() if hasattr(exc, "code") else None
    details = exc.details() if hasattr(exc, "details") else str(exc)
    if code == grpc.StatusCode.NOT_FOUND:
        return NotFound(f"{service}: {details}", field="model_uri")
    if code == grpc.StatusCode.INVALID_ARGUMENT:
        return InvalidArgument(f"{service}: {details}", field="model_uri")
    return Unavailable(f"the {service} service failed: {code}: {details}")
