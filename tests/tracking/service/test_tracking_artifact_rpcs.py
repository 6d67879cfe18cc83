"""Artifact RPCs over a real channel: upload, download, list; path safety; interruptions."""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import grpc
import pytest
from tracking_rpc_helpers import assert_fails

from mlgrpc import error_reasons as reasons
from mlgrpc.tracking.v1 import tracking_service_pb2 as pb

INVALID = grpc.StatusCode.INVALID_ARGUMENT
UNKNOWN_RUN = "0" * 32
MiB = 1024 * 1024


def _upload(stub, run_id: str, path: str, data: bytes, **header) -> pb.UploadArtifactResponse:
    def messages() -> Iterator[pb.UploadArtifactRequest]:
        yield pb.UploadArtifactRequest(
            header=pb.UploadArtifactHeader(run_id=run_id, path=path, **header)
        )
        for start in range(0, len(data), MiB):
            yield pb.UploadArtifactRequest(chunk=data[start : start + MiB])

    return stub.UploadArtifact(messages())


def _download(
    stub, run_id: str, path: str = ""
) -> dict[str, tuple[pb.DownloadArtifactHeader, bytes]]:
    files: dict[str, tuple[pb.DownloadArtifactHeader, bytes]] = {}
    header = None
    parts: list[bytes] = []
    for message in stub.DownloadArtifact(pb.DownloadArtifactRequest(run_id=run_id, path=path)):
        if message.WhichOneof("content") == "header":
            if header is not None:
                files[header.path] = (header, b"".join(parts))
            header, parts = message.header, []
        else:
            parts.append(message.chunk)
    if header is not None:
        files[header.path] = (header, b"".join(parts))
    return files


def _root_dir(stub, run_id: str) -> Path:
    uri = stub.GetRun(pb.GetRunRequest(run_id=run_id)).run.info.artifact_uri
    parsed = urlparse(uri)
    return Path(parsed.path if parsed.scheme == "file" else uri)


def test_upload_then_download_round_trip(stub, run_id) -> None:
    data = b"model bytes" * 1000
    response = _upload(stub, run_id, "model/model.pkl", data)
    assert response.sha256 == hashlib.sha256(data).hexdigest()
    assert (response.file.path, response.file.file_size) == ("model/model.pkl", len(data))
    header, content = _download(stub, run_id, "model/model.pkl")["model/model.pkl"]
    assert content == data and header.sha256 == response.sha256 and header.file_size == len(data)


def test_fifty_megabyte_file_round_trips_with_matching_sha256(stub, run_id) -> None:
    data = os.urandom(50 * MiB)
    digest = hashlib.sha256(data).hexdigest()
    response = _upload(stub, run_id, "big.bin", data, sha256=digest, file_size=len(data))
    assert response.sha256 == digest
    header, content = _download(stub, run_id, "big.bin")["big.bin"]
    assert header.sha256 == digest and hashlib.sha256(content).hexdigest() == digest


def test_download_of_a_directory_gives_every_file_sorted(stub, run_id) -> None:
    for path in ["d/b.txt", "d/a/c.txt", "top.txt"]:
        _upload(stub, run_id, path, path.encode())
    files = _download(stub, run_id, "d")
    assert list(files) == ["d/a/c.txt", "d/b.txt"]
    assert files["d/b.txt"][1] == b"d/b.txt"
    assert list(_download(stub, run_id)) == ["d/a/c.txt", "d/b.txt", "top.txt"]


def test_download_sends_chunks_of_one_mebibyte(stub, run_id) -> None:
    _upload(stub, run_id, "three.bin", b"x" * (2 * MiB + 5))
    messages = list(
        stub.DownloadArtifact(pb.DownloadArtifactRequest(run_id=run_id, path="three.bin"))
    )
    assert [len(m.chunk) for m in messages[1:]] == [MiB, MiB, 5]


