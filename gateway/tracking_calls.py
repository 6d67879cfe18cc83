"""The gateway's calls to the tracking service: its generated stub on the client's shared
channel (`mlgrpc._channel`: message limits, retries of idempotent calls, TLS from MLGRPC_TLS_*),
so the gateway is one more client of the contract.

Each HTTP caller's `Authorization` header goes along as the call's metadata (MLflow's client
sends MLFLOW_TRACKING_TOKEN as `Bearer …`), so that services started with `--auth` decide what
that caller may do. A request without one carries the gateway's own MLGRPC_TOKEN, if it has one.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Iterator
from typing import Any

import grpc

from gateway.errors import RequestError
from mlgrpc import config
from mlgrpc._channel import TRACKING_SERVICE, call_server_stream, call_unary, get_channel
from mlgrpc.tls import ClientTls
from mlgrpc.tracking.v1 import tracking_service_pb2_grpc


class TrackingCalls:
    """Calls to one tracking service; a failure raises `mlgrpc.exceptions`' typed error."""

    def __init__(self, address: str, tls: ClientTls | None = None) -> None:
        self.address = address
        channel = get_channel(address, TRACKING_SERVICE, tls)
        self._stub = tracking_service_pb2_grpc.TrackingServiceStub(channel)
        self._metadata: tuple[tuple[str, str], ...] = ()

    def as_caller(self, authorization: str | None) -> TrackingCalls:
        """The same calls, made with the HTTP caller's credentials."""
        if not authorization:
            return self
        if not (authorization.isascii() and authorization.isprintable()):
            raise RequestError("The Authorization header is malformed.", "UNAUTHENTICATED")
        caller = copy.copy(self)
        caller._metadata = (("authorization", authorization),)
        return caller

    def call(self, method: str, request: Any) -> Any:
        stub_method = functools.partial(getattr(self._stub, method), metadata=self._metadata)
        return call_unary(stub_method, request, name=method)

    def upload(self, messages: Iterator[Any]) -> grpc.Future:
        """Start an UploadArtifact fed by `messages`; the future can be cancelled (a caller that
        went away must not leave a shortened file behind)."""
        return self._stub.UploadArtifact.future(
            messages, timeout=config.artifact_timeout(), metadata=self._metadata
        )

    def download(self, request: Any) -> Iterator[Any]:
        stub_method = functools.partial(self._stub.DownloadArtifact, metadata=self._metadata)
        return call_server_stream(stub_method, request, name="DownloadArtifact")
