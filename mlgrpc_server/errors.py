"""Domain exceptions and their one mapping to gRPC statuses.

Services raise `ServiceError` subclasses anywhere below the servicer; the interceptor in
`mlgrpc_server.interceptors` turns them into a `google.rpc.Status` with exactly one `ErrorInfo`
(AIP-193). Anything else becomes INTERNAL with a request id and no traceback in the message.
"""

from __future__ import annotations

from collections.abc import Mapping

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from mlgrpc import error_reasons as reasons


class ServiceError(Exception):
    """An error with a gRPC status code, a stable reason and the field it concerns."""

    code: grpc.StatusCode = grpc.StatusCode.INTERNAL
    reason: str = reasons.INTERNAL_ERROR

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        metadata: Mapping[str, str] | None = None,
        reason: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.metadata: dict[str, str] = dict(metadata or {})
        if field is not None:
            self.metadata.setdefault("field", field)
        if reason is not None:
            self.reason = reason


class InvalidArgument(ServiceError):
    code = grpc.StatusCode.INVALID_ARGUMENT
    reason = reasons.INVALID_PARAMETER_VALUE


class NotFound(ServiceError):
    code = grpc.StatusCode.NOT_FOUND
    reason = reasons.RESOURCE_DOES_NOT_EXIST


class AlreadyExists(ServiceError):
    code = grpc.StatusCode.ALREADY_EXISTS
    reason = reasons.RESOURCE_ALREADY_EXISTS


class FailedPrecondition(ServiceError):
    code = grpc.StatusCode.FAILED_PRECONDITION
    reason = reasons.INVALID_STATE


class Unavailable(ServiceError):
    code = grpc.StatusCode.UNAVAILABLE
    reason = reasons.TEMPORARILY_UNAVAILABLE


class ResourceExhausted(ServiceError):
    code = grpc.StatusCode.RESOURCE_EXHAUSTED
    reason = reasons.RESOURCE_EXHAUSTED


class Aborted(ServiceError):
    code = grpc.StatusCode.ABORTED
    reason = reasons.ABORTED


class Internal(ServiceError):
    code = grpc.StatusCode.INTERNAL
    reason = reasons.INTERNAL_ERROR


class Unauthenticated(ServiceError):
    """No token, or one that is malformed, unknown, revoked or expired."""

    code = grpc.StatusCode.UNAUTHENTICATED
    reason = reasons.UNAUTHENTICATED


class PermissionDenied(ServiceError):
    """A valid token without the permission the call needs."""

    code = grpc.StatusCode.PERMISSION_DENIED
    reason = reasons.PERMISSION_DENIED


#: UTF-8 bytes of a status message and of each ErrorInfo metadata value. The message travels
#: twice, percent-encoded in grpc-message (up to 3 bytes per byte) and in the base64 rich
#: status: with these bounds the trailers stay under gRPC's 8 KiB soft metadata limit.
MAX_STATUS_MESSAGE_BYTES = 1_000
MAX_METADATA_VALUE_BYTES = 200


def _shortened(text: str, limit: int) -> str:
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    head = data[: limit - 40].decode("utf-8", "ignore")  # never half a character
    return f"{head}… ({len(text) - len(head)} more characters)"


def to_grpc_status(
    code: grpc.StatusCode,
    message: str,
    *,
    reason: str,
    domain: str,
    metadata: Mapping[str, str] | None = None,
) -> grpc.Status:
    """Build the rich status (code, message, one ErrorInfo) that grpcurl and clients decode.

    The message and metadata values are cut short: they travel in trailing metadata, and a
    message quoting a huge input would exceed the client's metadata limit (8 KiB soft, 16 KiB
    hard), which replaces the real status with RESOURCE_EXHAUSTED "Stream removed".
    """
    message = _shortened(message, MAX_STATUS_MESSAGE_BYTES)
    shortened = {k: _shortened(v, MAX_METADATA_VALUE_BYTES) for k, v in (metadata or {}).items()}
    info = error_details_pb2.ErrorInfo(reason=reason, domain=domain, metadata=shortened)
    detail = any_pb2.Any()
    detail.Pack(info)
    status = status_pb2.Status(code=getattr(code_pb2, code.name), message=message, details=[detail])
    return rpc_status.to_status(status)


def status_of(error: ServiceError, domain: str) -> grpc.Status:
    return to_grpc_status(
        error.code, error.message, reason=error.reason, domain=domain, metadata=error.metadata
    )
