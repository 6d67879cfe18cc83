"""Typed exceptions of the client: every failed call raises one of these, never `grpc.RpcError`.

The gRPC status code picks the class; the `google.rpc.ErrorInfo` the services attach (AIP-193)
gives `.reason` (MLflow's error-code names, see `mlgrpc.error_reasons`) and `.field`.
"""

from __future__ import annotations

from collections.abc import Mapping

import grpc

from mlgrpc import error_reasons as reasons


class MlgrpcException(Exception):
    """A failed mlgrpc operation: status code, stable reason, the field concerned, a message."""

    #: Status code of instances raised without an explicit one (client-side errors).
    default_code: grpc.StatusCode = grpc.StatusCode.UNKNOWN
    default_reason: str = reasons.INTERNAL_ERROR

    def __init__(
        self,
        message: str,
        *,
        code: grpc.StatusCode | None = None,
        reason: str | None = None,
        field: str | None = None,
        metadata: Mapping[str, str] | None = None,
        domain: str = "",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code: grpc.StatusCode = code or self.default_code
        self.reason: str = reason or self.default_reason
        self.metadata: dict[str, str] = dict(metadata or {})
        self.field: str | None = field or self.metadata.get("field")
        self.domain = domain

    @property
    def error_code(self) -> str:
        """MLflow's name for this attribute (`MlflowException.error_code`)."""
        return self.reason

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.message!r}, code={self.code.name}, "
            f"reason={self.reason!r}, field={self.field!r})"
        )


#: MLflow users catch `MlflowException`; the same class under that name.
MlflowException = MlgrpcException


class InvalidArgumentError(MlgrpcException):
    default_code = grpc.StatusCode.INVALID_ARGUMENT
    default_reason = reasons.INVALID_PARAMETER_VALUE


class NotFoundError(MlgrpcException):
    default_code = grpc.StatusCode.NOT_FOUND
    default_reason = reasons.RESOURCE_DOES_NOT_EXIST


class AlreadyExistsError(MlgrpcException):
    default_code = grpc.StatusCode.ALREADY_EXISTS
    default_reason = reasons.RESOURCE_ALREADY_EXISTS


class FailedPreconditionError(MlgrpcException):
    default_code = grpc.StatusCode.FAILED_PRECONDITION
    default_reason = reasons.INVALID_STATE


class UnavailableError(MlgrpcException):
    default_code = grpc.StatusCode.UNAVAILABLE
    default_reason = reasons.TEMPORARILY_UNAVAILABLE


class DeadlineExceededError(UnavailableError):
    default_code = grpc.StatusCode.DEADLINE_EXCEEDED


class UnsentLogsError(UnavailableError):
    """Logged values (and run ends) the tracking service did not take within the retry budget
    (MLGRPC_LOG_RETRY_SECONDS). Nothing is dropped: they are kept in the local spool
    (`mlgrpc.spool`) and sent by `mlgrpc runs sync` or the next `start_run` of this process's
    tracking URI.

    `.unsent` counts values per run id, `.ended` the terminal status per run id whose end is
    waiting in the spool too, `.spool_dir` is where they are kept.
    """

    def __init__(
        self,
        unsent: Mapping[str, int],
        spool_dir: str,
        *,
        ended: Mapping[str, str] | None = None,
        cause: str = "",
    ) -> None:
        self.unsent: dict[str, int] = dict(unsent)
        self.ended: dict[str, str] = dict(ended or {})
        self.spool_dir = spool_dir
        self.cause = cause
        super().__init__(self._describe())

    @property
    def count(self) -> int:
        """Values not sent, all runs together."""
        return sum(self.unsent.values())

    def merged(self, other: UnsentLogsError, *, replace: bool = False) -> UnsentLogsError:
        """Both errors' runs in one; counts of a run in both are added, or taken from `other`
        with `replace` (when it counted the run's whole spool)."""
        unsent = dict(self.unsent)
        for run_id, count in other.unsent.items():
            unsent[run_id] = count if replace else unsent.get(run_id, 0) + count
        return UnsentLogsError(
            unsent,
            other.spool_dir or self.spool_dir,
            ended={**self.ended, **other.ended},
            cause=other.cause or self.cause,
        )

    def _describe(self) -> str:
        runs = sorted(set(self.unsent) | set(self.ended))
        what = f"{self.count} logged values"
        if self.ended:
            ends = ", ".join(f"{run_id} as {status}" for run_id, status in self.ended.items())
            what += f" and the end of run(s) {ends}"
        because = f" ({self.cause})" if self.cause else ""
        return (
            f"{what} of run(s) {', '.join(runs)} could not be sent to the tracking service within "
            f"the retry budget (MLGRPC_LOG_RETRY_SECONDS){because}; they are kept in "
            f"{self.spool_dir}: send them with `mlgrpc runs sync` once the service is back (the "
            "next start_run with this tracking URI sends them too)"
        )


