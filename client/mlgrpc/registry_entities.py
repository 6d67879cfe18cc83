"""Typed entities the model-registry client returns (MLflow's names; versions are ints).

MLflow's `ModelVersion.version` is a string; here it is an int, as on the wire.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

from mlgrpc.registry.v1 import registry_service_pb2 as pb

T = TypeVar("T")


@dataclass(frozen=True)
class ModelVersion:
    name: str
    version: int
    creation_timestamp: int  # ms since the Unix epoch
    last_updated_timestamp: int  # ms since the Unix epoch
    current_stage: str  # "None", "Staging", "Production" or "Archived"
    description: str
    source: str
    run_id: str
    status: str  # "READY", …
    status_message: str
    run_link: str
    storage_location: str
    tags: dict[str, str] = field(default_factory=dict)
    aliases: list[str] = field(default_factory=list)
    #: The MLflow 3 LoggedModel (`m-…`) the version registers; "" for none.
    model_id: str = ""

    @classmethod
    def from_proto(cls, mv: pb.ModelVersion) -> ModelVersion:
        return cls(
            name=mv.name,
            version=mv.version,
            creation_timestamp=mv.creation_timestamp,
            last_updated_timestamp=mv.last_updated_timestamp,
            current_stage=mv.current_stage,
            description=mv.description,
            source=mv.source,
            run_id=mv.run_id,
            status=pb.ModelVersionStatus.Name(mv.status).removeprefix("MODEL_VERSION_STATUS_"),
            status_message=mv.status_message,
            run_link=mv.run_link,
            storage_location=mv.storage_location,
            tags={tag.key: tag.value for tag in mv.tags},
            aliases=list(mv.aliases),
            model_id=mv.model_id,
        )


@dataclass(frozen=True)
class RegisteredModel:
    name: str
    creation_timestamp: int  # ms since the Unix epoch
    last_updated_timestamp: int  # ms since the Unix epoch
    description: str
    tags: dict[str, str] = field(default_factory=dict)
    #: alias → version number
    aliases: dict[str, int] = field(default_factory=dict)
    #: The latest version in each stage that has one.
    latest_versions: list[ModelVersion] = field(default_factory=list)

    @classmethod
    def from_proto(cls, model: pb.RegisteredModel) -> RegisteredModel:
        return cls(
            name=model.name,
            creation_timestamp=model.creation_timestamp,
            last_updated_timestamp=model.last_updated_timestamp,
            description=model.description,
            tags={tag.key: tag.value for tag in model.tags},
            aliases={alias.alias: alias.version for alias in model.aliases},
            latest_versions=[ModelVersion.from_proto(mv) for mv in model.latest_versions],
        )


@dataclass(frozen=True)
class ResolvedModelUri:
    """What a `models:/` URI names and where its files are."""

    model_version: ModelVersion
    storage_location: str
    run_id: str
    #: Path inside the run's artifacts when the source was `runs:/<run_id>/<path>`, else "".
    artifact_path: str
    #: The LoggedModel (`m-…`) a `models:/m-<id>` URI named (or the version registers), else "".
    model_id: str = ""


class PagedList(list[T], Generic[T]):
    """One page of results; `token` is the next page's token, None on the last page (MLflow)."""

    def __init__(self, items: list[T], token: str | None) -> None:
        super().__init__(items)
        self.token = token
