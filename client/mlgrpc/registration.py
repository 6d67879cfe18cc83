"""The registry in the fluent API: `mlgrpc.register_model`, and `models:/` URIs resolved
everywhere a model URI is accepted.

Kept apart from `fluent.py` (tracking) so that the registry client is imported only when a
registry call is made.
"""

from __future__ import annotations

from collections.abc import Mapping

from mlgrpc.exceptions import AlreadyExistsError
from mlgrpc.registry_client import RegistryClient
from mlgrpc.registry_entities import ModelVersion
from mlgrpc.uris import parse_runs_uri


def register_model(
    model_uri: str,
    name: str,
    tags: Mapping[str, str] | None = None,
    *,
    description: str | None = None,
) -> ModelVersion:
    """Register the model at `model_uri` as a new version of `name` (created if missing).

    Like `mlflow.register_model`: `runs:/<run_id>/<path>` URIs record their run, so that the
    registry can check it exists and resolve where its files are.
    """
    client = RegistryClient()
    try:
        client.create_registered_model(name)
    except AlreadyExistsError:
        pass  # registering a further version of an existing model is the common case
    run_id = parse_runs_uri(model_uri).run_id if model_uri.startswith("runs:/") else None
    return client.create_model_version(
        name, source=model_uri, run_id=run_id, tags=tags, description=description
    )


def resolve_models_uri(model_uri: str) -> str:
    """`models:/name/3`, `models:/name@alias`, `models:/name/Stage`, `models:/name/latest` →
    the `runs:/…` URI (or artifact location) of that version, asked of the registry."""
    resolved = RegistryClient().resolve_model_uri(model_uri)
    if resolved.run_id and resolved.artifact_path:
        return f"runs:/{resolved.run_id}/{resolved.artifact_path}"
    return resolved.storage_location
