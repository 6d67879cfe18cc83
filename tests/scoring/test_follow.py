"""Serving `models:/wine@champion`: moving the alias switches the served version with zero
failed requests, through a real registry and tracking service (SQLite)."""

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
from scoring_service.config import ModelSpec, ServeConfig
from scoring_service.models.file_cache import MANIFEST
from scoring_service.server import create_server

from .conftest import SEED_COLUMNS, SEED_ROW


@pytest.fixture(scope="module")
def db_uri(new_database: Callable[[str], str]) -> str:
    return new_database("sqlite")


@pytest.fixture(scope="module")
def registry_address(db_uri: str, tracking_server: str) -> Iterator[str]:
    from registry_service.server import create_server as create_registry

    running = create_registry(
        backend_store_uri=db_uri, tracking_address=tracking_server, port=0, watch_poll_seconds=0.2
    )
    yield f"127.0.0.1:{running.port}"
    running.stop(grace=0)


def _register_version(tracking_address: str, registry_address: str, model_dir: Path) -> int:
    with (
        grpc.insecure_channel(tracking_address) as tch,
        grpc.insecure_channel(registry_address) as rch,
    ):
        tracking = tpb_grpc.TrackingServiceStub(tch)
        run_id = tracking.CreateRun(tpb.CreateRunRequest(experiment_id="0")).run.info.run_id
        artifacts.upload_dir(tracking, run_id, model_dir, "model")
        registry = rpb_grpc.ModelRegistryServiceStub(rch)
        created = registry.CreateModelVersion(
            rpb.CreateModelVersionRequest(name="wine", source=f"runs:/{run_id}/model")
        )
        return int(created.model_version.version)


def _set_champion(registry_address: str, version: int) -> None:
    with grpc.insecure_channel(registry_address) as channel:
        rpb_grpc.ModelRegistryServiceStub(channel).SetRegisteredModelAlias(
            rpb.SetRegisteredModelAliasRequest(name="wine", alias="champion", version=version)
        )


@pytest.fixture(scope="module")
def second_model_dir(tmp_path_factory: pytest.TempPathFactory, wine: Any) -> Path:
    from sklearn.linear_model import ElasticNet

    from mlgrpc import sklearn as mlgrpc_sklearn

    x = wine.drop(columns=["quality"])
    model = ElasticNet(alpha=0.1, l1_ratio=0.2).fit(x, wine["quality"])
    path = tmp_path_factory.mktemp("models") / "wine-v2"
    mlgrpc_sklearn.save_model(model, path, input_example=x.head(3))
    return path


def test_moving_the_alias_switches_versions_with_no_failed_request(
    tracking_server: str,
    registry_address: str,
    wine_model_dir: Path,
    second_model_dir: Path,
    tmp_path: Path,
) -> None:
    with grpc.insecure_channel(registry_address) as channel:
        rpb_grpc.ModelRegistryServiceStub(channel).CreateRegisteredModel(
            rpb.CreateRegisteredModelRequest(name="wine")
        )
    first = _register_version(tracking_server, registry_address, wine_model_dir)
    second = _register_version(tracking_server, registry_address, second_model_dir)
    _set_champion(registry_address, first)
    config = ServeConfig(
        models=(ModelSpec("models:/wine@champion"),),
        port=0,
        registry_address=registry_address,
        tracking_address=tracking_server,
        cache_dir=tmp_path / "cache",
    )
    server = create_server(config)
    versions: list[str] = []
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
                    versions.append(stub.Predict(request, timeout=10).model_version)
                except grpc.RpcError as exc:
                    failures.append(f"{exc.code()}: {exc.details()}")

    thread = threading.Thread(target=hammer)
    thread.start()
    try:
        assert server.manager.registry.get("wine").version == str(first)
        while len(versions) < 20:
            time.sleep(0.01)
        _set_champion(registry_address, second)
        deadline = time.monotonic() + 60
        while str(second) not in versions[-5:] and time.monotonic() < deadline:
            time.sleep(0.05)
        count = len(versions)
        while len(versions) < count + 20:
            time.sleep(0.01)
    finally:
        stop.set()
        thread.join()
        server.stop(grace=0)
    assert failures == []
    switch = versions.index(str(second))
    assert set(versions[:switch]) == {str(first)}
    assert set(versions[switch:]) == {str(second)}
    info = server.manager.registry.get("wine")
    assert info.source_uri == "models:/wine@champion"
    manifests = (tmp_path / "cache" / "runs").glob(f"*/{MANIFEST}")
    cached_runs = {json.loads(path.read_text())["run_id"] for path in manifests}
    assert info.run_id in cached_runs


