"""The sync server's observability interceptor: request ids, and metrics when they are on.

It sits inside `ErrorMappingInterceptor` (bootstrap puts that one first, i.e. outermost), so
it sees a handler's exception before it is mapped: the code it counts is the one the mapping
will answer with (`code_for_exception`), or the code the handler aborted with.

Per call it costs one dict lookup of the wrapped handler, a contextvar set, a trailer tuple,
two `perf_counter()` calls and two metric updates (bench: `bench/observability_overhead.py`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from time import perf_counter
from typing import TYPE_CHECKING, Any

import grpc

from mlgrpc_server.interceptors import WrappingInterceptor, code_for_exception
from mlgrpc_server.observability.request_context import (
    REQUEST_ID_KEY,
    CallRecord,
    begin_call,
    new_request_id,
    request_id_from_metadata,
)

if TYPE_CHECKING:  # prometheus_client is imported only when metrics are on
    from mlgrpc_server.observability.metrics import GrpcMetrics, MethodMetrics


OK = grpc.StatusCode.OK
CANCELLED = grpc.StatusCode.CANCELLED


def final_code(context: Any, exc: BaseException | None) -> grpc.StatusCode:
    """The status code a call ends with, given how its handler ended."""
    code = context.code()
    if exc is None:
        return code if isinstance(code, grpc.StatusCode) else OK
    if isinstance(code, grpc.StatusCode) and code is not OK:
        return code  # the handler aborted with it
    return code_for_exception(exc)


def start_call(context: Any) -> CallRecord:
    """Make the call's request id current and answer with it in the trailers."""
    request_id = request_id_from_metadata(context.invocation_metadata()) or new_request_id()
    call = begin_call(request_id)
    context.set_trailing_metadata(((REQUEST_ID_KEY, request_id),))
    return call


def _unary(behavior: Callable[..., Any], metrics: MethodMetrics | None) -> Callable[..., Any]:
    if metrics is None:

        def with_request_id(request: Any, context: grpc.ServicerContext) -> Any:
            start_call(context)
            return behavior(request, context)

        return with_request_id

    def observed(request: Any, context: grpc.ServicerContext) -> Any:
        call = start_call(context)
        started = perf_counter()
        try:
            response = behavior(request, context)
        except BaseException as exc:
            metrics.observe(final_code(context, exc), perf_counter() - started, call)
            raise
        metrics.observe(final_code(context, None), perf_counter() - started, call)
        return response

    return observed


def _stream(
    behavior: Callable[..., Iterator[Any]], metrics: MethodMetrics | None
) -> Callable[..., Iterator[Any]]:
    def observed(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
        call = start_call(context)
        started = perf_counter()
        code: grpc.StatusCode | None = None
        try:
            yield from behavior(request, context)
        except GeneratorExit:
            code = CANCELLED  # the client went away: gRPC closes the iterator
            raise
        except BaseException as exc:
            code = final_code(context, exc)
            raise
        finally:
            if metrics is not None:
                ended = code if code is not None else final_code(context, None)
                metrics.observe(ended, perf_counter() - started, call)

    return observed


class ObservabilityInterceptor(WrappingInterceptor):
    """Request ids always; per-RPC counters and latency histograms when `metrics` is given.
    Each method's handler is wrapped once (`WrappingInterceptor`)."""

    def __init__(self, metrics: GrpcMetrics | None = None) -> None:
        super().__init__()
        self._metrics = metrics

    def _wrap(self, handler: grpc.RpcMethodHandler, method: str) -> grpc.RpcMethodHandler:
        def metrics_of(rpc_type: str) -> MethodMetrics | None:
            return None if self._metrics is None else self._metrics.method(rpc_type, method)

        if handler.unary_unary:
            return handler._replace(unary_unary=_unary(handler.unary_unary, metrics_of("unary")))
        if handler.unary_stream:
            behavior = _stream(handler.unary_stream, metrics_of("server_stream"))
            return handler._replace(unary_stream=behavior)
        if handler.stream_unary:
            behavior = _unary(handler.stream_unary, metrics_of("client_stream"))
            return handler._replace(stream_unary=behavior)
        if handler.stream_stream:
            behavior = _stream(handler.stream_stream, metrics_of("bidi_stream"))
            return handler._replace(stream_stream=behavior)
        return handler
