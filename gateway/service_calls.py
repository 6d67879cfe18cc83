"""What every call layer of the gateway shares: a service's generated stub on the client's shared
channel (`mlgrpc._channel`: message limits, retries of idempotent calls, TLS from MLGRPC_TLS_*),
so that the gateway is one more client of each contract.

Each HTTP caller's `Authorization` header goes along as the call's metadata (MLflow's client
sends MLFLOW_TRACKING_TOKEN as `Bearer …`), so that services started with `--auth` decide what
that caller may do. A request without one carries the gateway's own MLGRPC_TOKEN, if it has one.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from typing import Any, Self

import grpc

from gateway.errors import RequestError
from mlgrpc._channel import call_unary, get_channel
from mlgrpc.tls import ClientTls


class ServiceCalls:
    """Unary calls to one service; a failure raises `mlgrpc.exceptions`' typed error."""

    def __init__(
        self,
        address: str,
        service: str,
        stub_class: Callable[[grpc.Channel], Any],
        tls: ClientTls | None = None,
    ) -> None:
        self.address = address
        self._stub = stub_class(get_channel(address, service, tls))
        self._metadata: tuple[tuple[str, str], ...] = ()

    def as_caller(self, authorization: str | None) -> Self:
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
