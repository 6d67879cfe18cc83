"""The tracking service with `--auth`: who may call what, and the statuses when not allowed."""

from __future__ import annotations

import time
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
    revoke_token,
    rpc_error,
)
from grpc_health.v1 import health_pb2, health_pb2_grpc

from mlgrpc.tracking.v1 import tracking_service_pb2 as pb
from mlgrpc.tracking.v1 import tracking_service_pb2_grpc as pb_grpc


@pytest.fixture(scope="module")
def address(db_uri: str, artifact_root: Path) -> Iterator[str]:
    with auth_tracking_server(db_uri, artifact_root) as address:
        yield address


@pytest.fixture(scope="module")
def stub(address: str) -> Iterator[pb_grpc.TrackingServiceStub]:
    with grpc.insecure_channel(address) as channel:
        yield pb_grpc.TrackingServiceStub(channel)


@pytest.fixture(scope="module")
def admin(db_uri: str, address: str) -> str:
    return issue_token(db_uri, "admin")


def _experiment(stub: pb_grpc.TrackingServiceStub, token: str) -> str:
    request = pb.CreateExperimentRequest(name=f"auth-{uuid.uuid4().hex[:8]}")
    return stub.CreateExperiment(request, metadata=bearer(token), timeout=10).experiment_id


def _run(stub: pb_grpc.TrackingServiceStub, token: str, experiment_id: str) -> str:
    request = pb.CreateRunRequest(experiment_id=experiment_id)
    return stub.CreateRun(request, metadata=bearer(token), timeout=10).run.info.run_id


def _log(stub: pb_grpc.TrackingServiceStub, token: str, run_id: str) -> None:
    request = pb.LogMetricRequest(run_id=run_id, key="loss", value=0.5, step=1)
    stub.LogMetric(request, metadata=bearer(token), timeout=10)


def test_health_needs_no_token(address: str) -> None:
    with grpc.insecure_channel(address) as channel:
        reply = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(), timeout=5
        )
    assert reply.status == health_pb2.HealthCheckResponse.SERVING


def test_call_without_token_is_unauthenticated(stub: pb_grpc.TrackingServiceStub) -> None:
    error = rpc_error(stub.GetExperiment, pb.GetExperimentRequest(experiment_id="0"), timeout=5)
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "authorization: Bearer" in error.details()


@pytest.mark.parametrize(
    "header",
    ["Basic dXNlcjpwYXNz", "Bearer ", "Bearer not-a-token", "Bearer mlgrpc_" + "x" * 43],
)
def test_bad_authorization_is_unauthenticated_and_not_echoed(
    stub: pb_grpc.TrackingServiceStub, header: str
) -> None:
    error = rpc_error(
        stub.GetExperiment,
        pb.GetExperimentRequest(experiment_id="0"),
        metadata=(("authorization", header),),
        timeout=5,
    )
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    secret = header.partition(" ")[2]
    assert not secret.strip() or secret not in error.details()


def test_revoked_token_is_unauthenticated(stub: pb_grpc.TrackingServiceStub, db_uri: str) -> None:
    name = f"revoked-{uuid.uuid4().hex[:6]}"
    token = issue_token(db_uri, "read", name=name)
    stub.GetExperiment(pb.GetExperimentRequest(experiment_id="0"), metadata=bearer(token))
    revoke_token(db_uri, name)
    time.sleep(float(TEST_CACHE_SECONDS) * 2)
    error = rpc_error(
        stub.GetExperiment, pb.GetExperimentRequest(experiment_id="0"), metadata=bearer(token)
    )
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "revoked" in error.details() and token not in error.details()


def test_expired_token_is_unauthenticated(stub: pb_grpc.TrackingServiceStub, db_uri: str) -> None:
    token = issue_token(db_uri, "admin", expires_at=int(time.time() * 1000) - 1)
    error = rpc_error(
        stub.GetExperiment, pb.GetExperimentRequest(experiment_id="0"), metadata=bearer(token)
    )
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "expired" in error.details()


def test_read_token_reads_but_cannot_write(
    stub: pb_grpc.TrackingServiceStub, db_uri: str, admin: str
) -> None:
    read = issue_token(db_uri, "read")
    run_id = _run(stub, admin, "0")
    stub.GetRun(pb.GetRunRequest(run_id=run_id), metadata=bearer(read), timeout=5)
    stub.SearchRuns(pb.SearchRunsRequest(experiment_ids=["0"]), metadata=bearer(read), timeout=5)
    denied = rpc_error(
        stub.CreateExperiment, pb.CreateExperimentRequest(name="nope"), metadata=bearer(read)
    )
    assert denied.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "write or admin token" in denied.details()
    denied = rpc_error(_log, stub, read, run_id)
    assert denied.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "LogMetric needs EDIT on experiment '0'" in denied.details()


