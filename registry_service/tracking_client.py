"""The registry's gRPC client of the tracking service: GetRun and GetLoggedModel, with a short
deadline.

The registry never reads the tracking tables; it asks the tracking service. A tracking service
that is down or slow makes CreateModelVersion fail fast with UNAVAILABLE naming its address,
while every call that does not need a run keeps working. Reconnection backoff is capped at one
second so that a restarted tracking service is used again promptly.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import grpc

from mlgrpc.service_support import with_bearer_token
from mlgrpc.tracking.v1 import tracking_service_pb2 as tracking_pb
from mlgrpc.tracking.v1 import tracking_service_pb2_grpc as tracking_grpc
from mlgrpc_server.errors import NotFound, Unavailable
from mlgrpc_server.tls import TlsChannelConfig, secure_or_insecure_channel

logger = logging.getLogger(__name__)

DEFAULT_DEADLINE_SECONDS = 3.0

_CHANNEL_OPTIONS = [
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 1000),
]


@dataclass(frozen=True)
class RunLocation:
    """What the registry needs to know of a run."""

    run_id: str
    artifact_uri: str


@dataclass(frozen=True)
class LoggedModelLocation:
    """What the registry needs to know of an MLflow 3 LoggedModel."""

    model_id: str
    artifact_location: str
    source_run_id: str


class TrackingClient:
    def __init__(
        self,
        address: str,
        *,
        deadline: float = DEFAULT_DEADLINE_SECONDS,
        tls: TlsChannelConfig | None = None,
        token: str | None = None,
    ) -> None:
        self.address = address
        self._deadline = deadline
        # Sends `token` (default: MLGRPC_TOKEN) for a tracking service started with --auth.
        self._channel = with_bearer_token(
            secure_or_insecure_channel(address, tls, _CHANNEL_OPTIONS), token
        )
        self._stub = tracking_grpc.TrackingServiceStub(self._channel)

    def _ask(self, method: str, request: object, what: str, field: str) -> Any:
        """`method(request)`; NotFound naming `field` if `what` does not exist, Unavailable if
        the tracking service does not answer."""
        try:
            return getattr(self._stub, method)(request, timeout=self._deadline)
        except grpc.RpcError as error:
            code = error.code()
            if code == grpc.StatusCode.NOT_FOUND:
                raise NotFound(
                    f"{what} does not exist in the tracking service at {self.address}",
                    field=field,
                ) from None
            if code == grpc.StatusCode.INVALID_ARGUMENT:
                raise NotFound(f"{what} does not exist ({error.details()})", field=field) from None
            logger.warning(
                "%s(%s) at %s failed: %s %s", method, what, self.address, code, error.details()
            )
            raise Unavailable(
                f"the tracking service at {self.address} could not be asked about {what} "
                f"({code.name}: {error.details()}); retry when it is reachable",
                field=field,
                metadata={"tracking_address": self.address},
            ) from None

    def get_logged_model(self, model_id: str, field: str = "model_id") -> LoggedModelLocation:
        """The LoggedModel's artifact root and source run; NotFound naming `field` if it does
        not exist, Unavailable if the tracking service does not answer."""
        from mlgrpc.tracking.v1 import logged_models_pb2 as lm

        request = lm.GetLoggedModelRequest(model_id=model_id)
        model = self._ask("GetLoggedModel", request, f"logged model {model_id!r}", field).model
        return LoggedModelLocation(model.model_id, model.artifact_location, model.source_run_id)

    def get_run(self, run_id: str) -> RunLocation:
        """The run's artifact root; NotFound if it does not exist, Unavailable if no answer."""
        request = tracking_pb.GetRunRequest(run_id=run_id)
        response = self._ask("GetRun", request, f"run {run_id!r}", "run_id")
        return RunLocation(
            run_id=response.run.info.run_id, artifact_uri=response.run.info.artifact_uri
        )

    def close(self) -> None:
        self._channel.close()
