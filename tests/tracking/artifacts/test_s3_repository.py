"""The S3 artifact repository against a local S3 endpoint (moto's server mode, on loopback).

First the repository alone (atomic writes, checksums, listings), then through the real tracking
service and the client: an experiment whose artifact location is `s3://…`, a server whose
default artifact root is `s3://…`, a 20 MB file, a path escape, a cut upload, and a model.
"""

from __future__ import annotations

import hashlib
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import pytest
from moto.server import ThreadedMotoServer

import mlgrpc
import mlgrpc.pyfunc
import mlgrpc.sklearn
from mlgrpc import fluent
from mlgrpc.exceptions import InvalidArgumentError
from mlgrpc.tracking.v1 import tracking_service_pb2 as pb
from mlgrpc.tracking.v1 import tracking_service_pb2_grpc as pb_grpc
from mlgrpc_server.errors import FailedPrecondition, InvalidArgument, NotFound, Unavailable
from tracking_service.artifacts import repository_for
from tracking_service.artifacts.s3 import ENDPOINT_ENV, S3ArtifactRepository, s3_client
from tracking_service.artifacts.transfer import receive_file, send_tree

MiB = 1024 * 1024
#: moto, like S3, refuses multipart parts under 5 MiB (except the last).
PART = 5 * MiB
DEFAULT_BUCKET = "mlgrpc-default"
EXPERIMENT_BUCKET = "mlgrpc-experiments"


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 on a free loopback port, with dummy credentials for boto3's chain."""
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(ENDPOINT_ENV, endpoint)
        patch.setenv("AWS_ACCESS_KEY_ID", "testing")
        patch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        patch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        patch.delenv("AWS_PROFILE", raising=False)
        for bucket in (DEFAULT_BUCKET, EXPERIMENT_BUCKET):
            s3_client().create_bucket(Bucket=bucket)
        yield endpoint
    moto.stop()


@pytest.fixture(scope="module")
def s3(s3_endpoint: str) -> Any:
    return s3_client()


@pytest.fixture(autouse=True)
def _no_fluent_state_leaks() -> Iterator[None]:
    """The experiment set and runs started here do not follow other test modules."""
    yield
    fluent._reset_state()


def keys_below(s3: Any, bucket: str, prefix: str) -> list[str]:
    found = s3.list_objects_v2(Bucket=bucket, Prefix=prefix)
    return sorted(item["Key"] for item in found.get("Contents", []))


def open_uploads(s3: Any, bucket: str, prefix: str) -> list[str]:
    found = s3.list_multipart_uploads(Bucket=bucket, Prefix=prefix)
    return [upload["Key"] for upload in found.get("Uploads", [])]


@pytest.fixture
def repo(s3: Any) -> S3ArtifactRepository:
    root = f"s3://{EXPERIMENT_BUCKET}/unit/{uuid.uuid4().hex}/artifacts"
    return S3ArtifactRepository(root, part_bytes=PART)


def store(repo: S3ArtifactRepository, path: str, data: bytes, **expected: Any) -> Any:
    chunks = [data[i : i + MiB] for i in range(0, len(data), MiB)]
    return receive_file(repo.open_writer(path), chunks, **expected)


# The repository alone


def test_small_and_multipart_files_round_trip_with_their_sha256(repo: S3ArtifactRepository) -> None:
    small, large = b"small" * 100, os.urandom(12 * MiB)  # large: 3 parts of 5, 5 and 2 MiB
    for path, data in (("a/small.txt", small), ("a/large.bin", large)):
        stored = store(repo, path, data, sha256=hashlib.sha256(data).hexdigest())
        assert (stored.entry.file_size, stored.sha256) == (
            len(data),
            hashlib.sha256(data).hexdigest(),
        )
        assert b"".join(repo.read(path)) == data
        # Recorded at upload (metadata or tag), so a download reads the object once.
        assert repo.recorded_sha256(path) == stored.sha256


def test_an_upload_holds_at_most_one_part_in_memory(repo: S3ArtifactRepository) -> None:
    writer = repo.open_writer("streamed.bin")
    for _ in range(13):
        writer.write(b"s" * MiB)
        assert len(writer._buffer) < PART  # full parts are sent as soon as they fill
    assert writer.commit(expected_size=13 * MiB).entry.file_size == 13 * MiB