def test_write_token_creates_and_logs_through_the_client(address: str, db_uri: str) -> None:
    from mlgrpc import MlgrpcClient

    client = MlgrpcClient(address, token=issue_token(db_uri, "write"))
    experiment_id = client.create_experiment(f"client-{uuid.uuid4().hex[:8]}")
    run = client.create_run(experiment_id)
    client.log_metric(run.info.run_id, "loss", 0.25, step=3)
    client.log_param(run.info.run_id, "alpha", "0.5")
    history = client.get_metric_history(run.info.run_id, "loss")
    assert [m.value for m in history] == [0.25]


def test_deleting_needs_manage_which_the_creator_has(
    stub: pb_grpc.TrackingServiceStub, db_uri: str
) -> None:
    creator, other = issue_token(db_uri, "write"), issue_token(db_uri, "write")
    experiment_id = _experiment(stub, creator)
    run_id = _run(stub, other, experiment_id)  # EDIT is the write role's default
    denied = rpc_error(stub.DeleteRun, pb.DeleteRunRequest(run_id=run_id), metadata=bearer(other))
    assert denied.code() == grpc.StatusCode.PERMISSION_DENIED
    assert f"DeleteRun needs MANAGE on experiment '{experiment_id}'" in denied.details()
    stub.DeleteRun(pb.DeleteRunRequest(run_id=run_id), metadata=bearer(creator), timeout=5)


def test_experiment_grant_restricts_a_write_token(
    stub: pb_grpc.TrackingServiceStub, db_uri: str, admin: str
) -> None:
    locked, open_ = _experiment(stub, admin), _experiment(stub, admin)
    write = issue_token(db_uri, "write", grants={f"experiment:{locked}": "READ"})
    denied = rpc_error(_run, stub, write, locked)
    assert denied.code() == grpc.StatusCode.PERMISSION_DENIED
    assert f"experiment '{locked}'" in denied.details() and "has READ there" in denied.details()
    _log(stub, write, _run(stub, write, open_))


def test_experiment_grant_lets_a_read_token_log_there_only(
    stub: pb_grpc.TrackingServiceStub, db_uri: str, admin: str
) -> None:
    granted = _experiment(stub, admin)
    read = issue_token(db_uri, "read", grants={f"experiment:{granted}": "EDIT"})
    run_id = _run(stub, read, granted)
    _log(stub, read, run_id)
    request = pb.LogBatchRequest(run_id=run_id, params=[pb.Param(key="k", value="v")])
    stub.LogBatch(request, metadata=bearer(read), timeout=5)
    assert rpc_error(_run, stub, read, "0").code() == grpc.StatusCode.PERMISSION_DENIED


def test_log_stream_is_checked_per_run(
    stub: pb_grpc.TrackingServiceStub, db_uri: str, admin: str
) -> None:
    granted = _experiment(stub, admin)
    read = issue_token(db_uri, "read", grants={f"experiment:{granted}": "EDIT"})
    allowed, forbidden = _run(stub, admin, granted), _run(stub, admin, "0")
    metric = pb.Metric(key="m", value=1.0, timestamp=1, step=0)
    ok = stub.LogStream(iter([pb.LogStreamRequest(run_id=allowed, metrics=[metric])]),
                        metadata=bearer(read), timeout=10)  # fmt: skip
    assert ok.batches_written == 1
    requests = [pb.LogStreamRequest(run_id=r, metrics=[metric]) for r in (allowed, forbidden)]
    denied = rpc_error(stub.LogStream, iter(requests), metadata=bearer(read), timeout=10)
    assert denied.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "experiment '0'" in denied.details()


def test_admin_token_may_do_everything(stub: pb_grpc.TrackingServiceStub, admin: str) -> None:
    experiment_id = _experiment(stub, admin)
    run_id = _run(stub, admin, experiment_id)
    stub.DeleteRun(pb.DeleteRunRequest(run_id=run_id), metadata=bearer(admin), timeout=5)
    request = pb.DeleteExperimentRequest(experiment_id=experiment_id)
    stub.DeleteExperiment(request, metadata=bearer(admin), timeout=5)


@pytest.mark.usefixtures("fresh_client_state")
def test_fluent_api_sends_mlgrpc_token(
    address: str, db_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mlgrpc
    from mlgrpc.exceptions import PermissionDeniedError, UnauthenticatedError

    mlgrpc.set_tracking_uri(address)
    monkeypatch.delenv("MLGRPC_TOKEN", raising=False)
    with pytest.raises(UnauthenticatedError):
        mlgrpc.get_experiment("0")
    monkeypatch.setenv("MLGRPC_TOKEN", issue_token(db_uri, "write"))
    mlgrpc.set_experiment(f"fluent-{uuid.uuid4().hex[:8]}")
    with mlgrpc.start_run() as run:
        mlgrpc.log_metric("loss", 0.1, step=1)
        mlgrpc.log_params({"alpha": 0.5})
    assert mlgrpc.get_run(run.info.run_id).data.metrics == {"loss": 0.1}
    mlgrpc.set_token(issue_token(db_uri, "read"))  # wins over MLGRPC_TOKEN
    with pytest.raises(PermissionDeniedError) as caught:
        mlgrpc.create_experiment("read-only")
    assert caught.value.code == grpc.StatusCode.PERMISSION_DENIED