def test_list_artifacts_gives_direct_children_sorted(stub, run_id) -> None:
    _upload(stub, run_id, "b.txt", b"12")
    _upload(stub, run_id, "a/x.txt", b"1")
    response = stub.ListArtifacts(pb.ListArtifactsRequest(run_id=run_id))
    assert [(f.path, f.is_dir, f.file_size) for f in response.files] == [
        ("a", True, 0),
        ("b.txt", False, 2),
    ]
    assert response.root_uri
    inner = stub.ListArtifacts(pb.ListArtifactsRequest(run_id=run_id, path="a"))
    assert [f.path for f in inner.files] == ["a/x.txt"]


def test_list_of_a_missing_directory_is_empty(stub, run_id) -> None:
    response = stub.ListArtifacts(pb.ListArtifactsRequest(run_id=run_id, path="nothing/here"))
    assert list(response.files) == []


def test_sha256_mismatch_is_invalid_and_stores_nothing(stub, run_id) -> None:
    assert_fails(
        stub,
        lambda: _upload(stub, run_id, "bad.bin", b"abc", sha256="0" * 64),
        INVALID,
        reasons.INVALID_PARAMETER_VALUE,
        "header.sha256",
    )
    assert stub.ListArtifacts(pb.ListArtifactsRequest(run_id=run_id)).files == []


def _files_below(root: Path) -> list[Path]:
    """What is below `root` now; the server may be removing it while we look."""
    try:
        return list(root.rglob("*")) if root.exists() else []
    except FileNotFoundError:
        return _files_below(root)


def test_interrupted_upload_leaves_nothing_behind(stub, run_id) -> None:
    sent_first_chunk = threading.Event()
    release = threading.Event()

    def messages() -> Iterator[pb.UploadArtifactRequest]:
        yield pb.UploadArtifactRequest(
            # The declared size is what makes a cut stream detectable for certain: grpc Python
            # may end a cancelled call's request iterator as if the client had finished before
            # it reports the cancellation. mlgrpc's client always declares size and sha256.
            header=pb.UploadArtifactHeader(run_id=run_id, path="cut/partial.bin", file_size=2 * MiB)
        )
        yield pb.UploadArtifactRequest(chunk=b"x" * MiB)
        sent_first_chunk.set()
        release.wait(120)  # never reached by a natural end within the test: see the end
        yield pb.UploadArtifactRequest(chunk=b"y" * MiB)

    future = stub.UploadArtifact.future(messages())
    assert sent_first_chunk.wait(10)
    root = _root_dir(stub, run_id)
    # Wait until the server has begun writing, then cut the call.
    for _ in range(200):
        if any(".part-" in p.name for p in _files_below(root)):
            break
        threading.Event().wait(0.02)
    future.cancel()
    # The client's generator stays blocked until the end: the upload is never completed.
    # The server notices the cancellation asynchronously: give it a moment to clean up.
    for _ in range(200):
        if not _files_below(root):
            break
        threading.Event().wait(0.02)
    assert _files_below(root) == []
    assert stub.ListArtifacts(pb.ListArtifactsRequest(run_id=run_id)).files == []
    release.set()


# Bad input


@pytest.mark.parametrize(
    "path", ["../x", "a/../../x", "/etc/passwd", "a\\b", "a//b", "a/", "nul\x00byte", "", "."]
)
def test_upload_to_unsafe_path_is_invalid_naming_header_path(stub, run_id, path) -> None:
    assert_fails(
        stub,
        lambda: _upload(stub, run_id, path, b"x"),
        INVALID,
        reasons.INVALID_PARAMETER_VALUE,
        "header.path",
    )


def test_upload_through_symlink_leaving_the_root_is_invalid(stub, run_id, tmp_path) -> None:
    _upload(stub, run_id, "keep.txt", b"x")
    root = _root_dir(stub, run_id)
    (root / "escape").symlink_to(tmp_path)
    assert_fails(
        stub,
        lambda: _upload(stub, run_id, "escape/owned.txt", b"x"),
        INVALID,
        reasons.INVALID_PARAMETER_VALUE,
        "header.path",
    )
    assert list(tmp_path.iterdir()) == []
    assert_fails(
        stub,
        lambda: stub.ListArtifacts(pb.ListArtifactsRequest(run_id=run_id, path="escape")),
        INVALID,
        reasons.INVALID_PARAMETER_VALUE,
        "path",
    )


