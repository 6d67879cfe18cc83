"""MLflow's registry JSON ↔ mlgrpc's registry protos: field names, the string version numbers,
the status enum's spelling and which empty fields MLflow's server writes anyway, in one place.

Shaped as `mlflow server` answers (3.17, checked side by side): a version always carries
`current_stage`, `description` and `run_link` (even empty); `run_id`, `tags`, `aliases` only when
set; a registered model leaves out an empty description, `latest_versions`, tags and aliases.
Versions are decimal strings on MLflow's wire and int64 in our contract.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from gateway import convert as c
from gateway.errors import RequestError
from mlgrpc.registry.v1 import registry_service_pb2 as pb

Json = c.Json
_INTEGER = re.compile(r"-?[0-9]{1,20}")

STATUS_NAMES = {
    pb.MODEL_VERSION_STATUS_PENDING_REGISTRATION: "PENDING_REGISTRATION",
    pb.MODEL_VERSION_STATUS_FAILED_REGISTRATION: "FAILED_REGISTRATION",
    pb.MODEL_VERSION_STATUS_READY: "READY",
}


# --- reading MLflow's request fields ---------------------------------------------------------


def version_of(body: Mapping[str, Any]) -> int:
    """The `version` field: a decimal string (MLflow's client sends strings) or a JSON integer.
    A number below 1 names no version: MLflow's server answers 404 for it, and so do we."""
    value = body.get("version")
    if value is None or value == "":
        raise c.missing("version")
    text = str(value).strip() if isinstance(value, int | str) else ""
    if isinstance(value, bool) or not _INTEGER.fullmatch(text):
        raise RequestError(f"Parameter 'version' must be an integer, got {value!r}.")
    version = int(text)
    if version >= 2**63:
        raise RequestError(f"Parameter 'version' {value!r} is beyond any version number.")
    if version < 1:
        name = c.optional_str(body, "name")
        raise RequestError(
            f"Model Version (name={name}, version={version}) not found", "RESOURCE_DOES_NOT_EXIST"
        )
    return version


def optional_bool(body: Mapping[str, Any], name: str) -> bool:
    """A JSON boolean, or `true`/`false` in any case as MLflow reads a query's booleans."""
    value = body.get(name)
    if value is None or value == "":
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise RequestError(f"Invalid value {value!r} for parameter '{name}' supplied.")


# --- writing MLflow's response shapes --------------------------------------------------------


def model_version_json(version: pb.ModelVersion) -> Json:
    data: Json = {
        "name": version.name,
        "version": str(version.version),
        "creation_timestamp": version.creation_timestamp,
        "last_updated_timestamp": version.last_updated_timestamp,
        "current_stage": version.current_stage,
        "description": version.description,
        "source": version.source,
    }
    if version.run_id:
        data["run_id"] = version.run_id
    data["status"] = STATUS_NAMES.get(version.status, "READY")
    if version.status_message:
        data["status_message"] = version.status_message
    if version.tags:
        data["tags"] = [{"key": tag.key, "value": tag.value} for tag in version.tags]
    data["run_link"] = version.run_link
    if version.aliases:
        data["aliases"] = list(version.aliases)
    return data


def registered_model_json(model: pb.RegisteredModel) -> Json:
    data: Json = {
        "name": model.name,
        "creation_timestamp": model.creation_timestamp,
        "last_updated_timestamp": model.last_updated_timestamp,
    }
    if model.description:
        data["description"] = model.description
    if model.latest_versions:
        data["latest_versions"] = [model_version_json(v) for v in model.latest_versions]
    if model.tags:
        data["tags"] = [{"key": tag.key, "value": tag.value} for tag in model.tags]
    if model.aliases:
        data["aliases"] = [
            {"alias": alias.alias, "version": str(alias.version)} for alias in model.aliases
        ]
    return data
