"""A client's shared channel outlives a restart of the service it calls: once the service
listens again on the same port, calls succeed within about a second, not after gRPC's default
reconnect backoff (up to 120 s), during which every call would fail at once."""

from __future__ import annotations

import time
from pathlib import Path

import grpc
import pytest

from mlgrpc._channel import get_channel
from mlgrpc.tracking.v1 import tracking_service_pb2 as pb
from mlgrpc.tracking.v1 import tracking_service_pb2_grpc as pb_grpc
from tracking_service.server import create_server


def _search(stub: pb_grpc.TrackingServiceStub) -> grpc.StatusCode:
    try:
        stub.SearchExperiments(pb.SearchExperimentsRequest(), timeout=5)
    except grpc.RpcError as error:
        return error.code()
    return grpc.StatusCode.OK


def test_calls_succeed_within_seconds_of_the_service_coming_back(
    new_database, tmp_path: Path
) -> None:
    db_uri = new_database("sqlite")
    first = create_server(
        backend_store_uri=db_uri, default_artifact_root=str(tmp_path), host="127.0.0.1", port=0
    )
    port = first.port
    stub = pb_grpc.TrackingServiceStub(get_channel(f"127.0.0.1:{port}"))
    assert _search(stub) == grpc.StatusCode.OK
    first.stop(grace=1)

    # Down for a while: the channel fails over and over, growing its backoff each time.
    down_until = time.monotonic() + 4
    while time.monotonic() < down_until:
        assert _search(stub) == grpc.StatusCode.UNAVAILABLE
        time.sleep(0.2)

    second = create_server(
        backend_store_uri=db_uri, default_artifact_root=str(tmp_path), host="127.0.0.1", port=port
    )
    try:
        back = time.monotonic()
        while (code := _search(stub)) != grpc.StatusCode.OK:
            assert code == grpc.StatusCode.UNAVAILABLE
            if time.monotonic() - back > 3:
                pytest.fail("still UNAVAILABLE 3 s after the service came back")
            time.sleep(0.05)
    finally:
        second.stop(grace=1)
