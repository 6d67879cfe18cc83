"""The gateway's calls to the tracking service: its generated stub on the client's shared
channel (`mlgrpc._channel`: message limits, retries of idempotent calls, TLS from MLGRPC_TLS_*,
the bearer token of MLGRPC_TOKEN), so the gateway is one more client of the contract."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import grpc

from mlgrpc import config
from mlgrpc._channel import TRACKING_SERVICE, call_server_stream, call_unary, get_channel
from mlgrpc.tls import ClientTls
from mlgrpc.tracking.v1 import tracking_service_pb2_grpc


class TrackingCalls:
    """Unary calls to one tracking service; a failure raises `mlgrpc.exceptions`' typed error."""

    def __init__(self, address: str, tls: ClientTls | None = None) -> None:
        self.address = address
        channel = get_channel(address, TRACKING_SERVICE, tls)
        self._stub = tracking_service_pb2_grpc.TrackingServiceStub(channel)

    def call(self, method: str, request: Any) -> Any:
        return call_unary(getattr(self._stub, method), request, name=method)

    def upload(self, messages: Iterator[Any]) -> grpc.Future:
        """Start an UploadArtifact fed by `messages`; the future can be cancelled (a caller that
        went away must not leave a shortened file behind)."""
        return self._stub.UploadArtifact.future(messages, timeout=config.artifact_timeout())

    def download(self, request: Any) -> Iterator[Any]:
        return call_server_stream(self._stub.DownloadArtifact, request, name="DownloadArtifact")
