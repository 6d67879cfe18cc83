"""The models logged in a run, for its page: each directory of the run's artifacts (at the root
or one level down) holding an MLmodel file, read as MLflow writes it — flavors, signature,
input example — so the page need not parse YAML."""

from __future__ import annotations

import json
import posixpath
from typing import Any

import yaml

from gateway import convert as c
from gateway.tracking_calls import TrackingCalls
from mlgrpc.exceptions import MlgrpcException
from mlgrpc.tracking.v1 import tracking_service_pb2 as pb

#: Files larger than this are not read for the page (an input example can be big).
MAX_READ_BYTES = 256 * 1024


def logged_models(tracking: TrackingCalls, run_id: str) -> c.Json:
    models = []
    for directory in _model_directories(tracking, run_id):
        mlmodel = yaml.safe_load(_read(tracking, run_id, f"{directory}/MLmodel") or "") or {}
        if not isinstance(mlmodel, dict):
            continue
        example_file = (mlmodel.get("saved_input_example_info") or {}).get("artifact_path")
        example = None
        if isinstance(example_file, str):
            text = _read(tracking, run_id, posixpath.join(directory, example_file))
            example = _json_or_text(text) if text is not None else None
        signature = mlmodel.get("signature") or {}
        models.append(
            {
                "path": directory,
                "flavors": sorted((mlmodel.get("flavors") or {}).keys()),
                "model_uuid": mlmodel.get("model_uuid"),
                "utc_time_created": str(mlmodel.get("utc_time_created") or ""),
                "signature": {
                    part: _json_or_text(signature[part])
                    for part in ("inputs", "outputs", "params")
                    if isinstance(signature.get(part), str)
                },
                "input_example": example,
            }
        )
    return {"logged_models": models}


def _model_directories(tracking: TrackingCalls, run_id: str) -> list[str]:
    found = []
    for entry in _list(tracking, run_id, ""):
        if not entry.is_dir:
            continue
        names = {posixpath.basename(f.path) for f in _list(tracking, run_id, entry.path)}
        if "MLmodel" in names:
            found.append(entry.path)
    return found


def _list(tracking: TrackingCalls, run_id: str, path: str) -> list[Any]:
    request = pb.ListArtifactsRequest(run_id=run_id, path=path)
    return list(tracking.call("ListArtifacts", request).files)


def _read(tracking: TrackingCalls, run_id: str, path: str) -> str | None:
    """The file's text, or None when it is missing, too large or not UTF-8."""
    stream = tracking.download(pb.DownloadArtifactRequest(run_id=run_id, path=path))
    data = bytearray()
    try:
        for message in stream:
            if message.HasField("header"):
                if message.header.path != path or message.header.file_size > MAX_READ_BYTES:
                    return None
                continue
            data.extend(message.chunk)
    except MlgrpcException:  # a missing file: the page shows the model without it
        return None
    finally:
        cancel = getattr(stream, "cancel", None)
        if cancel is not None:
            cancel()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _json_or_text(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text
