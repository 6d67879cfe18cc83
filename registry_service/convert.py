"""Explicit converters between the wire (protobuf) and the registry's domain dataclasses."""

from __future__ import annotations

from collections.abc import Iterable

from mlgrpc.registry.v1 import registry_service_pb2 as pb
from mlgrpc_server.errors import InvalidArgument
from registry_service import domain

_STATUS = {
    "PENDING_REGISTRATION": pb.MODEL_VERSION_STATUS_PENDING_REGISTRATION,
    "FAILED_REGISTRATION": pb.MODEL_VERSION_STATUS_FAILED_REGISTRATION,
    "READY": pb.MODEL_VERSION_STATUS_READY,
}


def model_version_to_proto(mv: domain.ModelVersion) -> pb.ModelVersion:
    return pb.ModelVersion(
        name=mv.name,
        version=mv.version,
        creation_timestamp=mv.creation_timestamp,
        last_updated_timestamp=mv.last_updated_timestamp,
        current_stage=mv.current_stage,
        description=mv.description,
        source=mv.source,
        run_id=mv.run_id,
        status=_STATUS.get(mv.status, pb.MODEL_VERSION_STATUS_UNSPECIFIED),
        status_message=mv.status_message,
        tags=[pb.ModelVersionTag(key=k, value=v) for k, v in sorted(mv.tags.items())],
        run_link=mv.run_link,
        aliases=list(mv.aliases),
        storage_location=mv.storage_location,
        model_id=mv.model_id,
    )


def registered_model_to_proto(model: domain.RegisteredModel) -> pb.RegisteredModel:
    return pb.RegisteredModel(
        name=model.name,
        creation_timestamp=model.creation_timestamp,
        last_updated_timestamp=model.last_updated_timestamp,
        description=model.description,
        latest_versions=[model_version_to_proto(mv) for mv in model.latest_versions],
        tags=[pb.RegisteredModelTag(key=k, value=v) for k, v in sorted(model.tags.items())],
        aliases=[
            pb.RegisteredModelAlias(alias=a, version=n) for a, n in sorted(model.aliases.items())
        ],
    )


def tags_from_proto(
    tags: Iterable[pb.RegisteredModelTag | pb.ModelVersionTag], *, field: str = "tags"
) -> dict[str, str]:
    """Tags as a dict; a key given twice is INVALID_ARGUMENT rather than silently merged."""
    result: dict[str, str] = {}
    for tag in tags:
        if tag.key in result:
            raise InvalidArgument(
                f"{field}: key {tag.key[:50]!r} is given twice; give each key once", field=field
            )
        result[tag.key] = tag.value
    return result
