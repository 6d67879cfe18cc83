"""Requests that protobuf cannot parse answer INVALID_ARGUMENT, not gRPC's own INTERNAL.

gRPC Python parses a request before any handler or interceptor code runs, and answers a parse
failure (bytes that are not the message, nesting deeper than protobuf's limit of 100) with
INTERNAL "Exception deserializing request!": a server error for a client mistake. Here the
parser's failure becomes a placeholder request, and the handler meets it as an InvalidArgument
that the error-mapping interceptor turns into a status naming the field `request`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import grpc

from mlgrpc_server.errors import InvalidArgument


class _Undecodable:
    """Stands for a request message that could not be parsed."""

    __slots__ = ("error",)

    def __init__(self, error: Exception) -> None:
        self.error = error


def _tolerant(parse: Callable[[bytes], Any]) -> Callable[[bytes], Any]:
    def parse_or_placeholder(data: bytes) -> Any:
        try:
            return parse(data)
        except Exception as exc:  # noqa: BLE001 - whatever the parser raises, the bytes are bad
            return _Undecodable(exc)

    return parse_or_placeholder


def _checked(request: Any) -> Any:
    if isinstance(request, _Undecodable):
        raise InvalidArgument(
            f"the request could not be parsed: {request.error}; send a valid message "
            "(nested at most 100 levels deep)",
            field="request",
        )
    return request


def _checked_each(requests: Iterator[Any]) -> Iterator[Any]:
    for request in requests:
        yield _checked(request)


def tolerate_undecodable(handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
    """`handler` with a parser that never fails and behaviors that refuse unparsed requests.

    Wrap it inside the error-mapping guard, which maps the InvalidArgument raised here.
    """
    if handler.request_deserializer is None:
        return handler
    kinds = ("unary_unary", "unary_stream", "stream_unary", "stream_stream")
    kind = next((k for k in kinds if getattr(handler, k) is not None), None)
    if kind is None:
        return handler
    behavior = getattr(handler, kind)
    if kind.startswith("unary"):

        def checked_behavior(request: Any, context: grpc.ServicerContext) -> Any:
            return behavior(_checked(request), context)
    else:

        def checked_behavior(requests: Any, context: grpc.ServicerContext) -> Any:
            return behavior(_checked_each(requests), context)

    return handler._replace(
        request_deserializer=_tolerant(handler.request_deserializer),
        **{kind: checked_behavior},
    )


class AioUndecodableInterceptor(grpc.aio.ServerInterceptor):
    """The same for a `grpc.aio` server (unary-request RPCs, as the aio scoring server has):
    an unparsable request is refused with INVALID_ARGUMENT naming `request`."""

    def __init__(self, domain: str) -> None:
        self._domain = domain

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Any],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        if handler is None or handler.request_deserializer is None:
            return handler
        kind = "unary_unary" if handler.unary_unary is not None else "unary_stream"
        behavior = getattr(handler, kind)
        if behavior is None:
            return handler  # client-streaming: none on the aio scoring server
        method = handler_call_details.method
        domain = self._domain

        async def checked_behavior(request: Any, context: grpc.aio.ServicerContext) -> Any:
            if isinstance(request, _Undecodable):
                # Imported here: interceptors imports this module.
                from mlgrpc_server.interceptors import status_for_exception

                try:
                    _checked(request)
                except InvalidArgument as error:
                    await context.abort_with_status(status_for_exception(error, domain, method))
            return await behavior(request, context)

        return handler._replace(
            request_deserializer=_tolerant(handler.request_deserializer),
            **{kind: checked_behavior},
        )
