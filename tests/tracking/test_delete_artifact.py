"""DeleteArtifact on the real tracking service (SQLite and MariaDB, local artifact store): a
file or a directory goes, nothing there is no error, the root and escapes are refused, a deleted
run's artifacts stay."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

import mlgrpc
from mlgrpc.tracking.v1 import tracking_service_pb2 as pb
from mlgrpc.tracking.v1 import tracking_service_pb2_grpc as pb_grpc


@pytest.fixture(scope="module")
def stub(tracking_server: str) -> Iterator[pb_grpc.TrackingServiceStub]:
    with grpc.insecure_channel(tracking_server) as channel:
        yield pb_grpc.TrackingServiceStub(channel)


@pytest.fixture
def run_id(tracking_server: str, tmp_path: Path) -> str:
    client = mlgrpc.MlgrpcClient(f"grpc://{tracking_server}")
    run = client.create_run("0")
    for relative in ("model/weights.bin", "model/sub/config.json", "notes.txt"):
        local = tmp_path / relative
        local.parent.mkdir(parents=True, exist_ok=True)
        local.write_bytes(b"x")
    client.log_artifacts(run.info.run_id, str(tmp_path))
    return run.info.run_id


def _listing(stub: pb_grpc.TrackingServiceStub, run_id: str, path: str = "") -> list[str]:
    files = stub.ListArtifacts(pb.ListArtifactsRequest(run_id=run_id, path=path)).files
    return [file.path for file in files]


def test_deleting_a_file_leaves_the_rest(stub: pb_grpc.TrackingServiceStub, run_id: str) -> None:
    stub.DeleteArtifact(pb.DeleteArtifactRequest(run_id=run_id, path="notes.txt"))
    assert _listing(stub, run_id) == ["model"]


def test_deleting_a_directory_removes_everything_below(
    stub: pb_grpc.TrackingServiceStub, run_id: str
) -> None:
    stub.DeleteArtifact(pb.DeleteArtifactRequest(run_id=run_id, path="model"))
    assert _listing(stub, run_id) == ["notes.txt"]


def test_deleting_nothing_is_no_error(stub: pb_grpc.TrackingServiceStub, run_id: str) -> None:
    stub.DeleteArtifact(pb.DeleteArtifactRequest(run_id=run_id, path="model/never"))
    assert _listing(stub, run_id, "model") == ["model/sub", "model/weights.bin"]


@pytest.mark.parametrize("path", ["", "../other", "/etc/passwd", "model/../../x"])
def test_the_root_and_escapes_are_invalid_argument(
    stub: pb_grpc.TrackingServiceStub, run_id: str, path: str
) -> None:
    with pytest.raises(grpc.RpcError) as error:
        stub.DeleteArtifact(pb.DeleteArtifactRequest(run_id=run_id, path=path))
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert _listing(stub, run_id) == ["model", "notes.txt"]


def test_an_unknown_run_is_not_found(stub: pb_grpc.TrackingServiceStub) -> None:
    with pytest.raises(grpc.RpcError) as error:
        stub.DeleteArtifact(pb.DeleteArtifactRequest(run_id="0" * 32, path="x"))
    assert error.value.code() == grpc.StatusCode.NOT_FOUND


def test_a_deleted_runs_artifacts_are_failed_precondition(
    stub: pb_grpc.TrackingServiceStub, run_id: str
) -> None:
    stub.DeleteRun(pb.DeleteRunRequest(run_id=run_id))
    with pytest.raises(grpc.RpcError) as error:
        stub.DeleteArtifact(pb.DeleteArtifactRequest(run_id=run_id, path="notes.txt"))
    assert error.value.code() == grpc.StatusCode.FAILED_PRECONDITION
