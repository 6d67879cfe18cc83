"""The one mapping of the `ServiceError` family (gRPC status codes) to HTTP statuses, for every
HTTP adapter beside a gRPC servicer (the scoring service's HTTP protocols, later the gateway).

A caller's mistake is a 4xx; 500 is left for the server's (or a model's) own failure.
"""

from __future__ import annotations

import grpc

HTTP_STATUS: dict[grpc.StatusCode, int] = {
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.FAILED_PRECONDITION: 400,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.ABORTED: 409,
    # Too many rows or bytes for this server: the request is too large, not malformed.
    grpc.StatusCode.RESOURCE_EXHAUSTED: 413,
    grpc.StatusCode.CANCELLED: 499,
    grpc.StatusCode.UNIMPLEMENTED: 501,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
}


def http_status(code: grpc.StatusCode) -> int:
    """The HTTP status of a gRPC status code (500 for INTERNAL, UNKNOWN and DATA_LOSS)."""
    return HTTP_STATUS.get(code, 500)
