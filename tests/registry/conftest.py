"""Fixtures of the registry suite: a real registry service next to a real tracking service.

Both share the module's database (SQLite file or MariaDB, see `db_uri`); the registry asks the
tracking service about runs over gRPC.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest

from mlgrpc.registry.v1 import registry_service_pb2_grpc as registry_grpc
from mlgrpc.tracking.v1 import tracking_service_pb2 as tracking_pb
from mlgrpc.tracking.v1 import tracking_service_pb2_grpc as tracking_grpc


@pytest.fixture(scope="module")
def registry(registry_server: str) -> Iterator[registry_grpc.ModelRegistryServiceStub]:
    with grpc.insecure_channel(registry_server) as channel:
        yield registry_grpc.ModelRegistryServiceStub(channel)


@pytest.fixture(scope="module")
def tracking(tracking_server: str) -> Iterator[tracking_grpc.TrackingServiceStub]:
    with grpc.insecure_channel(tracking_server) as channel:
        yield tracking_grpc.TrackingServiceStub(channel)


@dataclass(frozen=True)
class TrackedRun:
    run_id: str
    artifact_uri: str


@pytest.fixture
def new_run(tracking: tracking_grpc.TrackingServiceStub) -> Callable[[], TrackedRun]:
    """A factory of runs created in the tracking service."""

    def make() -> TrackedRun:
        run = tracking.CreateRun(tracking_pb.CreateRunRequest(experiment_id="0")).run
        return TrackedRun(run.info.run_id, run.info.artifact_uri)

    return make


@pytest.fixture(scope="module")
def model_source(artifact_root: Path) -> str:
    """A model-version source the registry accepts: a directory under the artifact root."""
    return (artifact_root / "models" / "m").as_uri()