class ResourceExhaustedError(MlgrpcException):
    default_code = grpc.StatusCode.RESOURCE_EXHAUSTED
    default_reason = reasons.RESOURCE_EXHAUSTED


class AbortedError(MlgrpcException):
    default_code = grpc.StatusCode.ABORTED
    default_reason = reasons.ABORTED


class PermissionDeniedError(MlgrpcException):
    default_code = grpc.StatusCode.PERMISSION_DENIED
    default_reason = reasons.PERMISSION_DENIED


class UnauthenticatedError(MlgrpcException):
    default_code = grpc.StatusCode.UNAUTHENTICATED
    default_reason = reasons.UNAUTHENTICATED


class InternalError(MlgrpcException):
    default_code = grpc.StatusCode.INTERNAL


_CLASS_OF_CODE: dict[grpc.StatusCode, type[MlgrpcException]] = {
    cls.default_code: cls
    for cls in (
        InvalidArgumentError,
        NotFoundError,
        AlreadyExistsError,
        FailedPreconditionError,
        UnavailableError,
        DeadlineExceededError,
        ResourceExhaustedError,
        AbortedError,
        PermissionDeniedError,
        UnauthenticatedError,
        InternalError,
    )
}
_CLASS_OF_CODE[grpc.StatusCode.OUT_OF_RANGE] = InvalidArgumentError


def exception_for_code(code: grpc.StatusCode, message: str, **kwargs: object) -> MlgrpcException:
    """The typed exception for a status code (MlgrpcException itself for the rare ones)."""
    cls = _CLASS_OF_CODE.get(code, MlgrpcException)
    return cls(message, code=code, **kwargs)  # type: ignore[arg-type]


def from_rpc_error(error: grpc.RpcError, *, method: str = "") -> MlgrpcException:
    """Translate a failed call into its typed exception, keeping the ErrorInfo details."""
    code: grpc.StatusCode = error.code() if hasattr(error, "code") else grpc.StatusCode.UNKNOWN
    message: str = (error.details() if hasattr(error, "details") else "") or ""
    reason, domain, metadata = _error_info(error)
    if code == grpc.StatusCode.UNAVAILABLE and not reason:
        # No ErrorInfo: the service did not answer at all (down, wrong address, network).
        message = f"{method or 'call'}: the service is unavailable ({message})"
    elif code == grpc.StatusCode.DEADLINE_EXCEEDED:
        message = f"{method or 'call'}: no answer before the deadline ({message})"
    return exception_for_code(
        code, message, reason=reason or None, metadata=metadata, domain=domain
    )


def _error_info(error: grpc.RpcError) -> tuple[str, str, dict[str, str]]:
    """(reason, domain, metadata) of the first ErrorInfo in the rich status, or empty values."""
    try:
        from google.rpc import error_details_pb2
        from grpc_status import rpc_status

        status = rpc_status.from_call(error)  # type: ignore[arg-type]
    except Exception:  # noqa: BLE001 - a malformed status must not hide the original error
        return "", "", {}
    if status is None:
        return "", "", {}
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            return info.reason, info.domain, dict(info.metadata)
    return "", "", {}
