"""Helpers of the registry tests: unique names and assertions on rich gRPC errors."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status


def unique_name(prefix: str = "model") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def error_info(error: grpc.RpcError) -> error_details_pb2.ErrorInfo:
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    assert status is not None, f"no rich status in {error}"
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            return info
    raise AssertionError(f"no ErrorInfo in {error}")


def expect_error(
    call: Callable[[], object], code: grpc.StatusCode, reason: str, field: str | None = None
) -> grpc.RpcError:
    """Run `call`; assert it fails with `code`, ErrorInfo `reason` and metadata `field`."""
    with pytest.raises(grpc.RpcError) as caught:
        call()
    error = caught.value
    assert error.code() == code, error.details()
    info = error_info(error)
    assert info.reason == reason, error.details()
    assert info.domain == "registry.mlgrpc"
    if field is not None:
        assert info.metadata.get("field") == field, (info.metadata, error.details())
    return error
