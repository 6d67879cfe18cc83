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
from mlgrpc import config
from mlgrpc.exceptions import from_rpc_error
from mlgrpc.service_support import call_unary, get_async_channel, get_channel, token_metadata
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
        self._service, self._stub_class, self._tls = service, stub_class, tls
        self._stub = stub_class(get_channel(address, service, tls))
        # The stub on each loop's aio channel, by the channel's id (shared by `as_caller` copies).
        self._async_stubs: dict[int, tuple[grpc.aio.Channel, Any]] = {}
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
        """`call`, awaited on the event loop (its own aio channel): no thread of the pool is
        woken for it and waited for, and no thread of gRPC's is started for it (a sync channel's
        `future` starts one whenever no other call is in flight: a third of a millisecond of CPU
        per call, and a millisecond or more of waiting on a loaded machine)."""
        channel = get_async_channel(self.address, self._service, self._tls)
        known = self._async_stubs.get(id(channel))
        if known is None or known[0] is not channel:
            known = self._async_stubs[id(channel)] = (channel, self._stub_class(channel))
        stub_method = getattr(known[1], method)
        try:
            return await stub_method(
                request, timeout=config.client_timeout(), metadata=token_metadata(self._metadata)
            )
        except grpc.RpcError as error:
            raise from_rpc_error(error, method=method) from None