def test_sha256_mismatch_of_a_multipart_upload_stores_nothing(
    repo: S3ArtifactRepository, s3: Any
) -> None:
    with pytest.raises(InvalidArgument) as caught:
        store(repo, "big.bin", b"z" * (11 * MiB), sha256="0" * 64)
    assert caught.value.field == "header.sha256"
    assert keys_below(s3, repo.bucket, repo.prefix) == []
    assert open_uploads(s3, repo.bucket, repo.prefix) == []


def test_size_mismatch_stores_nothing(repo: S3ArtifactRepository, s3: Any) -> None:
    with pytest.raises(InvalidArgument) as caught:
        store(repo, "x.bin", b"abc", file_size=4)
    assert caught.value.field == "header.file_size"
    assert keys_below(s3, repo.bucket, repo.prefix) == []


def test_a_stream_that_fails_midway_aborts_the_multipart_upload(
    repo: S3ArtifactRepository, s3: Any
) -> None:
    def chunks() -> Iterator[bytes]:
        yield b"p" * (6 * MiB)  # one part already sent
        raise ConnectionError("client went away")

    with pytest.raises(ConnectionError):
        receive_file(repo.open_writer("deep/x.bin"), chunks())
    assert keys_below(s3, repo.bucket, repo.prefix) == []
    assert open_uploads(s3, repo.bucket, repo.prefix) == []


def test_listing_shows_prefixes_as_directories_with_file_sizes(repo: S3ArtifactRepository) -> None:
    store(repo, "model/MLmodel", b"flavors: {}")
    store(repo, "model/data/model.skops", b"0123456789")
    store(repo, "notes.txt", b"hi")
    top = [(e.path, e.is_dir, e.file_size) for e in repo.list("")]
    assert top == [("model", True, 0), ("notes.txt", False, 2)]
    below = [(e.path, e.is_dir, e.file_size) for e in repo.list("model")]
    assert below == [("model/MLmodel", False, 11), ("model/data", True, 0)]
    assert repo.list("missing") == [] and repo.list("notes.txt") == []
    assert [e.path for e in repo.walk("model")] == ["model/MLmodel", "model/data/model.skops"]
    assert [e.path for e in repo.walk("notes.txt")] == ["notes.txt"]
    sent = [item for item in send_tree(repo, "model") if not isinstance(item, bytes)]
    assert sent[1].sha256 == hashlib.sha256(b"0123456789").hexdigest()


def test_missing_paths_are_not_found(repo: S3ArtifactRepository) -> None:
    with pytest.raises(NotFound):
        repo.walk("nothing/here")
    with pytest.raises(NotFound):
        list(repo.read("nothing.txt"))


def test_a_file_cannot_sit_below_a_file_nor_replace_a_directory(repo: S3ArtifactRepository) -> None:
    store(repo, "file", b"1")
    store(repo, "dir/inner", b"2")
    with pytest.raises(InvalidArgument, match="parent"):
        repo.open_writer("file/below")
    with pytest.raises(InvalidArgument, match="existing directory"):
        store(repo, "dir", b"3")
    store(repo, "file", b"overwritten")
    assert b"".join(repo.read("file")) == b"overwritten"


@pytest.mark.parametrize("path", ["../x", "a/../../x", "/etc/passwd", "a\\b", "a//b", "a/", "."])
def test_unsafe_paths_are_invalid_argument(repo: S3ArtifactRepository, path: str) -> None:
    with pytest.raises(InvalidArgument):
        repo.open_writer(path)
    with pytest.raises(InvalidArgument):
        repo.walk(path)


def test_a_missing_bucket_is_failed_precondition(s3: Any) -> None:
    repo = S3ArtifactRepository("s3://no-such-bucket/x/1/r/artifacts")
    with pytest.raises(FailedPrecondition, match="does not exist"):
        repo.walk("")
    with pytest.raises(FailedPrecondition, match="does not exist"):
        store(repo, "x.txt", b"1")


def test_an_unreachable_endpoint_is_unavailable(s3_endpoint: str) -> None:
    import boto3
    from botocore.config import Config

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    client = boto3.client(
        "s3",
        endpoint_url=f"http://127.0.0.1:{closed_port}",
        config=Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"}),
    )
    repo = S3ArtifactRepository(f"s3://{DEFAULT_BUCKET}/x", client=client)
    with pytest.raises(Unavailable, match="cannot be reached"):
        repo.list("")


