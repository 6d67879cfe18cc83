"""Entities of the tracking service: plain frozen dataclasses, no protobuf, no SQLAlchemy.

The servicer converts them to and from the wire; the store reads and writes them.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")

ACTIVE = "active"
DELETED = "deleted"

#: Run statuses, named as MLflow names them (and stored so).
RUN_STATUSES = ("RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED")

#: The tag MLflow uses to record a nested run's parent.
PARENT_RUN_ID_TAG = "mlflow.parentRunId"
#: The tag MLflow uses to record the run name (kept in sync with the run_name column).
RUN_NAME_TAG = "mlflow.runName"
#: The tag MLflow uses to record who created a run.
USER_TAG = "mlflow.user"
#: The MLmodel descriptions of the models logged to a run (a JSON list), as MLflow keeps them.
LOG_MODEL_HISTORY_TAG = "mlflow.log-model.history"

DEFAULT_EXPERIMENT_ID = "0"
DEFAULT_EXPERIMENT_NAME = "Default"


class ViewType(enum.Enum):
    ACTIVE_ONLY = 1
    DELETED_ONLY = 2
    ALL = 3

    def stages(self) -> tuple[str, ...]:
        return {
            ViewType.ACTIVE_ONLY: (ACTIVE,),
            ViewType.DELETED_ONLY: (DELETED,),
            ViewType.ALL: (ACTIVE, DELETED),
        }[self]


@dataclass(frozen=True)
class Experiment:
    experiment_id: str
    name: str
    artifact_location: str
    lifecycle_stage: str
    creation_time: int  # ms since the Unix epoch
    last_update_time: int  # ms since the Unix epoch
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Metric:
    key: str
    value: float  # NaN and ±inf allowed
    timestamp: int  # ms since the Unix epoch
    step: int = 0


@dataclass(frozen=True)
class MetricSeries:
    """Points of one metric as parallel lists: point i is (steps[i], timestamps[i], values[i])."""

    steps: list[int]
    timestamps: list[int]  # ms since the Unix epoch
    values: list[float]  # NaN and ±inf allowed


@dataclass(frozen=True)
class Param:
    key: str
    value: str


@dataclass(frozen=True)
class RunTag:
    key: str
    value: str


@dataclass(frozen=True)
class RunInfo:
    run_id: str
    experiment_id: str
    run_name: str
    user_id: str
    status: str  # one of RUN_STATUSES
    start_time: int  # ms since the Unix epoch
    end_time: int | None
    artifact_uri: str
    lifecycle_stage: str


@dataclass(frozen=True)
class Run:
    info: RunInfo
    metrics: Sequence[Metric] = ()  # the latest value of each key
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a listing; `next_page_token` is empty on the last page."""

    items: Sequence[T]
    next_page_token: str = ""
