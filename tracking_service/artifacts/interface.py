"""The interface every artifact repository implements (local files today, object stores later).

Paths are relative to the run's artifact root, "/"-separated, and already checked by
`validate_relative_path`; implementations still refuse anything that resolves outside the root.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from mlgrpc_server.errors import InvalidArgument

#: Size of the chunks `read` yields and DownloadArtifact sends.
CHUNK_BYTES = 1024 * 1024


@dataclass(frozen=True)
class FileEntry:
    """A file or directory below a run's artifact root."""

    path: str  # relative to the run's artifact root, "/"-separated
    is_dir: bool
    file_size: int  # bytes; 0 for directories


@dataclass(frozen=True)
class StoredFile:
    """A file as a download announces it: its entry plus the sha256 of its content."""

    entry: FileEntry
    sha256: str


def check_received(*, size: int, sha256: str, expected_size: int, expected_sha256: str) -> None:
    """What every writer checks before publishing: the upload header's size and sha256, when
    given, match the bytes that arrived (InvalidArgument naming the header field otherwise)."""
    if expected_size and expected_size != size:
        raise InvalidArgument(
            f"header.file_size says {expected_size} bytes but {size} arrived",
            field="header.file_size",
        )
    if expected_sha256 and expected_sha256.lower() != sha256:
        raise InvalidArgument(
            f"header.sha256 says {expected_sha256} but the bytes received hash to "
            f"{sha256}; the file was not stored",
            field="header.sha256",
        )


class ArtifactWriter(Protocol):
    """One file being uploaded: invisible until `commit`, gone after `abort`."""

    def write(self, chunk: bytes) -> None: ...

    def commit(self, *, expected_sha256: str = "", expected_size: int = 0) -> StoredFile:
        """Verify size and sha256 (when given) and publish the file under its final name."""
        ...

    def abort(self) -> None:
        """Remove everything the writer created; safe to call twice or after `commit`."""
        ...


class ArtifactRepository(Protocol):
    root_uri: str

    def open_writer(self, path: str, *, field: str = "path") -> ArtifactWriter:
        """Start writing the file `path`; InvalidArgument naming `field` if it cannot be one."""
        ...

    def walk(self, path: str) -> list[FileEntry]:
        """The file `path`, or every file below the directory `path` sorted by path.

        NotFound if nothing exists at `path`.
        """
        ...

    def read(self, path: str, chunk_bytes: int = CHUNK_BYTES) -> Iterator[bytes]:
        """The content of the file `path` in chunks of at most `chunk_bytes`."""
        ...

    def list(self, path: str) -> list[FileEntry]:
        """The direct children of the directory `path`, sorted; empty if it does not exist."""
        ...

    def delete(self, path: str) -> None:
        """Remove the file `path`, or the directory `path` with everything below it; nothing to
        remove is no error. `path` is not empty (the run's root stays)."""
        ...