@pytest.mark.parametrize("path", ["../x", "/etc/passwd", "a\\b"])
def test_download_of_unsafe_path_is_invalid(stub, run_id, path) -> None:
    assert_fails(
        stub,
        lambda: stub.DownloadArtifact(pb.DownloadArtifactRequest(run_id=run_id, path=path)),
        INVALID,
        reasons.INVALID_PARAMETER_VALUE,
        "path",
    )


@pytest.mark.parametrize("path", ["../x", "/etc", "a\x01b"])
def test_list_of_unsafe_path_is_invalid(stub, run_id, path) -> None:
    assert_fails(
        stub,
        lambda: stub.ListArtifacts(pb.ListArtifactsRequest(run_id=run_id, path=path)),
        INVALID,
        reasons.INVALID_PARAMETER_VALUE,
        "path",
    )


def test_upload_without_header_is_invalid(stub) -> None:
    assert_fails(
        stub,
        lambda: stub.UploadArtifact(iter([pb.UploadArtifactRequest(chunk=b"x")])),
        INVALID,
        reasons.INVALID_PARAMETER_VALUE,
        "header",
    )


def test_upload_of_an_empty_stream_is_invalid(stub) -> None:
    assert_fails(
        stub,
        lambda: stub.UploadArtifact(iter([])),
        INVALID,
        reasons.INVALID_PARAMETER_VALUE,
        "header",
    )


def test_upload_with_second_header_is_invalid_and_stores_nothing(stub, run_id) -> None:
    header = pb.UploadArtifactHeader(run_id=run_id, path="twice.txt")
    messages = [
        pb.UploadArtifactRequest(header=header),
        pb.UploadArtifactRequest(chunk=b"x"),
        pb.UploadArtifactRequest(header=header),
    ]
    assert_fails(
        stub,
        lambda: stub.UploadArtifact(iter(messages)),
        INVALID,
        reasons.INVALID_PARAMETER_VALUE,
        "header",
    )
    assert stub.ListArtifacts(pb.ListArtifactsRequest(run_id=run_id)).files == []


def test_upload_with_malformed_sha256_is_invalid(stub, run_id) -> None:
    assert_fails(
        stub,
        lambda: _upload(stub, run_id, "x.txt", b"x", sha256="xyz"),
        INVALID,
        reasons.INVALID_PARAMETER_VALUE,
        "header.sha256",
    )


def test_upload_to_unknown_run_is_not_found(stub) -> None:
    assert_fails(
        stub,
        lambda: _upload(stub, UNKNOWN_RUN, "x.txt", b"x"),
        grpc.StatusCode.NOT_FOUND,
        reasons.RESOURCE_DOES_NOT_EXIST,
        "run_id",
    )


def test_upload_to_deleted_run_is_failed_precondition(stub, run_id) -> None:
    stub.DeleteRun(pb.DeleteRunRequest(run_id=run_id))
    assert_fails(
        stub,
        lambda: _upload(stub, run_id, "x.txt", b"x"),
        grpc.StatusCode.FAILED_PRECONDITION,
        reasons.INVALID_STATE,
        "run_id",
    )


def test_download_of_missing_path_is_not_found(stub, run_id) -> None:
    assert_fails(
        stub,
        lambda: stub.DownloadArtifact(pb.DownloadArtifactRequest(run_id=run_id, path="nope")),
        grpc.StatusCode.NOT_FOUND,
        reasons.RESOURCE_DOES_NOT_EXIST,
        "path",
    )


def test_download_from_unknown_run_is_not_found(stub) -> None:
    assert_fails(
        stub,
        lambda: stub.DownloadArtifact(pb.DownloadArtifactRequest(run_id=UNKNOWN_RUN)),
        grpc.StatusCode.NOT_FOUND,
        reasons.RESOURCE_DOES_NOT_EXIST,
        "run_id",
    )


def test_list_of_unknown_run_is_not_found(stub) -> None:
    assert_fails(
        stub,
        lambda: stub.ListArtifacts(pb.ListArtifactsRequest(run_id=UNKNOWN_RUN)),
        grpc.StatusCode.NOT_FOUND,
        reasons.RESOURCE_DOES_NOT_EXIST,
        "run_id",
    )
