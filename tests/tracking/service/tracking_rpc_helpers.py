"""Reading the rich errors of the tracking service (imported by the tests of this folder)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from mlgrpc.error_reasons import TRACKING_DOMAIN
from mlgrpc.tracking.v1 import tracking_service_pb2 as pb
from mlgrpc.tracking.v1 import tracking_service_pb2_grpc as pb_grpc


@dataclass(frozen=True)
class RpcFailure:
    code: grpc.StatusCode
    message: str
    reason: str
    metadata: dict[str, str]


def failure_of(call: Callable[[], object]) -> RpcFailure:
    """Run `call`, which must fail, and decode its status and its one ErrorInfo."""
    with pytest.raises(grpc.RpcError) as caught:
        result = call()
        if hasattr(result, "__next__"):  # a server stream fails when read
            list(result)  # type: ignore[call-overload]
    error = caught.value
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    assert status is not None, f"no rich status in {error}"
    infos = []
    for detail in status.details:
        info = error_details_pb2.ErrorInfo()
        if detail.Unpack(info):
            infos.append(info)
    assert len(infos) == 1, status
    assert infos[0].domain == TRACKING_DOMAIN
    return RpcFailure(
        error.code(),  # type: ignore[attr-defined]
        error.details(),  # type: ignore[attr-defined]
        infos[0].reason,
        dict(infos[0].metadata),
    )


def assert_fails(
    stub: pb_grpc.TrackingServiceStub,
    call: Callable[[], object],
    code: grpc.StatusCode,
    reason: str,
    field: str | None = None,
) -> RpcFailure:
    """The call fails with exactly this code, reason and field, and the service still answers."""
    failure = failure_of(call)
    assert (failure.code, failure.reason) == (code, reason), failure
    if field is not None:
        assert failure.metadata.get("field") == field, failure
    stub.SearchExperiments(pb.SearchExperimentsRequest(max_results=1))
    return failure
