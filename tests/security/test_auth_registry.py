"""The registry with `--auth`: per-model grants, creator's MANAGE, and its own calls to an
authenticating tracking service."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from auth_helpers import (  # noqa: F401 - fresh_client_state is a fixture
    TEST_CACHE_SECONDS,
    auth_tracking_server,
    bearer,
    fresh_client_state,
    issue_token,
    rpc_error,
)

from mlgrpc.registry.v1 import registry_service_pb2 as rpb
from mlgrpc.registry.v1 import registry_service_pb2_grpc as rpb_grpc
from mlgrpc.tracking.v1 import tracking_service_pb2 as tpb
from mlgrpc.tracking.v1 import tracking_service_pb2_grpc as tpb_grpc
from mlgrpc_server.bootstrap import RunningServer


@pytest.fixture(scope="module")
def tracking_address(db_uri: str, artifact_root: Path) -> Iterator[str]:
    with auth_tracking_server(db_uri, artifact_root) as address:
        yield address


def _registry(db_uri: str, tracking_address: str, tracking_token: str | None) -> RunningServer:
    from registry_service.server import create_server

    with pytest.MonkeyPatch.context() as env:
        env.setenv("MLGRPC_AUTH_CACHE_SECONDS", TEST_CACHE_SECONDS)
        env.delenv("MLGRPC_TOKEN", raising=False)
        return create_server(
            backend_store_uri=db_uri,
            tracking_address=tracking_address,
            auth=True,
            tracking_token=tracking_token,
        )


@pytest.fixture(scope="module")
def registry_address(db_uri: str, tracking_address: str) -> Iterator[str]:
    # The registry asks the tracking service about runs with a read token of its own.
    running = _registry(db_uri, tracking_address, issue_token(db_uri, "read", name="registry"))
    yield f"127.0.0.1:{running.port}"
    running.stop(grace=1)


@pytest.fixture(scope="module")
def stub(registry_address: str) -> Iterator[rpb_grpc.ModelRegistryServiceStub]:
    with grpc.insecure_channel(registry_address) as channel:
        yield rpb_grpc.ModelRegistryServiceStub(channel)


@pytest.fixture(scope="module")
def admin(db_uri: str, tracking_address: str) -> str:
    return issue_token(db_uri, "admin")


def _model(stub: rpb_grpc.ModelRegistryServiceStub, token: str) -> str:
    name = f"model-{uuid.uuid4().hex[:8]}"
    request = rpb.CreateRegisteredModelRequest(name=name)
    stub.CreateRegisteredModel(request, metadata=bearer(token), timeout=10)
    return name


def _run(tracking_address: str, token: str) -> str:
    with grpc.insecure_channel(tracking_address) as channel:
        reply = tpb_grpc.TrackingServiceStub(channel).CreateRun(
            tpb.CreateRunRequest(experiment_id="0"), metadata=bearer(token), timeout=10
        )
    return reply.run.info.run_id


def _version(
    stub: rpb_grpc.ModelRegistryServiceStub, token: str, name: str, run_id: str
) -> rpb.CreateModelVersionResponse:
    request = rpb.CreateModelVersionRequest(name=name, source=f"runs:/{run_id}/model")
    return stub.CreateModelVersion(request, metadata=bearer(token), timeout=10)


def _alias(stub: rpb_grpc.ModelRegistryServiceStub, token: str, name: str) -> None:
    request = rpb.SetRegisteredModelAliasRequest(name=name, alias="champion", version=1)
    stub.SetRegisteredModelAlias(request, metadata=bearer(token), timeout=10)


def test_call_without_token_is_unauthenticated(stub: rpb_grpc.ModelRegistryServiceStub) -> None:
    error = rpc_error(stub.SearchRegisteredModels, rpb.SearchRegisteredModelsRequest(), timeout=5)
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED


def test_read_token_cannot_create_a_registered_model(
    stub: rpb_grpc.ModelRegistryServiceStub, db_uri: str
) -> None:
    read = issue_token(db_uri, "read")
    stub.SearchRegisteredModels(rpb.SearchRegisteredModelsRequest(), metadata=bearer(read))
    error = rpc_error(_model, stub, read)
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "registered model" in error.details()


def test_write_token_registers_a_run_through_the_authenticated_tracking_service(
    stub: rpb_grpc.ModelRegistryServiceStub, db_uri: str, tracking_address: str
) -> None:
    write = issue_token(db_uri, "write")
    name = _model(stub, write)
    reply = _version(stub, write, name, _run(tracking_address, write))
    assert reply.model_version.version == 1
    _alias(stub, write, name)


def test_model_grant_restricts_a_write_token(
    stub: rpb_grpc.ModelRegistryServiceStub, db_uri: str, tracking_address: str, admin: str
) -> None:
    locked, open_ = _model(stub, admin), _model(stub, admin)
    run_id = _run(tracking_address, admin)
    _version(stub, admin, locked, run_id)
    write = issue_token(db_uri, "write", grants={f"model:{locked}": "READ"})
    error = rpc_error(_alias, stub, write, locked)
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    assert f"SetRegisteredModelAlias needs EDIT on registered model '{locked}'" in error.details()
    _version(stub, write, open_, run_id)
    _alias(stub, write, open_)


def test_model_grant_lets_a_read_token_edit_but_not_delete(
    stub: rpb_grpc.ModelRegistryServiceStub, db_uri: str, tracking_address: str, admin: str
) -> None:
    name = _model(stub, admin)
    _version(stub, admin, name, _run(tracking_address, admin))
    read = issue_token(db_uri, "read", grants={f"model:{name}": "EDIT"})
    _alias(stub, read, name)
    request = rpb.DeleteModelVersionRequest(name=name, version=1)
    error = rpc_error(stub.DeleteModelVersion, request, metadata=bearer(read), timeout=5)
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "needs MANAGE" in error.details()


def test_creator_manages_its_model_and_grants_follow_a_rename(
    stub: rpb_grpc.ModelRegistryServiceStub, db_uri: str
) -> None:
    creator, other = issue_token(db_uri, "write"), issue_token(db_uri, "write")
    name = _model(stub, creator)
    renamed = f"{name}-renamed"
    request = rpb.RenameRegisteredModelRequest(name=name, new_name=renamed)
    stub.RenameRegisteredModel(request, metadata=bearer(creator), timeout=5)
    delete = rpb.DeleteRegisteredModelRequest(name=renamed)
    error = rpc_error(stub.DeleteRegisteredModel, delete, metadata=bearer(other), timeout=5)
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    stub.DeleteRegisteredModel(delete, metadata=bearer(creator), timeout=5)


def test_registry_without_a_tracking_token_cannot_check_runs(
    db_uri: str, tracking_address: str, admin: str
) -> None:
    running = _registry(db_uri, tracking_address, None)
    try:
        address = f"127.0.0.1:{running.port}"
        with grpc.insecure_channel(address) as channel:
            stub = rpb_grpc.ModelRegistryServiceStub(channel)
            name = _model(stub, admin)
            error = rpc_error(_version, stub, admin, name, _run(tracking_address, admin))
    finally:
        running.stop(grace=1)
    assert error.code() == grpc.StatusCode.UNAVAILABLE
    assert "UNAUTHENTICATED" in error.details()


@pytest.mark.usefixtures("fresh_client_state")
def test_scoring_loads_a_registered_model_with_mlgrpc_token(
    registry_address: str,
    db_uri: str,
    tracking_address: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import pandas as pd
    from sklearn.linear_model import LinearRegression

    import mlgrpc
    from mlgrpc import sklearn as mlgrpc_sklearn
    from mlgrpc_server.errors import ServiceError
    from scoring_service.config import ModelSpec, ServeConfig
    from scoring_service.server import create_server

    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0]})
    name = f"served-{uuid.uuid4().hex[:8]}"
    mlgrpc.set_tracking_uri(tracking_address)
    mlgrpc.set_registry_uri(registry_address)
    monkeypatch.setenv("MLGRPC_TOKEN", issue_token(db_uri, "write"))
    with mlgrpc.start_run():
        mlgrpc_sklearn.log_model(
            LinearRegression().fit(frame, [2.0, 4.0, 6.0]), "model", registered_model_name=name
        )
    config = ServeConfig(
        models=(ModelSpec(f"models:/{name}/1", "served"),),
        port=0,
        registry_address=registry_address,
        tracking_address=tracking_address,
        cache_dir=tmp_path / "cache",
    )
    monkeypatch.delenv("MLGRPC_TOKEN")
    with pytest.raises(ServiceError, match="UNAUTHENTICATED"):
        create_server(config)
    monkeypatch.setenv("MLGRPC_TOKEN", issue_token(db_uri, "read"))  # the scoring's own token
    server = create_server(config)
    try:
        assert [m.version for m in server.manager.registry.all()] == ["1"]
    finally:
        server.stop(grace=0)
