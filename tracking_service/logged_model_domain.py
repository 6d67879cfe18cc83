"""Entities of LoggedModels, datasets and run inputs/outputs: frozen dataclasses, as `domain`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

#: A LoggedModel's statuses, as MLflow names them (without the `LOGGED_MODEL_` prefix).
PENDING = "PENDING"
READY = "READY"
FAILED = "FAILED"
LOGGED_MODEL_STATUSES = (PENDING, READY, FAILED)

#: The input tag MLflow sets on a dataset input to say what it was used for ("training", …).
DATASET_CONTEXT_TAG = "mlflow.data.context"


@dataclass(frozen=True)
class LoggedModelMetric:
    key: str
    value: float  # NaN and ±inf allowed
    timestamp: int  # ms since the Unix epoch
    step: int
    run_id: str
    dataset_name: str = ""
    dataset_digest: str = ""


@dataclass(frozen=True)
class LoggedModel:
    model_id: str  # "m-" + 32 hex characters
    experiment_id: str
    name: str
    artifact_location: str
    status: str  # one of LOGGED_MODEL_STATUSES
    creation_timestamp_ms: int
    last_updated_timestamp_ms: int
    source_run_id: str = ""
    status_message: str = ""
    model_type: str = ""
    lifecycle_stage: str = "active"
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    metrics: Sequence[LoggedModelMetric] = ()


@dataclass(frozen=True)
class Dataset:
    name: str
    digest: str
    source_type: str
    source: str
    schema: str = ""
    profile: str = ""


@dataclass(frozen=True)
class DatasetInput:
    dataset: Dataset
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ModelIo:
    """A LoggedModel a run used (step 0) or produced (at `step`)."""

    model_id: str
    step: int = 0


@dataclass(frozen=True)
class RunIo:
    """What a run used and produced."""

    dataset_inputs: Sequence[DatasetInput] = ()
    model_inputs: Sequence[ModelIo] = ()
    model_outputs: Sequence[ModelIo] = ()


@dataclass(frozen=True)
class LoggedModelDatasetFilter:
    """A dataset whose metric values SearchLoggedModels considers; digest "" means any."""

    dataset_name: str
    dataset_digest: str = ""


@dataclass(frozen=True)
class LoggedModelOrder:
    """One order clause of SearchLoggedModels."""

    field_name: str
    ascending: bool = False
    dataset_name: str = ""
    dataset_digest: str = ""