def _restart_registry(create: Any, db_uri: str, tracking_server: str, port: int) -> Any:
    """The registry again on its old port (the port may take a moment to be free)."""
    deadline = time.monotonic() + 15
    while True:
        try:
            return create(
                backend_store_uri=db_uri,
                tracking_address=tracking_server,
                port=port,
                watch_poll_seconds=0.2,
            )
        except RuntimeError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_registry_outage_keeps_serving_and_the_watch_reconnects(
    db_uri: str, tracking_server: str, second_model_dir: Path, tmp_path: Path
) -> None:
    from registry_service.server import create_server as create_registry

    registry = create_registry(
        backend_store_uri=db_uri, tracking_address=tracking_server, port=0, watch_poll_seconds=0.2
    )
    port = registry.port
    address = f"127.0.0.1:{port}"
    with grpc.insecure_channel(address) as channel:
        rpb_grpc.ModelRegistryServiceStub(channel).CreateRegisteredModel(
            rpb.CreateRegisteredModelRequest(name="wine-outage")
        )
    versions = []
    for _ in range(2):
        with grpc.insecure_channel(tracking_server) as tch, grpc.insecure_channel(address) as rch:
            tracking = tpb_grpc.TrackingServiceStub(tch)
            run_id = tracking.CreateRun(tpb.CreateRunRequest(experiment_id="0")).run.info.run_id
            artifacts.upload_dir(tracking, run_id, second_model_dir, "model")
            created = rpb_grpc.ModelRegistryServiceStub(rch).CreateModelVersion(
                rpb.CreateModelVersionRequest(name="wine-outage", source=f"runs:/{run_id}/model")
            )
            versions.append(int(created.model_version.version))

    def set_alias(version: int) -> None:
        with grpc.insecure_channel(address) as channel:
            rpb_grpc.ModelRegistryServiceStub(channel).SetRegisteredModelAlias(
                rpb.SetRegisteredModelAliasRequest(
                    name="wine-outage", alias="champion", version=version
                ),
                timeout=30,
                # Channels of one process share subchannels: after the restart this one may
                # start in the reconnect backoff of the scoring service's watch channel.
                wait_for_ready=True,
            )

    set_alias(versions[0])
    config = ServeConfig(
        models=(ModelSpec("models:/wine-outage@champion", "wine"),),
        port=0,
        registry_address=address,
        tracking_address=tracking_server,
        cache_dir=tmp_path / "cache",
        watch_backoff_max_s=0.5,
    )
    server = create_server(config)
    request = pb.PredictRequest()
    request.dataframe_split.columns.extend(SEED_COLUMNS)
    request.dataframe_split.data.add().extend(SEED_ROW)
    try:
        registry.stop(grace=0)
        with grpc.insecure_channel(server.address) as channel:
            stub = pb_grpc.ScoringServiceStub(channel)
            for _ in range(20):
                assert stub.Predict(request, timeout=5).model_version == str(versions[0])
            registry = _restart_registry(create_registry, db_uri, tracking_server, port)
            set_alias(versions[1])
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if stub.Predict(request, timeout=5).model_version == str(versions[1]):
                    break
                time.sleep(0.05)
            assert stub.Predict(request, timeout=5).model_version == str(versions[1])
    finally:
        server.stop(grace=0)
        registry.stop(grace=0)


def test_http_follows_the_alias_with_no_failed_request(
    tracking_server: str,
    registry_address: str,
    wine_model_dir: Path,
    second_model_dir: Path,
    tmp_path: Path,
) -> None:
    """The same alias following, seen through HTTP's /invocations under a steady load."""
    import http.client
    import json

    import pandas as pd

    from mlgrpc.pyfunc import load_model_from_dir

    name = "wine-http"
    frame = pd.DataFrame([SEED_ROW], columns=SEED_COLUMNS)
    expected = [
        float(load_model_from_dir(d).predict(frame)[0]) for d in (wine_model_dir, second_model_dir)
    ]
    with (
        grpc.insecure_channel(tracking_server) as tch,
        grpc.insecure_channel(registry_address) as rch,
    ):
        tracking = tpb_grpc.TrackingServiceStub(tch)
        registry = rpb_grpc.ModelRegistryServiceStub(rch)
        registry.CreateRegisteredModel(rpb.CreateRegisteredModelRequest(name=name))
        for model_dir in (wine_model_dir, second_model_dir):
            run_id = tracking.CreateRun(tpb.CreateRunRequest(experiment_id="0")).run.info.run_id
            artifacts.upload_dir(tracking, run_id, model_dir, "model")
            registry.CreateModelVersion(
                rpb.CreateModelVersionRequest(name=name, source=f"runs:/{run_id}/model")
            )
        alias = rpb.SetRegisteredModelAliasRequest(name=name, alias="champion", version=1)
        registry.SetRegisteredModelAlias(alias)
    server = create_server(
        ServeConfig(
            models=(ModelSpec(f"models:/{name}@champion"),),
            port=0,
            http_port=0,
            registry_address=registry_address,
            tracking_address=tracking_server,
            cache_dir=tmp_path / "cache",
        )
    )
    assert server.http is not None
    body = json.dumps({"dataframe_split": {"columns": SEED_COLUMNS, "data": [SEED_ROW]}})
    answers: list[float] = []
    failures: list[str] = []
    stop = threading.Event()

    def hammer() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", server.http.port, timeout=10)
        while not stop.is_set():
            try:
                connection.request(
                    "POST", "/invocations", body, {"Content-Type": "application/json"}
                )
                response = connection.getresponse()
                content = response.read()
                if response.status != 200:
                    failures.append(f"{response.status}: {content[:200]!r}")
                else:
                    answers.append(json.loads(content)["predictions"][0])
            except (OSError, http.client.HTTPException) as exc:
                failures.append(repr(exc))
                connection.close()
        connection.close()

    thread = threading.Thread(target=hammer)
    thread.start()
    try:
        while len(answers) < 20 and not failures:
            time.sleep(0.01)
        with grpc.insecure_channel(registry_address) as channel:
            rpb_grpc.ModelRegistryServiceStub(channel).SetRegisteredModelAlias(
                rpb.SetRegisteredModelAliasRequest(name=name, alias="champion", version=2)
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (
            answers and answers[-1] == pytest.approx(expected[1], abs=1e-9)
        ):
            time.sleep(0.05)
        count = len(answers)
        while len(answers) < count + 20 and not failures:
            time.sleep(0.01)
    finally:
        stop.set()
        thread.join()
        server.stop(grace=0)
    assert failures == []
    versions = [0 if a == pytest.approx(expected[0], abs=1e-9) else 1 for a in answers]
    assert all(
        a == pytest.approx(expected[v], abs=1e-9) for a, v in zip(answers, versions, strict=True)
    )
    switch = versions.index(1)
    assert set(versions[:switch]) == {0} and set(versions[switch:]) == {1}
