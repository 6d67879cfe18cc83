"""Artifacts as files below a local directory (`file:` URIs and plain paths)."""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import uuid
from collections.abc import Iterator

from mlgrpc_server.errors import InvalidArgument, NotFound
from tracking_service.artifacts.interface import (
    CHUNK_BYTES,
    FileEntry,
    StoredFile,
    check_received,
)
from tracking_service.artifacts.paths import resolve_inside, validate_relative_path

logger = logging.getLogger(__name__)


class LocalFileWriter:
    """Streams into `.<name>.part-<uuid>` next to the target, hashing as it goes.

    Memory stays bounded whatever the size; the final name appears only by `os.replace` after
    the checks pass, so readers never see a partial file.
    """

    def __init__(self, target: str, relative_path: str, created_dirs: list[str], field: str):
        self._target = target
        self._relative_path = relative_path
        self._created_dirs = created_dirs  # deepest last; removed again on abort if still empty
        self._field = field
        directory, name = os.path.split(target)
        self._temp = os.path.join(directory, f".{name}.part-{uuid.uuid4().hex}")
        self._handle = open(self._temp, "xb")  # noqa: SIM115 - closed in commit/abort
        self._digest = hashlib.sha256()
        self._size = 0
        self._done = False

    def write(self, chunk: bytes) -> None:
        self._handle.write(chunk)
        self._digest.update(chunk)
        self._size += len(chunk)

    def commit(self, *, expected_sha256: str = "", expected_size: int = 0) -> StoredFile:
        sha256 = self._digest.hexdigest()
        try:
            check_received(
                size=self._size, sha256=sha256, expected_size=expected_size,
                expected_sha256=expected_sha256,
            )  # fmt: skip
            self._handle.flush()
            os.fsync(self._handle.fileno())
            self._handle.close()
            if os.path.isdir(self._target):
                raise InvalidArgument(
                    f"{self._field} {self._relative_path!r} is an existing directory",
                    field=self._field,
                )
            os.replace(self._temp, self._target)
        except BaseException:
            self.abort()
            raise
        self._done = True
        entry = FileEntry(self._relative_path, is_dir=False, file_size=self._size)
        return StoredFile(entry, sha256)

    def abort(self) -> None:
        if self._done:
            return
        self._done = True
        self._handle.close()
        try:
            os.unlink(self._temp)
        except FileNotFoundError:
            pass
        for directory in reversed(self._created_dirs):
            try:
                os.rmdir(directory)
            except OSError:
                break  # not empty: someone else wrote there meanwhile


class LocalArtifactRepository:
    """The artifacts of one run, below the directory `root`."""

    def __init__(self, root: str, *, root_uri: str | None = None) -> None:
        self.root = os.path.abspath(root)
        self.root_uri = root_uri or root

    def _resolve(self, path: str, field: str, *, allow_root: bool) -> str:
        validate_relative_path(path, field=field, allow_root=allow_root)
        return resolve_inside(self.root, path, field=field)

    def open_writer(self, path: str, *, field: str = "path") -> LocalFileWriter:
        target = self._resolve(path, field, allow_root=False)
        directory = os.path.dirname(target)
        created: list[str] = []
        missing = directory
        while not os.path.lexists(missing):
            created.insert(0, missing)
            missing = os.path.dirname(missing)
        try:
            os.makedirs(directory, exist_ok=True)
        except (FileExistsError, NotADirectoryError) as error:
            raise InvalidArgument(
                f"{field} {path!r}: a parent of it is an existing file", field=field
            ) from error
        # The directories just created could in theory be swapped for symlinks: check again.
        resolve_inside(self.root, path, field=field)
        return LocalFileWriter(target, path, created, field)

    def _entry(self, absolute: str) -> FileEntry:
        relative = os.path.relpath(absolute, os.path.realpath(self.root)).replace(os.sep, "/")
        if os.path.isdir(absolute):
            return FileEntry(relative, is_dir=True, file_size=0)
        return FileEntry(relative, is_dir=False, file_size=os.path.getsize(absolute))

    def walk(self, path: str) -> list[FileEntry]:
        target = self._resolve(path, "path", allow_root=True)
        if os.path.isfile(target):
            return [self._entry(target)]
        if not os.path.isdir(target):
            raise NotFound(f"no artifact at path {path!r} in this run", field="path")
        real_root = os.path.realpath(self.root)
        files: list[str] = []
        for directory, _dirs, names in os.walk(target):
            for name in names:
                absolute = os.path.join(directory, name)
                real = os.path.realpath(absolute)
                # Skip half-written uploads and symlinks that point out of the run's root.
                if name.startswith(".") and ".part-" in name:
                    continue
                if not real.startswith(real_root + os.sep) or not os.path.isfile(real):
                    logger.warning("skipping %s: it leaves the artifact root", absolute)
                    continue
                files.append(absolute)
        return sorted((self._entry(f) for f in files), key=lambda e: e.path)

    def read(self, path: str, chunk_bytes: int = CHUNK_BYTES) -> Iterator[bytes]:
        target = self._resolve(path, "path", allow_root=False)
        try:
            handle = open(target, "rb")  # noqa: SIM115 - closed by the with below
        except (FileNotFoundError, IsADirectoryError) as error:
            raise NotFound(f"no artifact file at path {path!r}", field="path") from error
        with handle:
            while block := handle.read(chunk_bytes):
                yield block

    def delete(self, path: str) -> None:
        target = self._resolve(path, "path", allow_root=False)
        if os.path.isdir(target) and not os.path.islink(target):
            shutil.rmtree(target)
        elif os.path.lexists(target):
            os.remove(target)

    def list(self, path: str) -> list[FileEntry]:
        target = self._resolve(path, "path", allow_root=True)
        if not os.path.isdir(target):
            return []  # as MLflow: listing a missing directory (or a file) gives nothing
        entries = []
        for name in os.listdir(target):
            if name.startswith(".") and ".part-" in name:
                continue
            absolute = os.path.join(target, name)
            if not os.path.realpath(absolute).startswith(os.path.realpath(self.root) + os.sep):
                continue
            entries.append(self._entry(absolute))
        return sorted(entries, key=lambda e: e.path)
