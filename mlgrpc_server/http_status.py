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


#: MLflow's HTTP status of each of its error codes (`mlflow/exceptions.py`,
#: ERROR_CODE_TO_HTTP_STATUS), for adapters that answer in MLflow's REST shape (the gateway). Our
#: ErrorInfo reasons are MLflow's error codes, so the reason picks the status where MLflow's
#: differs from the gRPC code's (RESOURCE_ALREADY_EXISTS is 400 there, ALREADY_EXISTS 409 here).
MLFLOW_ERROR_CODE_HTTP_STATUS: dict[str, int] = {
    "INTERNAL_ERROR": 500,
    "INVALID_STATE": 500,
    "DATA_LOSS": 500,
    "NOT_IMPLEMENTED": 501,
    "TEMPORARILY_UNAVAILABLE": 503,
    "DEADLINE_EXCEEDED": 504,
    "REQUEST_LIMIT_EXCEEDED": 429,
    "CANCELLED": 499,
    "RESOURCE_EXHAUSTED": 429,
    "ABORTED": 409,
    "RESOURCE_CONFLICT": 409,
    "ALREADY_EXISTS": 409,
    "NOT_FOUND": 404,
    "ENDPOINT_NOT_FOUND": 404,
    "RESOURCE_DOES_NOT_EXIST": 404,
    "PERMISSION_DENIED": 403,
    "CUSTOMER_UNAUTHORIZED": 401,
    "UNAUTHENTICATED": 401,
    "BAD_REQUEST": 400,
    "RESOURCE_ALREADY_EXISTS": 400,
    "INVALID_PARAMETER_VALUE": 400,
}


def mlflow_http_status(error_code: str, code: grpc.StatusCode) -> int:
    """MLflow's HTTP status for `error_code`; a reason MLflow does not know falls back to the
    gRPC code's status."""
    return MLFLOW_ERROR_CODE_HTTP_STATUS.get(error_code) or http_status(code)
