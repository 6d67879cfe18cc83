"""Choosing the artifact repository of a run from the scheme of its artifact URI."""

from __future__ import annotations

from urllib.parse import unquote, urlparse

from mlgrpc_server.errors import FailedPrecondition
from tracking_service.artifacts.interface import ArtifactRepository
from tracking_service.artifacts.local import LocalArtifactRepository


def local_path_of(uri: str) -> str:
    """The file-system path of a `file:` URI or a plain path."""
    parsed = urlparse(uri)
    if parsed.scheme == "file":
        return unquote(parsed.path)
    return uri


def repository_for(artifact_uri: str) -> ArtifactRepository:
    """The repository that stores a run's artifacts, by the scheme of its root URI."""
    scheme = urlparse(artifact_uri).scheme
    # One-letter "schemes" are Windows drive letters, i.e. plain paths.
    if scheme in ("", "file") or len(scheme) == 1:
        return LocalArtifactRepository(local_path_of(artifact_uri), root_uri=artifact_uri)
    if scheme == "s3":
        return _s3_repository(artifact_uri)
    raise FailedPrecondition(
        f"the run's artifact root {artifact_uri!r} uses the scheme {scheme!r}, which this server "
        "does not support; supported: file, s3",
        field="artifact_uri",
    )


def _s3_repository(artifact_uri: str) -> ArtifactRepository:
    # Imported on first use: boto3 is an optional extra (`mlgrpc[s3]`) and slow to import.
    try:
        from tracking_service.artifacts.s3 import S3ArtifactRepository
    except ImportError as error:
        raise FailedPrecondition(
            f"the run's artifact root {artifact_uri!r} is in S3, but this server lacks boto3; "
            "install mlgrpc[s3]",
            field="artifact_uri",
        ) from error
    return S3ArtifactRepository(artifact_uri)
