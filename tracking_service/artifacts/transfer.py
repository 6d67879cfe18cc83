"""Moving files in and out of a repository as the streaming RPCs need it, proto-free.

`receive_file` consumes chunks into a writer and publishes the file only when the stream ended
cleanly and the checks passed; any error (a bad message, a client that went away) removes what
was written. `send_tree` yields, for each file, its `StoredFile` followed by its chunks.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Iterator

from mlgrpc_server.errors import InvalidArgument
from tracking_service.artifacts.interface import (
    CHUNK_BYTES,
    ArtifactRepository,
    ArtifactWriter,
    StoredFile,
)

_SHA256 = re.compile(r"[0-9a-fA-F]{64}")


def check_expectations(*, sha256: str, file_size: int) -> None:
    """InvalidArgument if the expected sha256 or size of an upload header cannot be right."""
    if sha256 and not _SHA256.fullmatch(sha256):
        raise InvalidArgument(
            f"header.sha256 {sha256[:80]!r} is not 64 hex characters; leave it empty to skip "
            "the check",
            field="header.sha256",
        )
    if file_size < 0:
        raise InvalidArgument(
            f"header.file_size {file_size} is negative; give the size in bytes or 0",
            field="header.file_size",
        )


class UploadAbandoned(Exception):
    """The uploader went away before the file was published; nothing was kept."""


def receive_file(
    writer: ArtifactWriter,
    chunks: Iterable[bytes],
    *,
    sha256: str = "",
    file_size: int = 0,
    still_wanted: Callable[[], bool] = lambda: True,
) -> StoredFile:
    """Write every chunk, then verify and publish; on any exception nothing is left behind.

    `still_wanted` is asked just before publishing: a cancelled call can end the chunk stream
    the way a completed one does, and a cancelled upload must not become a visible file.
    """
    try:
        for chunk in chunks:
            writer.write(chunk)
        if not still_wanted():
            raise UploadAbandoned()
        return writer.commit(expected_sha256=sha256, expected_size=file_size)
    finally:
        writer.abort()  # a no-op once committed


def sha256_of(repository: ArtifactRepository, path: str) -> str:
    # An object store may have recorded the hash at upload (S3): one read instead of two.
    recorded = getattr(repository, "recorded_sha256", None)
    if recorded is not None and (known := recorded(path)):
        return str(known)
    digest = hashlib.sha256()
    for block in repository.read(path):
        digest.update(block)
    return digest.hexdigest()


def send_tree(
    repository: ArtifactRepository, path: str, chunk_bytes: int = CHUNK_BYTES
) -> Iterator[StoredFile | bytes]:
    """Each file at or below `path`: its StoredFile, then its content in chunks.

    Each file is hashed just before it is sent (one extra read), so the first bytes leave
    without waiting for a whole directory to be hashed.
    """
    for entry in repository.walk(path):
        yield StoredFile(entry, sha256_of(repository, entry.path))
        yield from repository.read(entry.path, chunk_bytes)