def test_s3_uris_get_the_s3_repository(s3: Any) -> None:
    assert isinstance(
        repository_for(f"s3://{DEFAULT_BUCKET}/x/1/r/artifacts"), S3ArtifactRepository
    )


# Through the tracking service and the client


@pytest.fixture(scope="module")
def db_uri(new_database: Any) -> str:
    """SQLite only: where the artifacts go does not depend on the database."""
    return new_database("sqlite")


@pytest.fixture(scope="module")
def artifact_root(s3_endpoint: str) -> str:
    """The default artifact root of `tracking_server` (conftest): a prefix in S3."""
    return f"s3://{DEFAULT_BUCKET}/root"


@pytest.fixture(scope="module")
def tracking_server(db_uri: str, artifact_root: str) -> Iterator[str]:
    """The tracking service of conftest, started with --allow-artifact-locations-outside-root:
    the experiments here keep their artifacts in a bucket other than the root's."""
    from tracking_service.server import create_server

    running = create_server(
        backend_store_uri=db_uri,
        default_artifact_root=artifact_root,
        port=0,
        allow_artifact_locations_outside_root=True,
    )
    yield f"127.0.0.1:{running.port}"
    running.stop(grace=1)


@pytest.fixture
def s3_experiment(tracking_server: str) -> str:
    """An experiment whose runs keep their artifacts below s3://EXPERIMENT_BUCKET/…"""
    mlgrpc.set_tracking_uri(f"grpc://{tracking_server}")
    name = f"s3-{uuid.uuid4().hex[:10]}"
    location = f"s3://{EXPERIMENT_BUCKET}/experiments/{name}"
    experiment_id = mlgrpc.MlgrpcClient().create_experiment(name, artifact_location=location)
    mlgrpc.set_experiment(experiment_id=experiment_id)
    return experiment_id


@pytest.fixture
def stub(tracking_server: str) -> Iterator[pb_grpc.TrackingServiceStub]:
    options = [("grpc.max_send_message_length", 64 * MiB)]
    with grpc.insecure_channel(tracking_server, options=options) as channel:
        yield pb_grpc.TrackingServiceStub(channel)


def test_runs_of_an_s3_experiment_keep_artifacts_there(
    s3_experiment: str, s3: Any, tmp_path: Path
) -> None:
    (tmp_path / "data.csv").write_text("a,b\n1,2\n")
    with mlgrpc.start_run() as run:
        mlgrpc.log_artifact(tmp_path / "data.csv", "inputs")
    artifact_uri = run.info.artifact_uri
    assert artifact_uri.startswith(f"s3://{EXPERIMENT_BUCKET}/experiments/")
    prefix = artifact_uri.removeprefix(f"s3://{EXPERIMENT_BUCKET}/")
    assert keys_below(s3, EXPERIMENT_BUCKET, prefix) == [f"{prefix}/inputs/data.csv"]
    client = mlgrpc.MlgrpcClient()
    (listed,) = client.list_artifacts(run.info.run_id, "inputs")
    assert (listed.path, listed.is_dir, listed.file_size) == ("inputs/data.csv", False, 8)
    local = client.download_artifacts(run.info.run_id, "inputs", tmp_path / "back")
    assert (Path(local) / "data.csv").read_text() == "a,b\n1,2\n"


def test_default_artifact_root_in_s3_is_used_without_a_location(
    tracking_server: str, s3: Any, tmp_path: Path
) -> None:
    mlgrpc.set_tracking_uri(f"grpc://{tracking_server}")
    (tmp_path / "x.txt").write_text("default root")
    with mlgrpc.start_run() as run:  # the Default experiment
        mlgrpc.log_artifact(tmp_path / "x.txt")
    assert run.info.artifact_uri.startswith(f"s3://{DEFAULT_BUCKET}/root/0/")
    prefix = run.info.artifact_uri.removeprefix(f"s3://{DEFAULT_BUCKET}/")
    assert keys_below(s3, DEFAULT_BUCKET, prefix) == [f"{prefix}/x.txt"]


def test_twenty_megabyte_file_round_trips_through_the_client(
    s3_experiment: str, tmp_path: Path
) -> None:
    data = os.urandom(20 * 1000 * 1000)
    (tmp_path / "weights.bin").write_bytes(data)
    with mlgrpc.start_run() as run:
        mlgrpc.log_artifact(tmp_path / "weights.bin", "big")
    client = mlgrpc.MlgrpcClient()
    (listed,) = client.list_artifacts(run.info.run_id, "big")
    assert listed.file_size == len(data)
    local = client.download_artifacts(run.info.run_id, "big/weights.bin", tmp_path / "back")
    assert hashlib.sha256(Path(local).read_bytes()).digest() == hashlib.sha256(data).digest()


