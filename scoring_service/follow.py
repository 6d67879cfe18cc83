"""Following a registry alias or stage: `models:/name@alias`, `models:/name/Stage`, `…/latest`.

One thread per followed model keeps a WatchRegisteredModel stream open. When the alias (or the
newest version in the stage) moves, the new version is downloaded and loaded in that thread
while the old one keeps answering, then swapped in with one reference assignment: no request
fails or sees a mix. If the registry is unreachable the loaded version keeps serving and the
watch reconnects with exponential backoff.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

import grpc

from mlgrpc.exceptions import InvalidArgumentError
from mlgrpc.uris import ModelsUri, parse_models_uri
from mlgrpc_server.errors import InvalidArgument, ServiceError
from scoring_service.models.manager import ModelManager
from scoring_service.models.source import follows

logger = logging.getLogger(__name__)

INITIAL_BACKOFF_S = 0.5


@dataclass(frozen=True)
class FollowTarget:
    """What a moving model URI points at: a registered model and an alias, a stage or latest."""

    uri: ModelsUri

    @classmethod
    def parse(cls, uri: str) -> FollowTarget:
        try:
            return cls(parse_models_uri(uri))
        except InvalidArgumentError as exc:
            raise InvalidArgument(exc.message, field="model_uri") from exc

    @property
    def registered_name(self) -> str:
        return self.uri.name

    def version_in(self, registered_model: object) -> str | None:
        """The version this target names in a RegisteredModel message, if any."""
        if self.uri.alias is not None:
            for alias in registered_model.aliases:  # type: ignore[attr-defined]
                if alias.alias == self.uri.alias:
                    return str(alias.version)
            return None
        if self.uri.version is not None:
            return str(self.uri.version)
        versions = list(registered_model.latest_versions)  # type: ignore[attr-defined]
        if self.uri.stage is not None:
            versions = [v for v in versions if v.current_stage == self.uri.stage]
        if not versions:
            return None
        return str(max(int(v.version) for v in versions))


class ModelFollower:
    """Watches one moving URI and swaps the served model when it moves."""

    def __init__(self, manager: ModelManager, served_name: str, uri: str) -> None:
        self._manager = manager
        self._served_name = served_name
        self._uri = uri
        self._target = FollowTarget.parse(uri)
        self._stop = threading.Event()
        self._call: grpc.Future | None = None
        self._thread = threading.Thread(target=self._run, name=f"follow-{served_name}", daemon=True)

    def start(self) -> ModelFollower:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        call = self._call
        if call is not None:
            call.cancel()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        from mlgrpc.registry.v1 import registry_service_pb2 as rpb
        from mlgrpc.registry.v1 import registry_service_pb2_grpc as rpb_grpc

        backoff = INITIAL_BACKOFF_S
        max_backoff = self._manager.config.watch_backoff_max_s
        while not self._stop.is_set():
            try:
                stub = rpb_grpc.ModelRegistryServiceStub(self._manager.resolver.registry_channel())
                request = rpb.WatchRegisteredModelRequest(name=self._target.registered_name)
                self._call = stub.WatchRegisteredModel(request, wait_for_ready=False)
                for message in self._call:  # type: ignore[union-attr]
                    self._on_change(message.registered_model)
                    backoff = INITIAL_BACKOFF_S
                    if self._stop.is_set():
                        return
            except grpc.RpcError as exc:
                if self._stop.is_set():
                    return
                logger.warning(
                    "watching %s: %s; the served version keeps answering, retrying in %.1f s",
                    self._uri,
                    exc.code() if isinstance(exc, grpc.Call) else exc,
                    backoff,
                )
            except ServiceError as exc:
                # Includes a failed load of the new version: after the backoff the watch
                # reconnects, receives the model as it is then, and tries again.
                logger.warning("watching %s: %s", self._uri, exc.message)
            if self._stop.wait(backoff):
                return
            backoff = min(backoff * 2, max_backoff)

    def _on_change(self, registered_model: object) -> None:
        version = self._target.version_in(registered_model)
        if version is None:
            logger.warning("%s names no version now; keeping the served one", self._uri)
            return
        try:
            current = self._manager.registry.get(self._served_name).version
        except ServiceError:
            return  # unloaded meanwhile
        if version == current:
            return
        name = self._target.registered_name
        logger.info("%s moved to version %s; loading it", self._uri, version)
        try:
            exact = str(ModelsUri(name=name, version=int(version)))
            self._manager.load(exact, self._served_name, shown_uri=self._uri)
        except ServiceError as exc:
            logger.error("loading %s version %s failed: %s", name, version, exc.message)
            raise


def start_followers(manager: ModelManager) -> list[ModelFollower]:
    """A follower for every served model whose URI names an alias, a stage or `latest`."""
    followers = []
    for model in manager.registry.all():
        if follows(model.source_uri):
            followers.append(ModelFollower(manager, model.name, model.source_uri).start())
    return followers
