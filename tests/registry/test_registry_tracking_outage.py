"""The registry without its tracking service: run-less calls keep working, runs are UNAVAILABLE.

A tracking service of its own is started for this module, so that stopping it does not disturb
the other tests.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from registry_rpc_helpers import expect_error, unique_name

from mlgrpc.registry.v1 import registry_service_pb2 as pb
from mlgrpc.registry.v1 import registry_service_pb2_grpc as pb_grpc
from mlgrpc.tracking.v1 import tracking_service_pb2 as tracking_pb
from mlgrpc.tracking.v1 import tracking_service_pb2_grpc as tracking_grpc

#: Attempts (0.2 s apart) to wait for the registry to reach a restarted tracking service.
RECOVERY_ATTEMPTS = 100


class Tracking:
    """A tracking service that can be stopped and started again on the same port."""

    def __init__(self, db_uri: str, artifact_root: Path) -> None:
        self.db_uri, self.artifact_root = db_uri, artifact_root
        self.running = self._start(0)
        self.port = self.running.port
        self.address = f"127.0.0.1:{self.port}"

    def _start(self, port: int):  # type: ignore[no-untyped-def]
        from tracking_service.server import create_server

        return create_server(
            backend_store_uri=self.db_uri,
            default_artifact_root=str(self.artifact_root),
            port=port,
        )

    def stop(self) -> None:
        self.running.stop(grace=0)

    def restart(self) -> None:
        self.running = self._start(self.port)


@pytest.fixture(scope="module")
def own_tracking(db_uri: str, artifact_root: Path) -> Iterator[Tracking]:
    tracking = Tracking(db_uri, artifact_root)
    yield tracking
    tracking.stop()


@pytest.fixture(scope="module")
def own_registry(db_uri: str, own_tracking: Tracking) -> Iterator[pb_grpc.ModelRegistryServiceStub]:
    from registry_service.server import create_server

    running = create_server(
        backend_store_uri=db_uri,
        tracking_address=own_tracking.address,
        artifact_root=str(own_tracking.artifact_root),
    )
    with grpc.insecure_channel(f"127.0.0.1:{running.port}") as channel:
        yield pb_grpc.ModelRegistryServiceStub(channel)
    running.stop(grace=1)


def test_tracking_outage_makes_run_versions_unavailable_and_recovery_follows_restart(
    own_tracking: Tracking, own_registry: pb_grpc.ModelRegistryServiceStub
) -> None:
    with grpc.insecure_channel(own_tracking.address) as channel:
        run = (
            tracking_grpc.TrackingServiceStub(channel)
            .CreateRun(tracking_pb.CreateRunRequest(experiment_id="0"))
            .run
        )
    name = unique_name("outage")
    own_registry.CreateRegisteredModel(pb.CreateRegisteredModelRequest(name=name))
    create = pb.CreateModelVersionRequest(name=name, source=f"runs:/{run.info.run_id}/model")
    assert own_registry.CreateModelVersion(create).model_version.version == 1

    own_tracking.stop()
    # The registry's own deadline on GetRun is 3 s; 20 s here only guards against a hang, so an
    # UNAVAILABLE (not DEADLINE_EXCEEDED) answer means the registry failed fast by itself.
    error = expect_error(
        lambda: own_registry.CreateModelVersion(create, timeout=20),
        grpc.StatusCode.UNAVAILABLE,
        "TEMPORARILY_UNAVAILABLE",
        "run_id",
    )
    assert own_tracking.address in error.details()
    # Calls that need no run keep working.
    model = own_registry.GetRegisteredModel(pb.GetRegisteredModelRequest(name=name))
    assert model.registered_model.name == name
    plain = (own_tracking.artifact_root / "plain").as_uri()
    no_run = pb.CreateModelVersionRequest(name=name, source=plain)
    assert own_registry.CreateModelVersion(no_run).model_version.version == 2

    own_tracking.restart()
    for _ in range(RECOVERY_ATTEMPTS):
        try:
            version = own_registry.CreateModelVersion(create, timeout=20).model_version
            break
        except grpc.RpcError as failure:
            assert failure.code() == grpc.StatusCode.UNAVAILABLE, failure.details()
            time.sleep(0.2)
    else:
        pytest.fail("the registry never reached the restarted tracking service")
    assert version.version == 3
    assert version.run_id == run.info.run_id
