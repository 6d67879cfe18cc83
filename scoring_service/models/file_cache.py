"""The scoring service's local copies of run artifacts, keyed by what identifies their content.

An entry holds the files of one `(run id, artifact path)` and a manifest of them (relative path,
size, sha256 as the tracking service announced and the download verified). A run id is a random
128-bit id made by the tracking service, so two databases, a re-created model or a `make clean`
never share an entry, whatever the registered name and version are: the name and version say
nothing about the content (two stacks can both have a different `wine` v1).

On reuse an entry is served only if it still matches its manifest (the same files, each with its
sha256) and, when the tracking service answers, the run's listing (the same paths and sizes); any
mismatch drops the entry, and the caller downloads it again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import posixpath
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mlgrpc.service_support import file_sha256
from mlgrpc_server.errors import InvalidArgument

logger = logging.getLogger(__name__)

MANIFEST = ".mlgrpc-manifest.json"
_MANIFEST_FORMAT = 1

#: `{relative path: (size, sha256)}` of an entry's files.
FileDigests = dict[str, tuple[int, str]]
#: `{relative path: size}` as the tracking service lists the run's files, or None if it could
#: not be asked.
ListSizes = Callable[[], dict[str, int] | None]


@dataclass(frozen=True)
class ContentKey:
    """The identity of a cache entry's content: a run's artifact directory."""

    run_id: str
    artifact_path: str

    @classmethod
    def of(cls, run_id: str, artifact_path: str) -> ContentKey:
        path = artifact_path.strip("/")
        normal = posixpath.normpath(path) if path else ""
        if normal in (".", ""):
            normal = ""
        if normal == ".." or normal.startswith("../") or "\\" in normal:
            raise InvalidArgument(
                f"artifact path {artifact_path!r} leaves the run's artifact root",
                field="model_uri",
            )
        if not run_id or "/" in run_id or run_id in (".", ".."):
            raise InvalidArgument(f"run id {run_id!r} is not a run id", field="model_uri")
        return cls(run_id, normal)

    @property
    def directory_name(self) -> str:
        # Hashed, so that no run id or path can name a directory outside the cache.
        return hashlib.sha256(f"{self.run_id}\0{self.artifact_path}".encode()).hexdigest()[:32]


class ModelFileCache:
    """Entries under `<root>/runs/`; `entry(key)` is where the key's files live when cached."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def entry(self, key: ContentKey) -> Path:
        return self.root / "runs" / key.directory_name

    def reusable(self, key: ContentKey, list_sizes: ListSizes) -> Path | None:
        """The entry's directory if it holds exactly the key's files; else drop it, None."""
        target = self.entry(key)
        if not target.is_dir():
            return None
        problem = _mismatch(target, key, list_sizes)
        if problem is None:
            logger.info("using cached files of runs:/%s/%s in %s", *_shown(key), target)
            return target
        logger.warning(
            "cached files of runs:/%s/%s in %s are not served (%s); downloading them again",
            *_shown(key),
            target,
            problem,
        )
        shutil.rmtree(target, ignore_errors=True)
        return None

    def publish(self, key: ContentKey, downloaded: Path) -> Path:
        """Make the verified download `downloaded` the key's entry (atomically) and return it."""
        manifest = {
            "format": _MANIFEST_FORMAT,
            "run_id": key.run_id,
            "artifact_path": key.artifact_path,
            "files": {path: [size, sha] for path, (size, sha) in _digests(downloaded).items()},
        }
        (downloaded / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
        target = self.entry(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(target, ignore_errors=True)
        try:
            os.replace(downloaded, target)  # the entry appears complete or not at all
        except OSError:
            # Another process (a worker) published the same key first: its copy is as good.
            if _mismatch(target, key, lambda: None) is not None:
                raise
        return target


def _shown(key: ContentKey) -> tuple[str, str]:
    return key.run_id, key.artifact_path


def _files(directory: Path) -> list[str]:
    return sorted(
        path.relative_to(directory).as_posix()
        for path in directory.rglob("*")
        if path.is_file() and path.name != MANIFEST
    )


def _digests(directory: Path) -> FileDigests:
    return {
        name: ((directory / name).stat().st_size, file_sha256(directory / name))
        for name in _files(directory)
    }


def _mismatch(target: Path, key: ContentKey, list_sizes: ListSizes) -> str | None:
    """Why the entry cannot be served, or None when it can."""
    try:
        manifest = json.loads((target / MANIFEST).read_text(encoding="utf-8"))
        expected: FileDigests = {
            path: (int(size), str(sha)) for path, (size, sha) in manifest["files"].items()
        }
        owner = (manifest["run_id"], manifest["artifact_path"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return f"no readable manifest: {exc}"
    if owner != _shown(key):
        return f"it holds runs:/{owner[0]}/{owner[1]}"
    if _files(target) != sorted(expected):
        return "its files differ from its manifest"
    for name, (size, sha) in expected.items():
        path = target / name
        if path.stat().st_size != size or file_sha256(path) != sha:
            return f"{name} no longer has its sha256"
    listed = list_sizes()
    if listed is not None and listed != {name: size for name, (size, _) in expected.items()}:
        return "the run's files on the tracking service differ"
    return None
