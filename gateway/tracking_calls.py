"""The gateway's calls to the tracking service (`ServiceCalls`), with its two artifact streams."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

import grpc

from gateway.service_calls import ServiceCalls
from mlgrpc import config
from mlgrpc.service_support import TRACKING_SERVICE, call_server_stream
from mlgrpc.tls import ClientTls
from mlgrpc.tracking.v1 import tracking_service_pb2_grpc


class TrackingCalls(ServiceCalls):
    """Calls to one tracking service; a failure raises `mlgrpc.exceptions`' typed error."""

    def __init__(self, address: str, tls: ClientTls | None = None) -> None:
        super().__init__(
            address, TRACKING_SERVICE, tracking_service_pb2_grpc.TrackingServiceStub, tls
        )

    def upload(self, messages: Iterator[Any]) -> grpc.Future:
        """Start an UploadArtifact fed by `messages`; the future can be cancelled (a caller that
        went away must not leave a shortened file behind)."""
        return self._stub.UploadArtifact.future(
            messages, timeout=config.artifact_timeout(), metadata=self._metadata
        )

    def download(self, request: Any) -> Iterator[Any]:
        stub_method = functools.partial(self._stub.DownloadArtifact, metadata=self._metadata)
        return call_server_stream(stub_method, request, name="DownloadArtifact")
