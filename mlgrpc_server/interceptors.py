"""The one place where exceptions become gRPC statuses, for sync and asyncio servers.

`ServiceError` → its own code and reason. A database that cannot be reached → UNAVAILABLE.
Anything else → INTERNAL with a request id; the traceback goes to the log, never to the caller.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

import grpc

from mlgrpc import error_reasons as reasons
from mlgrpc_server.errors import ServiceError, status_of, to_grpc_status
from mlgrpc_server.observability.request_context import (
    REQUEST_ID_KEY,
    current_request_id,
    new_request_id,
)
from mlgrpc_server.request_decoding import tolerate_undecodable

logger = logging.getLogger(__name__)


def _already_aborted(context: grpc.ServicerContext) -> bool:
    code = context.code()
    return code is not None and code != grpc.StatusCode.OK


def _is_database_unreachable(exc: BaseException) -> bool:
    # sqlalchemy is imported only when the error comes from it: the scoring service uses no
    # database, and importing sqlalchemy would add ~0.3 s to its cold start.
    if not type(exc).__module__.startswith("sqlalchemy"):
        return False
    from sqlalchemy import exc as sa_exc

    return isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError | sa_exc.TimeoutError)


def code_for_exception(exc: BaseException) -> grpc.StatusCode:
    """The code `status_for_exception` answers `exc` with, without logging (for metrics)."""
    if isinstance(exc, ServiceError):
        return exc.code
    if _is_database_unreachable(exc):
        return grpc.StatusCode.UNAVAILABLE
    return grpc.StatusCode.INTERNAL


def status_for_exception(exc: BaseException, domain: str, method: str) -> grpc.Status:
    """The status a failed call answers with; logs what the caller must not see.

    Its trailers carry the call's `x-request-id` (replacing the trailers already set).
    """
    status = _status_for_exception(exc, domain, method)
    request_id = current_request_id()
    if request_id is None:
        return status
    trailers = (*(status.trailing_metadata or ()), (REQUEST_ID_KEY, request_id))
    return status._replace(trailing_metadata=trailers)  # type: ignore[attr-defined]


def _status_for_exception(exc: BaseException, domain: str, method: str) -> grpc.Status:
    if isinstance(exc, ServiceError):
        if exc.code in (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNAVAILABLE):
            logger.warning("%s: %s", method, exc.message)
        return status_of(exc, domain)
    if _is_database_unreachable(exc):
        logger.warning("%s: database unavailable: %s", method, exc)
        return to_grpc_status(
            grpc.StatusCode.UNAVAILABLE,
            "the database is unavailable; retry later",
            reason=reasons.TEMPORARILY_UNAVAILABLE,
            domain=domain,
        )
    # The call's own id (client-sent or generated), so that the log line and the reply match.
    request_id = current_request_id() or new_request_id()
    logger.exception("%s failed (request id %s)", method, request_id)
    return to_grpc_status(
        grpc.StatusCode.INTERNAL,
        f"internal error (request id {request_id}); see the server log",
        reason=reasons.INTERNAL_ERROR,
        domain=domain,
        metadata={"request_id": request_id},
    )


class WrappingInterceptor(grpc.ServerInterceptor):
    """A sync interceptor that wraps each method's handler once, not on every call.

    gRPC asks the interceptors on every call; the inner chain answers a method with the same
    handler object each time (servicer handlers are made once per server) unless an inner
    interceptor swaps in another (a denial, say), so the wrapper is kept per method for as
    long as the handler it wraps is the one given. Subclasses say how to wrap in `_wrap`.
    """

    def __init__(self) -> None:
        #: method → (the inner handler, its wrapped form); a dict write is atomic under the GIL
        self._wrapped: dict[str, tuple[grpc.RpcMethodHandler, grpc.RpcMethodHandler]] = {}

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler | None:
        handler = continuation(handler_call_details)
        if handler is None:
            return None
        method = handler_call_details.method
        cached = self._wrapped.get(method)
        if cached is not None and cached[0] is handler:
            return cached[1]
        wrapped = self._wrap(handler, method)
        self._wrapped[method] = (handler, wrapped)
        return wrapped

    def _wrap(self, handler: grpc.RpcMethodHandler, method: str) -> grpc.RpcMethodHandler:
        raise NotImplementedError


class ErrorMappingInterceptor(WrappingInterceptor):
    """Wraps every handler of a sync server so that errors map to statuses in one place."""

    def __init__(self, domain: str) -> None:
        super().__init__()
        self._domain = domain

    def _wrap(self, handler: grpc.RpcMethodHandler, method: str) -> grpc.RpcMethodHandler:
        handler = tolerate_undecodable(handler)  # unparsable bytes: INVALID_ARGUMENT, mapped below
        domain = self._domain

        def guard_unary(behavior: Callable[..., Any]) -> Callable[..., Any]:
            def wrapper(request_or_iterator: Any, context: grpc.ServicerContext) -> Any:
                try:
                    return behavior(request_or_iterator, context)
                except Exception as exc:  # noqa: BLE001 - this is the mapping point
                    if _already_aborted(context):
                        raise
                    context.abort_with_status(status_for_exception(exc, domain, method))

            return wrapper

        def guard_stream(behavior: Callable[..., Iterator[Any]]) -> Callable[..., Iterator[Any]]:
            def wrapper(request_or_iterator: Any, context: grpc.ServicerContext) -> Iterator[Any]:
                try:
                    yield from behavior(request_or_iterator, context)
                except Exception as exc:  # noqa: BLE001 - this is the mapping point
                    if _already_aborted(context):
                        raise
                    context.abort_with_status(status_for_exception(exc, domain, method))

            return wrapper

        if handler.unary_unary:
            return handler._replace(unary_unary=guard_unary(handler.unary_unary))
        if handler.unary_stream:
            return handler._replace(unary_stream=guard_stream(handler.unary_stream))
        if handler.stream_unary:
            return handler._replace(stream_unary=guard_unary(handler.stream_unary))
        if handler.stream_stream:
            return handler._replace(stream_stream=guard_stream(handler.stream_stream))
        return handler
