"""MLflow's error body for every failure of the gateway: `{"error_code", "message"}` with
MLflow's HTTP status, from a failed gRPC call or from the gateway's own request checks."""

from __future__ import annotations

import grpc
from starlette.responses import JSONResponse

from mlgrpc.exceptions import MlgrpcException
from mlgrpc_server.http_status import mlflow_http_status

INVALID_PARAMETER_VALUE = "INVALID_PARAMETER_VALUE"
ENDPOINT_NOT_FOUND = "ENDPOINT_NOT_FOUND"
BAD_REQUEST = "BAD_REQUEST"

#: Reasons whose MLflow counterpart has another name. FAILED_PRECONDITION (INVALID_STATE) is what
#: we answer for a write to a deleted run or experiment; MLflow answers INVALID_PARAMETER_VALUE
#: (400) there, and its INVALID_STATE would be a 500, which a caller's mistake never is.
_MLFLOW_ERROR_CODES = {"INVALID_STATE": INVALID_PARAMETER_VALUE}


class RequestError(Exception):
    """A request the gateway refuses before calling a service (a missing or malformed field)."""

    def __init__(self, message: str, error_code: str = INVALID_PARAMETER_VALUE) -> None:
        super().__init__(message)
        self.message = message
        self.error_code = error_code


#: MLflow 3.17's classification fields of an error body, derived from the error code as its
#: server derives them (`mlflow/error_classification.py`, client-side tables): error code →
#: (error_class, sqlstate).
_ERROR_CLASSIFICATION = {
    "BAD_REQUEST": ("INVALID_PARAMETER_VALUE", "KAM00"),
    "CUSTOMER_UNAUTHORIZED": ("PERMISSION_DENIED", "KAM00"),
    "ENDPOINT_NOT_FOUND": ("RESOURCE_NOT_FOUND", "KAM00"),
    "INTERNAL_ERROR": ("CLIENT_INTERNAL_ERROR", "XXM00"),
    "INVALID_PARAMETER_VALUE": ("INVALID_PARAMETER_VALUE", "KAM00"),
    "INVALID_STATE": ("CLIENT_INTERNAL_ERROR", "XXM00"),
    "NOT_FOUND": ("RESOURCE_NOT_FOUND", "KAM00"),
    "PERMISSION_DENIED": ("PERMISSION_DENIED", "KAM00"),
    "RESOURCE_ALREADY_EXISTS": ("RESOURCE_ALREADY_EXISTS", "KAM00"),
    "RESOURCE_DOES_NOT_EXIST": ("RESOURCE_NOT_FOUND", "KAM00"),
    "TEMPORARILY_UNAVAILABLE": ("CLIENT_INTERNAL_ERROR", "XXM00"),
}


def error_response(error_code: str, message: str, status: int) -> JSONResponse:
    body = {"error_code": error_code, "message": message}
    classification = _ERROR_CLASSIFICATION.get(error_code)
    if classification is not None:
        body["error_class"], body["sqlstate"] = classification
    return JSONResponse(body, status_code=status)


def request_error_response(error: RequestError) -> JSONResponse:
    status = mlflow_http_status(error.error_code, grpc.StatusCode.INVALID_ARGUMENT)
    return error_response(error.error_code, error.message, status)


def service_error_response(error: MlgrpcException) -> JSONResponse:
    """The MLflow body of a failed call: the ErrorInfo reason is MLflow's error code."""
    error_code = _MLFLOW_ERROR_CODES.get(error.reason, error.reason)
    return error_response(error_code, error.message, mlflow_http_status(error_code, error.code))