@pytest.mark.parametrize("path", ["../escape.txt", "a/../../escape.txt"])
def test_path_escape_is_invalid_argument(s3_experiment: str, tmp_path: Path, path: str) -> None:
    run = mlgrpc.MlgrpcClient().create_run(s3_experiment)
    with pytest.raises(InvalidArgumentError) as caught:
        mlgrpc.MlgrpcClient().download_artifacts(run.info.run_id, path, tmp_path)
    assert caught.value.field == "path"


def test_upload_with_path_escape_is_invalid_argument_naming_header_path(
    s3_experiment: str, stub: pb_grpc.TrackingServiceStub
) -> None:
    run_id = mlgrpc.MlgrpcClient().create_run(s3_experiment).info.run_id
    header = pb.UploadArtifactHeader(run_id=run_id, path="../../other-run/x.bin")
    with pytest.raises(grpc.RpcError) as caught:
        stub.UploadArtifact(iter([pb.UploadArtifactRequest(header=header)]))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "header.path" in caught.value.details()


def test_cut_upload_leaves_no_object_and_no_open_multipart_upload(
    s3_experiment: str, stub: pb_grpc.TrackingServiceStub, s3: Any
) -> None:
    run = mlgrpc.MlgrpcClient().create_run(s3_experiment)
    prefix = run.info.artifact_uri.removeprefix(f"s3://{EXPERIMENT_BUCKET}/")
    release = threading.Event()

    def messages() -> Iterator[pb.UploadArtifactRequest]:
        header = pb.UploadArtifactHeader(
            run_id=run.info.run_id, path="cut/weights.bin", file_size=40 * MiB
        )
        yield pb.UploadArtifactRequest(header=header)
        for _ in range(10):  # more than one 8 MiB part: a multipart upload is under way
            yield pb.UploadArtifactRequest(chunk=b"x" * MiB)
        release.wait(120)  # never reached by a natural end within the test
        yield pb.UploadArtifactRequest(chunk=b"y" * MiB)

    future = stub.UploadArtifact.future(messages())
    deadline = time.monotonic() + 20
    while not open_uploads(s3, EXPERIMENT_BUCKET, prefix) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert open_uploads(s3, EXPERIMENT_BUCKET, prefix) == [f"{prefix}/cut/weights.bin"]
    future.cancel()
    deadline = time.monotonic() + 20
    while open_uploads(s3, EXPERIMENT_BUCKET, prefix) and time.monotonic() < deadline:
        time.sleep(0.05)
    release.set()
    assert open_uploads(s3, EXPERIMENT_BUCKET, prefix) == []
    assert keys_below(s3, EXPERIMENT_BUCKET, prefix) == []
    assert mlgrpc.MlgrpcClient().list_artifacts(run.info.run_id) == []


def test_log_model_and_load_model_through_s3(s3_experiment: str, s3: Any) -> None:
    from sklearn.linear_model import LinearRegression

    features = np.arange(20, dtype=float).reshape(10, 2)
    model = LinearRegression().fit(features, features @ [1.5, -2.0] + 3)
    with mlgrpc.start_run() as run:
        mlgrpc.sklearn.log_model(model, name="model")
    prefix = run.info.artifact_uri.removeprefix(f"s3://{EXPERIMENT_BUCKET}/")
    assert f"{prefix}/model/MLmodel" in keys_below(s3, EXPERIMENT_BUCKET, prefix)
    loaded = mlgrpc.pyfunc.load_model(f"runs:/{run.info.run_id}/model")
    np.testing.assert_allclose(loaded.predict(features), model.predict(features))


def test_delete_removes_a_file_or_a_directory_and_nothing_is_no_error(
    repo: S3ArtifactRepository,
) -> None:
    store(repo, "model/weights.bin", b"w")
    store(repo, "model/sub/config.json", b"c")
    store(repo, "notes.txt", b"n")
    repo.delete("notes.txt")
    assert [e.path for e in repo.list("")] == ["model"]
    repo.delete("model")
    assert repo.list("") == []
    repo.delete("never-there")  # no error, as MLflow
    with pytest.raises(InvalidArgument):
        repo.delete("")
