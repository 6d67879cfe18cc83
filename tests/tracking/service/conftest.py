"""Clients of the tracking service over a real channel, and a helper to read rich errors."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import grpc
import pytest

from mlgrpc.tracking.v1 import tracking_service_pb2 as pb
from mlgrpc.tracking.v1 import tracking_service_pb2_grpc as pb_grpc

CHANNEL_OPTIONS = [
    ("grpc.max_receive_message_length", 64 * 1024 * 1024),
    ("grpc.max_send_message_length", 64 * 1024 * 1024),
]


@pytest.fixture(scope="module")
def channel(tracking_server: str) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(tracking_server, options=CHANNEL_OPTIONS) as chan:
        grpc.channel_ready_future(chan).result(timeout=10)
        yield chan


@pytest.fixture(scope="module")
def stub(channel: grpc.Channel) -> pb_grpc.TrackingServiceStub:
    return pb_grpc.TrackingServiceStub(channel)


@pytest.fixture
def experiment_id(stub: pb_grpc.TrackingServiceStub) -> str:
    name = f"exp-{uuid.uuid4().hex[:10]}"
    return stub.CreateExperiment(pb.CreateExperimentRequest(name=name)).experiment_id


@pytest.fixture
def run_id(stub: pb_grpc.TrackingServiceStub, experiment_id: str) -> str:
    return stub.CreateRun(pb.CreateRunRequest(experiment_id=experiment_id)).run.info.run_id
