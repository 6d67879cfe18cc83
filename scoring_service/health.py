"""What the scoring service's gRPC health service (grpc.health.v1) answers, under which names.

- `""` (the server as a whole), `mlgrpc.scoring.v1.ScoringService` and
  `inference.GRPCInferenceService`: SERVING once the models given at start are loaded and
  while at least one model is served; NOT_SERVING before that, and while none is (after
  UnloadModel of the last one), since then every Predict would fail.
- Each model under the name it is served as (`wine` for `-m wine=…`, the name ListModels shows):
  SERVING while it is served, NOT_SERVING once unloaded. Models named at start (`-m NAME=URI`)
  are NOT_SERVING until they load. A name this server never served is unknown to it: Check
  answers the status NOT_FOUND, as the health protocol says.

So `mlgrpc health HOST:PORT --service wine` (or a Kubernetes gRPC probe with `service: wine`)
tells whether that model answers here. A model named like one of the server's gRPC services
would share its health entry: the service's status wins.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable

from grpc_health.v1 import health_pb2

from scoring_service.models.manager import ModelManager

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING

#: Sets the status of one service name (the health servicer's `set`, or a thread-safe wrapper
#: of the asyncio one).
SetStatus = Callable[[str, int], None]


class ModelHealth:
    """Keeps the health service in step with the manager: readiness and the served models."""

    def __init__(
        self, manager: ModelManager, set_status: SetStatus, service_names: Iterable[str]
    ) -> None:
        self._manager = manager
        self._set = set_status
        self._services = ("", *service_names)
        self._lock = threading.Lock()
        self._known_models = {spec.name for spec in manager.config.models if spec.name}

    def watch(self) -> None:
        """Publish now, and again whenever readiness or the set of served models changes."""
        self._manager.on_ready(lambda _ready: self.publish())
        self._manager.registry.on_change(self.publish)
        self.publish()

    def publish(self) -> None:
        # Read the state under the lock: whichever call publishes last publishes the latest
        # state, however the threads that changed it interleave.
        with self._lock:
            served = set(self._manager.registry.names())
            self._known_models |= served
            for name in sorted(self._known_models - set(self._services)):
                self._set(name, SERVING if name in served else NOT_SERVING)
            overall = SERVING if self._manager.ready and served else NOT_SERVING
            for name in self._services:
                self._set(name, overall)
