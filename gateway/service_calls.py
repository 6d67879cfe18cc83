"""What every call layer of the gateway shares: a service's generated stub on the client's shared
channel (`mlgrpc._channel`: message limits, retries of idempotent calls, TLS from MLGRPC_TLS_*),
so that the gateway is one more client of each contract.

Each HTTP caller's `Authorization` header goes along as the call's metadata (MLflow's client
sends MLFLOW_TRACKING_TOKEN as `Bearer …`), so that services started with `--auth` decide what
that caller may do. A request without one carries the gateway's own MLGRPC_TOKEN, if it has one.
"""

from __future__ import annotations

import asyncio
import copy
import functools
from collections.abc import Callable
from typing import Any, Self

import grpc

from gateway.errors import RequestError
from mlgrpc import config
from mlgrpc._channel import call_unary, get_channel
from mlgrpc.exceptions import from_rpc_error
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

    async def call_async(self, method: str, request: Any) -> Any:
        """`call`, awaited on the event loop: gRPC's own thread wakes the loop when the answer
        is here, so no worker thread of the pool is woken for it and waited for (a hop that a
        loaded machine makes cost a millisecond or more on the UI's hottest request)."""
        loop = asyncio.get_running_loop()
        answered: asyncio.Future[None] = loop.create_future()

        def settle(_: object) -> None:
            if not answered.done():
                answered.set_result(None)

        stub_method = getattr(self._stub, method)
        future = stub_method.future(
            request, timeout=config.client_timeout(), metadata=self._metadata
        )
        future.add_done_callback(lambda _: loop.call_soon_threadsafe(settle, None))
        try:
            await answered
        except asyncio.CancelledError:
            future.cancel()  # the HTTP caller went away
            raise
        try:
            return future.result()
        except grpc.RpcError as error:
            raise from_rpc_error(error, method=method) from None
