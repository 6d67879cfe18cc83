"""Artifact repositories: where a run's files live, behind one small interface.

`repository_for(artifact_uri)` picks the implementation by URI scheme: `file:` (and plain
paths) map to `LocalArtifactRepository`, `s3://` to `s3.S3ArtifactRepository` (boto3, imported
only when an S3 run is touched).
"""

from tracking_service.artifacts.interface import ArtifactRepository, ArtifactWriter, FileEntry
from tracking_service.artifacts.local import LocalArtifactRepository
from tracking_service.artifacts.paths import validate_relative_path
from tracking_service.artifacts.resolve import repository_for

__all__ = [
    "ArtifactRepository",
    "ArtifactWriter",
    "FileEntry",
    "LocalArtifactRepository",
    "repository_for",
    "validate_relative_path",
]
