"""Model URI → a local model directory, plus what the registry says about it.

Local paths and `file:` URIs are used in place. `runs:/<run_id>/<path>` downloads through the
tracking service; `models:/…` resolves through the registry (ResolveModelUri), then downloads
the version's files through the tracking service into `<cache>/<name>/<version>`, checking each
file's sha256. A complete cache entry is reused across restarts.
"""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

import grpc

from mlgrpc._auth import with_bearer_token
from mlgrpc.exceptions import InvalidArgumentError, MlgrpcException
from mlgrpc.uris import parse_models_uri
from mlgrpc_server.errors import FailedPrecondition, InvalidArgument, NotFound, Unavailable
from mlgrpc_server.tls import secure_or_insecure_channel
from scoring_service.config import ServeConfig

logger = logging.getLogger(__name__)

COMPLETE_MARKER = ".mlgrpc-complete"


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
        cache = self._config.cache_dir / "runs" / run_id / (path or "_root")
        self._download(run_id, path, cache)
        name = Path(path).name if path else run_id
        return ResolvedSource(cache, name, "1", run_id=run_id)

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
        cache = self._config.cache_dir / mv.name / version
        if resolved.run_id and resolved.artifact_path:
            self._download(resolved.run_id, resolved.artifact_path, cache)
            local = cache
        else:
            local = _local(resolved.storage_location).local_dir
        return ResolvedSource(local, mv.name, version, resolved.run_id, mv.name)

    def _download(self, run_id: str, path: str, target: Path) -> None:
        """Fill `target` with the run's files under `path`, unless a complete copy is there."""
        if (target / COMPLETE_MARKER).is_file():
            logger.info("using cached model files in %s", target)
            return
        from mlgrpc import artifacts
        from mlgrpc.tracking.v1 import tracking_service_pb2_grpc as tpb_grpc

        channel = self.channel(
            self._config.tracking_address,
            "tracking",
            "--tracking-address (MLGRPC_TRACKING_URI)",
        )
        staging = target.with_name(f"{target.name}.partial-{os.getpid()}")
        shutil.rmtree(staging, ignore_errors=True)
        try:
            local = artifacts.download(tpb_grpc.TrackingServiceStub(channel), run_id, path, staging)
            Path(local, COMPLETE_MARKER).write_text("sha256 verified\n", encoding="utf-8")
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.rmtree(target, ignore_errors=True)
            os.replace(local, target)  # the cache entry appears complete or not at all
        except MlgrpcException as exc:
            error = Unavailable if exc.code == grpc.StatusCode.UNAVAILABLE else FailedPrecondition
            raise error(f"downloading {run_id}/{path} failed: {exc.message}") from exc
        finally:
            shutil.rmtree(staging, ignore_errors=True)


def _from_rpc(exc: grpc.RpcError, service: str) -> Exception:
    code = exc.code() if hasattr(exc, "code") else None
    details = exc.details() if hasattr(exc, "details") else str(exc)
    if code == grpc.StatusCode.NOT_FOUND:
        return NotFound(f"{service}: {details}", field="model_uri")
    if code == grpc.StatusCode.INVALID_ARGUMENT:
        return InvalidArgument(f"{service}: {details}", field="model_uri")
    return Unavailable(f"the {service} service failed: {code}: {details}")
