"""The scoring service keeps serving its loaded `models:/wine@champion` while the registry and
the tracking service are down, and follows the alias once they are back.

Phases, with Predict hammered throughout (no request may fail):
1. registry and tracking stopped: Predict keeps answering version 1;
2. the registry back, the alias moved to version 2, tracking still down: version 2 cannot be
   downloaded, version 1 keeps answering;
3. tracking back: the follower retries and version 2 is served (catch-up time measured).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from mlgrpc import artifacts
from mlgrpc.registry.v1 import registry_service_pb2 as rpb
from mlgrpc.registry.v1 import registry_service_pb2_grpc as rpb_grpc
from mlgrpc.scoring.v1 import scoring_service_pb2 as pb
from mlgrpc.scoring.v1 import scoring_service_pb2_grpc as pb_grpc
from mlgrpc.tracking.v1 import tracking_service_pb2 as tpb
from mlgrpc.tracking.v1 import tracking_service_pb2_grpc as tpb_grpc

from .conftest import SEED_COLUMNS, SEED_ROW
from .processes import free_port

DOWN_SECONDS = 2.0


class Peers:
    """The tracking and registry services in this process, stoppable and restartable on the
    same ports and database."""

    def __init__(self, db_uri: str, artifact_root: Path) -> None:
        self.db_uri = db_uri
        self.artifact_root = artifact_root
        self.tracking_port = free_port()
        self.registry_port = free_port()
        self.tracking: Any = None
        self.registry: Any = None

    @property
    def tracking_address(self) -> str:
        return f"127.0.0.1:{self.tracking_port}"

    @property
    def registry_address(self) -> str:
        return f"127.0.0.1:{self.registry_port}"

    def start_tracking(self) -> None:
        from tracking_service.server import create_server

        self.tracking = create_server(
            backend_store_uri=self.db_uri,
            default_artifact_root=str(self.artifact_root),
            port=self.tracking_port,
        )

    def start_registry(self) -> None:
        from registry_service.server import create_server

        self.registry = create_server(
            backend_store_uri=self.db_uri,
            tracking_address=self.tracking_address,
            port=self.registry_port,
            watch_poll_seconds=0.2,
        )

    def stop(self) -> None:
        for server in (self.registry, self.tracking):
            if server is not None:
                server.stop(grace=0)
        self.registry = self.tracking = None


@pytest.fixture
def peers(new_database: Callable[[str], str], tmp_path: Path) -> Iterator[Peers]:
    running = Peers(new_database("sqlite"), tmp_path / "artifacts")
    running.start_tracking()
    running.start_registry()
    yield running
    running.stop()


def _register(peers: Peers, model_dir: Path) -> int:
    with (
        grpc.insecure_channel(peers.tracking_address) as tch,
        grpc.insecure_channel(peers.registry_address) as rch,
    ):
        tracking = tpb_grpc.TrackingServiceStub(tch)
        run_id = tracking.CreateRun(tpb.CreateRunRequest(experiment_id="0")).run.info.run_id
        artifacts.upload_dir(tracking, run_id, model_dir, "model")
        created = rpb_grpc.ModelRegistryServiceStub(rch).CreateModelVersion(
            rpb.CreateModelVersionRequest(name="wine", source=f"runs:/{run_id}/model")
        )
        return int(created.model_version.version)


def _set_champion(peers: Peers, version: int) -> None:
    with grpc.insecure_channel(peers.registry_address) as channel:
        rpb_grpc.ModelRegistryServiceStub(channel).SetRegisteredModelAlias(
            rpb.SetRegisteredModelAliasRequest(name="wine", alias="champion", version=version),
            timeout=30,
            # Channels of one process share subchannels: this one may start in the reconnect
            # backoff of the scoring service's, to the same address, while the registry was down.
            wait_for_ready=True,
        )


def test_scoring_serves_through_a_registry_and_tracking_outage(
    peers: Peers, model_dirs: tuple[Path, Path], tmp_path: Path
) -> None:
    from scoring_service.config import ModelSpec, ServeConfig
    from scoring_service.server import create_server

    with grpc.insecure_channel(peers.registry_address) as channel:
        rpb_grpc.ModelRegistryServiceStub(channel).CreateRegisteredModel(
            rpb.CreateRegisteredModelRequest(name="wine")
        )
    first, second = (_register(peers, path) for path in model_dirs)
    _set_champion(peers, first)
    config = ServeConfig(
        models=(ModelSpec("models:/wine@champion"),),
        port=0,
        registry_address=peers.registry_address,
        tracking_address=peers.tracking_address,
        cache_dir=tmp_path / "cache",
        watch_backoff_max_s=1.0,
    )
    server = create_server(config)
    versions: list[tuple[str, float]] = []
    failures: list[str] = []
    stop = threading.Event()
    request = pb.PredictRequest()
    request.dataframe_split.columns.extend(SEED_COLUMNS)
    request.dataframe_split.data.add().extend(SEED_ROW)

    def hammer() -> None:
        with grpc.insecure_channel(server.address) as channel:
            stub = pb_grpc.ScoringServiceStub(channel)
            while not stop.is_set():
                try:
                    reply = stub.Predict(request, timeout=10)
                    versions.append((reply.model_version, time.monotonic()))
                except grpc.RpcError as exc:
                    failures.append(f"{exc.code()}: {exc.details()}")
                time.sleep(0.005)

    def served_since(moment: float) -> set[str]:
        return {version for version, at in versions if at >= moment}

    thread = threading.Thread(target=hammer)
    thread.start()
    try:
        while len(versions) < 20:
            assert not failures, failures[:3]
            time.sleep(0.01)
        peers.stop()
        down_at = time.monotonic()
        time.sleep(DOWN_SECONDS)
        assert served_since(down_at) == {str(first)}
        peers.start_registry()  # tracking still down: version 2 cannot be downloaded
        _set_champion(peers, second)
        moved_at = time.monotonic()
        time.sleep(DOWN_SECONDS)
        assert served_since(moved_at) == {str(first)}
        assert server.manager.registry.get("wine").version == str(first)
        peers.start_tracking()
        back_at = time.monotonic()
        deadline = back_at + 60
        while str(second) not in served_since(back_at):
            assert time.monotonic() < deadline, "the alias move was never caught up"
            time.sleep(0.02)
        caught_up = min(at for version, at in versions if version == str(second)) - back_at
        count = len(versions)
        while len(versions) < count + 20:
            time.sleep(0.01)
    finally:
        stop.set()
        thread.join()
        server.stop(grace=0)
    assert failures == []
    switch = next(i for i, (version, _) in enumerate(versions) if version == str(second))
    assert {version for version, _ in versions[:switch]} == {str(first)}
    assert {version for version, _ in versions[switch:]} == {str(second)}
    print(
        "scoring outage figures:",
        json.dumps(
            {
                "predictions": len(versions),
                "failed": len(failures),
                "both_down_s": round(moved_at - down_at, 2),
                "tracking_down_s": round(back_at - down_at, 2),
                "catch_up_after_tracking_back_s": round(caught_up, 2),
            }
        ),
    )
