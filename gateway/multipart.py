"""MLflow's multipart-upload endpoints of the artifact proxy (`mlflow-artifacts/mpu/create`,
`complete`, `abort`), answered as `mlflow server` answers them when its artifact store has no
multipart support (a local directory, as here): the request is checked as MLflow checks it, then
501 NOT_IMPLEMENTED with MLflow's message. MLflow's client (MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD)
recognises that message and sends the file with one streamed PUT instead.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from typing import Any

from gateway import convert as c
from gateway.errors import RequestError

#: MLflow's message (`mlflow.exceptions._UnsupportedMultipartUploadException.MESSAGE`): its
#: client compares the start of the error message with it to fall back to a plain upload.
UNSUPPORTED_MESSAGE = "Multipart upload is not supported for the current artifact repository"
NOT_IMPLEMENTED = "NOT_IMPLEMENTED"

#: Required fields of each operation, as MLflow's handlers check them (before the store).
REQUIRED_FIELDS = {"create": ("path",), "complete": ("path", "parts"), "abort": ("path",)}


def refusal(operation: str, artifact_path: str, body: Mapping[str, Any]) -> RequestError:
    """The error `mlflow server` answers for `operation` on `artifact_path`: a malformed
    request's (raised), else the store's lack of multipart support (returned)."""
    _check_path(artifact_path)
    for name in REQUIRED_FIELDS[operation]:
        if name == "parts":
            if body.get(name) in (None, "", []):
                raise c.missing(name)
        else:
            c.required_str(body, name)
    return RequestError(UNSUPPORTED_MESSAGE, NOT_IMPLEMENTED)


def _check_path(path: str) -> None:
    """MLflow's `validate_path_is_safe`: relative, no `..`, no `#`, no backslash."""
    if (
        "#" in path
        or "\\" in path
        or ".." in path.split("/")
        or posixpath.isabs(path)
        or (len(path) >= 2 and path[1] == ":")
    ):
        raise RequestError("Invalid path")
