"""Checking the relative paths clients send before they get anywhere near a file system."""

from __future__ import annotations

import os

from mlgrpc_server.errors import InvalidArgument

#: Limits that keep every accepted path storable: file systems take 255 bytes per name, and the
#: writer adds ".<name>.part-<32 hex>" (39 characters) while a file streams in. Paths past them
#: failed deep in the file system (ENAMETOOLONG, or a RecursionError creating directories).
MAX_SEGMENT_BYTES = 200
MAX_PATH_CHARS = 1_000


def validate_relative_path(path: str, *, field: str, allow_root: bool = False) -> str:
    """Return `path` if it is a clean relative "/"-separated path; InvalidArgument otherwise.

    Refused: absolute paths, backslashes, NUL and other control characters, empty segments
    (`a//b`, a trailing "/"), "." or ".." segments, more than MAX_PATH_CHARS characters, and a
    segment of more than MAX_SEGMENT_BYTES bytes. The empty path means the root and is
    accepted only with `allow_root`.
    """
    if path == "":
        if allow_root:
            return path
        raise InvalidArgument(
            f"{field} is empty; give a path such as 'model/model.pkl'", field=field
        )
    if path.startswith("/"):
        raise InvalidArgument(
            f"{field} {path!r} is absolute; give a path relative to the run's artifact root",
            field=field,
        )
    if len(path) > MAX_PATH_CHARS:
        raise InvalidArgument(
            f"{field} has {len(path)} characters; at most {MAX_PATH_CHARS} are allowed",
            field=field,
        )
    if "\\" in path:
        raise InvalidArgument(f"{field} {path!r} contains a backslash; use '/'", field=field)
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in path):
        raise InvalidArgument(f"{field} contains a control character", field=field)
    for segment in path.split("/"):
        if segment == "":
            raise InvalidArgument(
                f"{field} {path!r} has an empty segment ('//' or a trailing '/')", field=field
            )
        if len(segment.encode("utf-8")) > MAX_SEGMENT_BYTES:
            raise InvalidArgument(
                f"{field} has a segment of {len(segment.encode('utf-8'))} bytes "
                f"({segment[:40]!r}…); at most {MAX_SEGMENT_BYTES} bytes (UTF-8) are allowed",
                field=field,
            )
        if segment in (".", ".."):
            raise InvalidArgument(
                f"{field} {path!r} contains a {segment!r} segment; artifact paths may not "
                "leave or re-enter directories",
                field=field,
            )
    return path


def resolve_inside(root: str, path: str, *, field: str) -> str:
    """The real absolute path of `root/path`; InvalidArgument if symlinks lead it out of `root`."""
    real_root = os.path.realpath(root)
    target = os.path.realpath(os.path.join(real_root, *path.split("/"))) if path else real_root
    if target != real_root and not target.startswith(real_root + os.sep):
        raise InvalidArgument(
            f"{field} {path!r} resolves outside the run's artifact root", field=field
        )
    return target
