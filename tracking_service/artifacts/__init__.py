"""Artifact repositories: where a run's files live, behind one small interface.

`repository_for(artifact_uri)` picks the implementation by URI scheme; today `file:` (and plain
paths) map to `LocalArtifactRepository`. An S3 repository implements the same `ArtifactRepository`
protocol and registers its scheme in `repository_for`.
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
