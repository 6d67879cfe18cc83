"""Entities of the model registry: plain frozen dataclasses, no protobuf, no SQLAlchemy.

Stages are MLflow's strings ("None", "Staging", "Production", "Archived"), canonicalised
case-insensitively on the way in. Versions are ints.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from mlgrpc.uris import MODEL_STAGES

T = TypeVar("T")

STAGE_NONE = "None"
STAGE_STAGING = "Staging"
STAGE_PRODUCTION = "Production"
STAGE_ARCHIVED = "Archived"
#: Every stage, in the order GetLatestVersions reports them (by name, as MLflow sorts them).
ALL_STAGES = tuple(sorted(MODEL_STAGES))
#: Stages whose transition may archive the other versions in them.
ARCHIVING_STAGES = (STAGE_STAGING, STAGE_PRODUCTION)

STATUS_READY = "READY"


@dataclass(frozen=True)
class ModelVersion:
    name: str
    version: int
    creation_timestamp: int  # ms since the Unix epoch
    last_updated_timestamp: int  # ms since the Unix epoch
    current_stage: str
    description: str
    source: str
    run_id: str
    run_link: str
    storage_location: str
    #: Path inside the run's artifacts when the source was `runs:/<run_id>/<path>`, else "".
    artifact_path: str
    status: str = STATUS_READY
    status_message: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()
    #: The MLflow 3 LoggedModel (`m-…`) the version registers; "" for none.
    model_id: str = ""


@dataclass(frozen=True)
class RegisteredModel:
    name: str
    creation_timestamp: int  # ms since the Unix epoch
    last_updated_timestamp: int  # ms since the Unix epoch
    description: str
    tags: dict[str, str] = field(default_factory=dict)
    #: alias → version
    aliases: dict[str, int] = field(default_factory=dict)
    #: The latest version in each stage that has one, ordered by stage name.
    latest_versions: tuple[ModelVersion, ...] = ()


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a listing; `next_page_token` is empty on the last page."""

    items: Sequence[T]
    next_page_token: str = ""
