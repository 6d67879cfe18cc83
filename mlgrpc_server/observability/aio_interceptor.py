"""The same observability for a `grpc.aio` server (scoring's `--server-kind aio`).

grpc.aio runs each RPC in its own task, whose context is a copy: the request id set here is
seen by the handler and its log records only. Handlers that stream either are async
generators or write with `context.write` and return; both shapes are covered.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from time import perf_counter
from typing import TYPE_CHECKING, Any

import grpc

from mlgrpc_server.observability.interceptor import CANCELLED, final_code, start_call

if TYPE_CHECKING:  # prometheus_client is imported only when metrics are on
    from mlgrpc_server.observability.metrics import GrpcMetrics, MethodMetrics


def _awaited(behavior: Callable[..., Awaitable[Any]], metrics: MethodMetrics | None) -> Any:
    async def observed(request: Any, context: Any) -> Any:
        call = start_call(context)
        started = perf_counter()
        try:
            response = await behavior(request, context)
        except BaseException as exc:
            if metrics is not None:
                metrics.observe(final_code(context, exc), perf_counter() - started, call)
            raise
        if metrics is not None:
            metrics.observe(final_code(context, None), perf_counter() - started, call)
        return response

    return observed


def _async_stream(
    behavior: Callable[..., AsyncIterator[Any]], metrics: MethodMetrics | None
) -> Any:
    async def observed(request: Any, context: Any) -> AsyncIterator[Any]:
        call = start_call(context)
        started = perf_counter()
        code: grpc.StatusCode | None = None
        try:
            async for response in behavior(request, context):
                yield response
        except GeneratorExit:
            code = CANCELLED
            raise
        except BaseException as exc:
            code = final_code(context, exc)
            raise
        finally:
            if metrics is not None:
                ended = code if code is not None else final_code(context, None)
                metrics.observe(ended, perf_counter() - started, call)

    return observed


def _wrap(behavior: Any, metrics: MethodMetrics | None) -> Any:
    if inspect.isasyncgenfunction(behavior):
        return _async_stream(behavior, metrics)
    return _awaited(behavior, metrics)


class AioObservabilityInterceptor(grpc.aio.ServerInterceptor):
    """Request ids always; per-RPC counters and latency histograms when `metrics` is given."""

    def __init__(self, metrics: GrpcMetrics | None = None) -> None:
        self._metrics = metrics
        self._wrapped: dict[str, tuple[grpc.RpcMethodHandler, grpc.RpcMethodHandler]] = {}

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        if handler is None:
            return None  # type: ignore[return-value]  # gRPC answers UNIMPLEMENTED
        method = handler_call_details.method
        cached = self._wrapped.get(method)
        if cached is not None and cached[0] is handler:
            return cached[1]
        wrapped = self._wrap_handler(handler, method)
        self._wrapped[method] = (handler, wrapped)
        return wrapped

    def _wrap_handler(self, handler: Any, method: str) -> Any:
        def metrics_of(rpc_type: str) -> MethodMetrics | None:
            return None if self._metrics is None else self._metrics.method(rpc_type, method)

        for attribute, rpc_type in (
            ("unary_unary", "unary"),
            ("unary_stream", "server_stream"),
            ("stream_unary", "client_stream"),
            ("stream_stream", "bidi_stream"),
        ):
            behavior = getattr(handler, attribute)
            if behavior:
                return handler._replace(**{attribute: _wrap(behavior, metrics_of(rpc_type))})
        return handler
