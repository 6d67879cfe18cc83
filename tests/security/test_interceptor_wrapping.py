"""Interceptors that keep a method's wrapped handler (`WrappingInterceptor`) never answer a call
with the wrapper of an earlier call's handler: an inner interceptor that makes a handler per call
(the auth interceptor closes over each call's token) must be seen afresh every time.

A real gRPC server on loopback, with the production interceptors outermost as `start_server`
orders them, and an inner interceptor that answers each call with a handler of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent import futures
from typing import Any

import grpc
import pytest

from mlgrpc_server.interceptors import ErrorMappingInterceptor
from mlgrpc_server.observability.interceptor import ObservabilityInterceptor

METHOD = "/test.Echo/Who"


class PerCallHandlers(grpc.ServerInterceptor):
    """Answers every call with a new handler bound to the call's `who` metadata."""

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler | None:
        handler = continuation(handler_call_details)
        if handler is None:
            return None
        who = dict(handler_call_details.invocation_metadata).get("who", "nobody")

        def answer(request: bytes, context: grpc.ServicerContext) -> bytes:
            if who == "intruder":
                raise PermissionError("intruders are refused")  # mapped by the outer guard
            return who.encode()

        return grpc.unary_unary_rpc_method_handler(answer)


def _never_called(request: bytes, context: grpc.ServicerContext) -> bytes:
    raise AssertionError("the inner interceptor replaces this handler")


@pytest.fixture(scope="module")
def channel() -> Iterator[grpc.Channel]:
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=4),
        interceptors=[
            ErrorMappingInterceptor("test"),
            ObservabilityInterceptor(),
            PerCallHandlers(),
        ],
        options=[("grpc.so_reuseport", 0)],
    )
    server.add_generic_rpc_handlers(
        (
            grpc.method_handlers_generic_handler(
                "test.Echo", {"Who": grpc.unary_unary_rpc_method_handler(_never_called)}
            ),
        )
    )
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    with grpc.insecure_channel(f"127.0.0.1:{port}") as open_channel:
        yield open_channel
    server.stop(grace=None)


def _call(channel: grpc.Channel, who: str) -> Any:
    return channel.unary_unary(METHOD)(b"", metadata=(("who", who),), timeout=10)


def test_each_call_gets_the_handler_made_for_it(channel: grpc.Channel) -> None:
    for who in ["alice", "bob", "alice", "carol", "bob"]:
        assert _call(channel, who) == who.encode()


def test_a_refusal_after_an_allowed_call_is_not_served_the_allowed_wrapper(
    channel: grpc.Channel,
) -> None:
    assert _call(channel, "alice") == b"alice"
    with pytest.raises(grpc.RpcError) as refused:
        _call(channel, "intruder")
    assert refused.value.code() == grpc.StatusCode.INTERNAL  # a PermissionError is not ours
    assert _call(channel, "alice") == b"alice"
