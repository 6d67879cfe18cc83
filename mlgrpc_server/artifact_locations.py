"""Which artifact locations a caller may name, checked when the reference is made.

CreateExperiment's `artifact_location` and a non-`runs:/` `source` of CreateModelVersion name
places the services later write to or the scoring service reads from. A location must use a
scheme this deployment stores artifacts with (`file:` or an absolute path; `s3://` when the root
is in S3 or boto3, the S3 repository's library, is installed) and lie under the artifact root,
unless the operator starts the service with --allow-artifact-locations-outside-root (env
MLGRPC_ALLOW_ARTIFACT_LOCATIONS_OUTSIDE_ROOT=true). Other schemes (http, ftp, …) are refused in
any case: no repository here can read them, and a server fetching caller-named URLs is an SSRF.
A relative path is refused too: it would be resolved against the server's working directory.
Accepted locations are returned in one canonical form (`file:///abs/path`, `s3://bucket/key`),
which is what gets stored.

`runs:/<run_id>/<path>` paths are normalised and refused when they leave the run's artifacts.
"""

from __future__ import annotations

import importlib.util
import os
import posixpath
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

from mlgrpc_server.artifact_flags import ALLOW_OUTSIDE_ROOT_FLAG
from mlgrpc_server.errors import InvalidArgument


def s3_supported() -> bool:
    """Whether the S3 artifact repository can run here (boto3 is an optional extra)."""
    return importlib.util.find_spec("boto3") is not None


@dataclass(frozen=True)
class _Place:
    """A location in canonical form: a local absolute path, or an S3 bucket and key."""

    scheme: str  # "file" or "s3"
    path: str  # file: the normalised absolute path; s3: the bucket
    key: str = ""  # s3: the normalised key prefix, without leading or trailing "/"

    @property
    def uri(self) -> str:
        if self.scheme == "file":
            return Path(self.path).as_uri()
        return f"s3://{self.path}/{self.key}" if self.key else f"s3://{self.path}"

    def is_under(self, root: _Place) -> bool:
        if self.scheme != root.scheme:
            return False
        if self.scheme == "file":
            # Symbolic links resolved on both sides: a link under the root to /etc is not under it.
            return Path(os.path.realpath(self.path)).is_relative_to(os.path.realpath(root.path))
        if self.path != root.path:
            return False
        return not root.key or self.key == root.key or self.key.startswith(root.key + "/")


def _refuse(field: str, location: str, why: str) -> InvalidArgument:
    return InvalidArgument(f"{field} {location[:300]!r} {why}", field=field)


def _place(location: str, field: str, *, s3: bool) -> _Place:
    parsed = urlparse(location)
    scheme = parsed.scheme.lower()
    if scheme == "" or (len(scheme) == 1 and os.name == "nt"):
        path = location
    elif scheme == "file":
        if parsed.netloc not in ("", "localhost"):
            raise _refuse(field, location, "names another host; file: URIs name a local path")
        path = unquote(parsed.path)
    elif scheme == "s3":
        if not s3:
            raise _refuse(
                field, location, "is in S3, but this server lacks boto3; install mlgrpc[s3]"
            )
        key = posixpath.normpath("/" + parsed.path).strip("/")
        if not parsed.netloc or any(part in (".", "..") for part in parsed.path.split("/")):
            raise _refuse(field, location, "is not s3://BUCKET/KEY without '.' or '..' parts")
        return _Place("s3", parsed.netloc, key)
    else:
        supported = "file: or an absolute path" + (", s3://" if s3 else "")
        raise _refuse(
            field, location, f"uses the scheme {scheme!r}; artifacts are stored in {supported}"
        )
    if not os.path.isabs(path):
        raise _refuse(
            field,
            location,
            "is a relative path, which would be resolved against the server's working "
            "directory; give an absolute path or a file:/// URI",
        )
    return _Place("file", os.path.normpath(path))


class ArtifactLocations:
    """The artifact root of a deployment and whether locations outside it are accepted."""

    def __init__(self, root: str, *, allow_outside_root: bool = False) -> None:
        parsed = urlparse(root)
        # The registry needs no boto3: an S3 root says the deployment keeps artifacts in S3.
        self._s3 = parsed.scheme.lower() == "s3" or s3_supported()
        if parsed.scheme.lower() == "s3":
            self.root = _Place(
                "s3", parsed.netloc, posixpath.normpath("/" + parsed.path).strip("/")
            )
        else:
            path = unquote(parsed.path) if parsed.scheme.lower() == "file" else root
            self.root = _Place("file", os.path.abspath(os.path.expanduser(path)))
        self.allow_outside_root = allow_outside_root

    def check(self, location: str, *, field: str) -> str:
        """`location` in canonical form (`file:///abs/path`, `s3://bucket/key`) if a caller may
        name it; InvalidArgument naming `field` otherwise."""
        place = _place(location, field, s3=self._s3)
        if not self.allow_outside_root and not place.is_under(self.root):
            raise _refuse(
                field,
                location,
                f"is outside the artifact root {self.root.uri!r}; give a location under it (or "
                f"none, for the default), or start the service with {ALLOW_OUTSIDE_ROOT_FLAG}",
            )
        return place.uri


def normalise_run_path(path: str, *, field: str, uri: str) -> str:
    """A path inside a run's artifacts (`runs:/<run_id>/<path>`), "." and ".." resolved;
    InvalidArgument when it leaves them (".." above the top, a backslash, a drive)."""
    if "\\" in path:
        raise _refuse(field, uri, "has a backslash in its path; use '/' between parts")
    normal = posixpath.normpath(path.strip("/")) if path.strip("/") else ""
    if normal == ".":
        normal = ""
    if normal == ".." or normal.startswith("../"):
        raise _refuse(field, uri, "leaves the run's artifacts ('..' above the run's root)")
    return normal
