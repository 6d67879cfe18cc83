"""The registry's gRPC client of the tracking service: only GetRun, with a short deadline.

The registry never reads the tracking tables; it asks the tracking service. A tracking service
that is down or slow makes CreateModelVersion fail fast with UNAVAILABLE naming its address,
while every call that does not need a run keeps working. Reconnection backoff is capped at one
second so that a restarted tracking service is used again promptly.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

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

    def get_run(self, run_id: str) -> RunLocation:
        """The run's artifact root; NotFound if it does not exist, Unavailable if no answer."""
        try:
            response = self._stub.GetRun(
                tracking_pb.GetRunRequest(run_id=run_id), timeout=self._deadline
            )
        except grpc.RpcError as error:
            code = error.code()
            if code == grpc.StatusCode.NOT_FOUND:
                raise NotFound(
                    f"run {run_id!r} does not exist in the tracking service at {self.address}",
                    field="run_id",
                ) from None
            if code == grpc.StatusCode.INVALID_ARGUMENT:
                raise NotFound(
                    f"run {run_id!r} does not exist ({error.details()})", field="run_id"
                ) from None
            logger.warning(
                "GetRun(%s) at %s failed: %s %s", run_id, self.address, code, error.details()
            )
            raise Unavailable(
                f"the tracking service at {self.address} could not be asked about run "
                f"{run_id!r} ({code.name}: {error.details()}); retry when it is reachable",
                field="run_id",
                metadata={"tracking_address": self.address},
            ) from None
        return RunLocation(
            run_id=response.run.info.run_id, artifact_uri=response.run.info.artifact_uri
        )

    def close(self) -> None:
        self._channel.close()
