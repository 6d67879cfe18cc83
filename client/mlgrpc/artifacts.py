"""Artifact upload and download over the tracking service's streaming RPCs.

Uploads send a header (path, size, sha256) and then the bytes in chunks; the service makes the
file visible only when the sha256 matches. Downloads verify each file's sha256 and write it
under a temporary name first, so a broken transfer never leaves a half file that looks whole.
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from mlgrpc import config
from mlgrpc._channel import call_server_stream, call_unary
from mlgrpc.entities import FileInfo
from mlgrpc.exceptions import InvalidArgumentError, MlgrpcException, NotFoundError
from mlgrpc.tracking.v1 import tracking_service_pb2 as pb
from mlgrpc.uris import LOGGED_MODEL_ID

#: Bytes per upload message (the service accepts up to 4 MiB).
CHUNK_BYTES = 2 * 1024 * 1024

#: Called with the number of bytes just sent or received (progress bars).
Progress = Callable[[int], None]


def join_artifact_path(artifact_path: str | None, name: str) -> str:
    """`artifact_path/name` with "/" separators and no leading or trailing slash."""
    parts = [p for p in ((artifact_path or "").replace(os.sep, "/").strip("/"), name) if p]
    return posixpath.join(*parts) if parts else name


def file_sha256(path: str | os.PathLike[str]) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def upload_file(
    stub: Any,
    run_id: str,
    local_path: str | os.PathLike[str],
    path: str,
    progress: Progress | None = None,
) -> FileInfo:
    """Upload one local file as the artifact `path` of the run (or, given an `m-…` id, of the
    LoggedModel)."""
    local = Path(local_path)
    if not local.is_file():
        raise InvalidArgumentError(f"{str(local)!r} is not a file", field="local_path")
    header = pb.UploadArtifactHeader(
        **owner_fields(run_id), path=path, file_size=local.stat().st_size, sha256=file_sha256(local)
    )

    def requests() -> Iterator[pb.UploadArtifactRequest]:
        yield pb.UploadArtifactRequest(header=header)
        with open(local, "rb") as f:
            while chunk := f.read(CHUNK_BYTES):
                yield pb.UploadArtifactRequest(chunk=chunk)
                if progress is not None:
                    progress(len(chunk))

    response = call_unary(
        stub.UploadArtifact, requests(), name="UploadArtifact", timeout=config.artifact_timeout()
    )
    return FileInfo.from_proto(response.file)


def upload_dir(
    stub: Any,
    run_id: str,
    local_dir: str | os.PathLike[str],
    artifact_path: str | None,
    progress: Progress | None = None,
) -> list[FileInfo]:
    """Upload every file below `local_dir`, keeping the relative layout under `artifact_path`."""
    root = Path(local_dir)
    if not root.is_dir():
        raise InvalidArgumentError(f"{str(root)!r} is not a directory", field="local_dir")
    uploaded = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        relative_dir = Path(dirpath).relative_to(root).as_posix()
        prefix = join_artifact_path(artifact_path, "" if relative_dir == "." else relative_dir)
        for filename in sorted(filenames):
            path = join_artifact_path(prefix, filename)
            uploaded.append(upload_file(stub, run_id, Path(dirpath) / filename, path, progress))
    return uploaded


def owner_fields(owner_id: str) -> dict[str, str]:
    """The request fields naming whose artifacts: a run id, or a LoggedModel id (`m-…`)."""
    return {"model_id": owner_id} if LOGGED_MODEL_ID.fullmatch(owner_id) else {"run_id": owner_id}


def list_artifacts(stub: Any, run_id: str, path: str | None) -> list[FileInfo]:
    """The entries of a directory of a run's (or, given an `m-…` id, a LoggedModel's) artifacts."""
    response = call_unary(
        stub.ListArtifacts,
        pb.ListArtifactsRequest(**owner_fields(run_id), path=(path or "").strip("/")),
        name="ListArtifacts",
    )
    return [FileInfo.from_proto(f) for f in response.files]


def download(
    stub: Any,
    run_id: str,
    path: str,
    dst_path: str | os.PathLike[str] | None,
    progress: Progress | None = None,
) -> str:
    """Download the file or directory `path` of the run (or, given an `m-…` id, of the
    LoggedModel) below `dst_path`; return its local path.

    Like MLflow, the result is `dst_path/path` (a new temporary directory if dst_path is None).
    """
    path = (path or "").strip("/")
    destination = Path(dst_path) if dst_path is not None else Path(tempfile.mkdtemp())
    destination.mkdir(parents=True, exist_ok=True)
    destination = destination.resolve()
    stream = call_server_stream(
        stub.DownloadArtifact,
        pb.DownloadArtifactRequest(**owner_fields(run_id), path=path),
        name="DownloadArtifact",
    )
    writer: _FileWriter | None = None
    files = 0
    try:
        for message in stream:
            if message.HasField("header"):
                if writer is not None:
                    writer.finish()
                writer = _FileWriter(destination, message.header)
                files += 1
            elif writer is None:
                raise MlgrpcException("DownloadArtifact: bytes arrived before a file header")
            else:
                writer.write(message.chunk)
                if progress is not None:
                    progress(len(message.chunk))
        if writer is not None:
            writer.finish()
            writer = None
    finally:
        if writer is not None:
            writer.abort()
    local = destination / path if path else destination
    if files == 0 and not local.exists():
        if path:
            raise NotFoundError(f"run {run_id} has no artifact {path!r}", field="path")
        local.mkdir(parents=True, exist_ok=True)  # an empty artifact root
    return str(local)


class _FileWriter:
    """Writes one downloaded file to `<name>.part`, checks size and sha256, then renames it."""

    def __init__(self, root: Path, header: Any) -> None:
        target = (root / header.path).resolve()
        if root != target and root not in target.parents:
            raise MlgrpcException(f"DownloadArtifact: refusing path {header.path!r} outside dst")
        target.parent.mkdir(parents=True, exist_ok=True)
        self._target = target
        self._part = target.with_name(target.name + ".part")
        self._expected_size = header.file_size
        self._expected_sha = header.sha256
        self._digest = hashlib.sha256()
        self._size = 0
        self._file = open(self._part, "wb")  # noqa: SIM115 - closed in finish/abort

    def write(self, chunk: bytes) -> None:
        self._file.write(chunk)
        self._digest.update(chunk)
        self._size += len(chunk)

    def finish(self) -> None:
        self._file.close()
        sha = self._digest.hexdigest()
        if self._size != self._expected_size or (self._expected_sha and sha != self._expected_sha):
            self._part.unlink(missing_ok=True)
            raise MlgrpcException(
                f"DownloadArtifact: {self._target.name} arrived damaged ({self._size} bytes, "
                f"sha256 {sha}; expected {self._expected_size} bytes, sha256 {self._expected_sha})"
            )
        os.replace(self._part, self._target)

    def abort(self) -> None:
        self._file.close()
        self._part.unlink(missing_ok=True)


def upload_bytes(stub: Any, run_id: str, data: bytes, artifact_file: str) -> FileInfo:
    """Store `data` as the artifact file `artifact_file` (through a temporary file)."""
    with tempfile.TemporaryDirectory() as tmp:
        local, path = _temp_file_for(tmp, artifact_file)
        local.write_bytes(data)
        return upload_file(stub, run_id, local, path)


def dict_to_bytes(dictionary: dict[str, Any], artifact_file: str) -> bytes:
    """JSON, or YAML when the file name ends with .yaml / .yml (as MLflow's log_dict)."""
    if artifact_file.endswith((".yaml", ".yml")):
        import yaml

        return yaml.safe_dump(dictionary, default_flow_style=False, sort_keys=False).encode()
    return json.dumps(dictionary, indent=2).encode()


def upload_figure(
    stub: Any,
    run_id: str,
    figure: Any,
    artifact_file: str,
    save_kwargs: dict[str, Any] | None = None,
) -> FileInfo:
    """Save a matplotlib figure (`savefig`) or a plotly one (`write_html` / `write_image`)."""
    with tempfile.TemporaryDirectory() as tmp:
        local, path = _temp_file_for(tmp, artifact_file)
        if hasattr(figure, "savefig"):
            figure.savefig(local, **(save_kwargs or {}))
        elif hasattr(figure, "write_html") and artifact_file.endswith(".html"):
            figure.write_html(str(local), **(save_kwargs or {}))
        elif hasattr(figure, "write_image"):
            figure.write_image(str(local), **(save_kwargs or {}))
        else:
            raise InvalidArgumentError(
                f"cannot save a {type(figure).__name__}: expected a matplotlib or plotly figure",
                field="figure",
            )
        return upload_file(stub, run_id, local, path)


def _temp_file_for(directory: str, artifact_file: str) -> tuple[Path, str]:
    """A path in `directory` named like `artifact_file`, and the normalized artifact path."""
    normalized = artifact_file.replace(os.sep, "/").strip("/")
    if not normalized:
        raise InvalidArgumentError(f"{artifact_file!r} names no file", field="artifact_file")
    return Path(directory) / normalized.rpartition("/")[2], normalized
