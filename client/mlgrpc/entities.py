"""Typed, immutable entities the client returns (never protobuf), shaped like MLflow's.

`from_proto` takes the wire message duck-typed, so this module imports no generated code.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

#: Proto RunStatus numbers → MLflow's status names (index = enum number).
RUN_STATUS_NAMES = ("UNSPECIFIED", "RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED")
TERMINAL_STATUSES = frozenset({"FINISHED", "FAILED", "KILLED"})


class RunStatus:
    """MLflow's `RunStatus`: names as strings, plus conversions to the wire numbers."""

    RUNNING = "RUNNING"
    SCHEDULED = "SCHEDULED"
    FINISHED = "FINISHED"
    FAILED = "FAILED"
    KILLED = "KILLED"

    @staticmethod
    def to_number(status: str | int) -> int:
        if isinstance(status, int):
            return status
        try:
            return RUN_STATUS_NAMES.index(str(status).upper().removeprefix("RUN_STATUS_"))
        except ValueError:
            raise ValueError(
                f"unknown run status {status!r}; expected one of {RUN_STATUS_NAMES[1:]}"
            ) from None

    @staticmethod
    def to_name(number: int) -> str:
        return RUN_STATUS_NAMES[number] if 0 <= number < len(RUN_STATUS_NAMES) else str(number)

    @staticmethod
    def is_terminated(status: str) -> bool:
        return status in TERMINAL_STATUSES


class ViewType:
    """MLflow's `ViewType`; the numbers equal `mlgrpc.common.v1.ViewType`."""

    ACTIVE_ONLY = 1
    DELETED_ONLY = 2
    ALL = 3


class LifecycleStage:
    ACTIVE = "active"
    DELETED = "deleted"


@dataclass(frozen=True)
class Metric:
    key: str
    value: float
    timestamp: int
    step: int = 0
    #: The LoggedModel the value is about (MLflow 3), and the dataset it was computed on; "" for
    #: none. A value with a model is also listed in that model's metrics.
    model_id: str = ""
    dataset_name: str = ""
    dataset_digest: str = ""

    @classmethod
    def from_proto(cls, m: Any) -> Metric:
        return cls(
            key=m.key,
            value=m.value,
            timestamp=m.timestamp,
            step=m.step,
            model_id=m.model_id,
            dataset_name=m.dataset_name,
            dataset_digest=m.dataset_digest,
        )


@dataclass(frozen=True)
class Param:
    key: str
    value: str

    @classmethod
    def from_proto(cls, p: Any) -> Param:
        return cls(key=p.key, value=p.value)


@dataclass(frozen=True)
class RunTag:
    key: str
    value: str

    @classmethod
    def from_proto(cls, t: Any) -> RunTag:
        return cls(key=t.key, value=t.value)


@dataclass(frozen=True)
class ExperimentTag:
    key: str
    value: str


@dataclass(frozen=True)
class Experiment:
    experiment_id: str
    name: str
    artifact_location: str
    lifecycle_stage: str
    last_update_time: int | None = None
    creation_time: int | None = None
    tags: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_proto(cls, e: Any) -> Experiment:
        return cls(
            experiment_id=e.experiment_id,
            name=e.name,
            artifact_location=e.artifact_location,
            lifecycle_stage=e.lifecycle_stage,
            last_update_time=e.last_update_time or None,
            creation_time=e.creation_time or None,
            tags={t.key: t.value for t in e.tags},
        )


@dataclass(frozen=True)
class RunInfo:
    run_id: str
    experiment_id: str
    run_name: str
    user_id: str
    status: str
    start_time: int | None
    end_time: int | None
    artifact_uri: str
    lifecycle_stage: str

    @property
    def run_uuid(self) -> str:
        """MLflow's older name of `run_id`."""
        return self.run_id

    @classmethod
    def from_proto(cls, i: Any) -> RunInfo:
        return cls(
            run_id=i.run_id,
            experiment_id=i.experiment_id,
            run_name=i.run_name,
            user_id=i.user_id,
            status=RunStatus.to_name(i.status),
            start_time=i.start_time or None,
            end_time=i.end_time if i.HasField("end_time") else None,
            artifact_uri=i.artifact_uri,
            lifecycle_stage=i.lifecycle_stage,
        )


@dataclass(frozen=True)
class RunData:
    """Like MLflow: `metrics` maps each key to its latest value; `params` and `tags` are dicts."""

    metrics: dict[str, float] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    #: The latest Metric of each key, with its step and timestamp.
    metric_objs: tuple[Metric, ...] = ()

    @classmethod
    def from_proto(cls, d: Any) -> RunData:
        metric_objs = tuple(Metric.from_proto(m) for m in d.metrics)
        return cls(
            metrics={m.key: m.value for m in metric_objs},
            params={p.key: p.value for p in d.params},
            tags={t.key: t.value for t in d.tags},
            metric_objs=metric_objs,
        )


@dataclass(frozen=True)
class Dataset:
    """A dataset as `mlflow.data` describes it (source, schema and profile are JSON text)."""

    name: str
    digest: str
    source_type: str
    source: str
    schema: str = ""
    profile: str = ""

    @classmethod
    def from_proto(cls, d: Any) -> Dataset:
        return cls(d.name, d.digest, d.source_type, d.source, d.schema, d.profile)


@dataclass(frozen=True)
class DatasetInput:
    """A dataset a run used, with the tags of that use (e.g. mlflow.data.context=training)."""

    dataset: Dataset
    tags: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_proto(cls, i: Any) -> DatasetInput:
        return cls(Dataset.from_proto(i.dataset), {t.key: t.value for t in i.tags})


@dataclass(frozen=True)
class ModelInput:
    """A LoggedModel a run used."""

    model_id: str


@dataclass(frozen=True)
class ModelOutput:
    """A LoggedModel a run produced, at a training step."""

    model_id: str
    step: int = 0


@dataclass(frozen=True)
class RunInputs:
    """What a run used (MLflow's `run.inputs`)."""

    dataset_inputs: list[DatasetInput] = field(default_factory=list)
    model_inputs: list[ModelInput] = field(default_factory=list)

    @classmethod
    def from_proto(cls, i: Any) -> RunInputs:
        return cls(
            [DatasetInput.from_proto(d) for d in i.dataset_inputs],
            [ModelInput(m.model_id) for m in i.model_inputs],
        )


@dataclass(frozen=True)
class RunOutputs:
    """What a run produced (MLflow's `run.outputs`)."""

    model_outputs: list[ModelOutput] = field(default_factory=list)

    @classmethod
    def from_proto(cls, o: Any) -> RunOutputs:
        return cls([ModelOutput(m.model_id, m.step) for m in o.model_outputs])


@dataclass(frozen=True)
class Run:
    info: RunInfo
    data: RunData
    #: Datasets and models the run used, and models it produced (GetRun fills them; a search
    #: page leaves them empty, as MLflow's search_runs does for models).
    inputs: RunInputs = field(default_factory=RunInputs)
    outputs: RunOutputs = field(default_factory=RunOutputs)

    @classmethod
    def from_proto(cls, r: Any) -> Run:
        return cls(
            info=RunInfo.from_proto(r.info),
            data=RunData.from_proto(r.data),
            inputs=RunInputs.from_proto(r.inputs),
            outputs=RunOutputs.from_proto(r.outputs),
        )


@dataclass(frozen=True)
class FileInfo:
    """An entry of an artifact listing; `file_size` is None for directories, like MLflow."""

    path: str
    is_dir: bool
    file_size: int | None

    @classmethod
    def from_proto(cls, f: Any) -> FileInfo:
        return cls(path=f.path, is_dir=f.is_dir, file_size=None if f.is_dir else f.file_size)


T = TypeVar("T")


class PagedList(list[T], Generic[T]):
    """One page of results; `token` fetches the next page (None on the last one), as in MLflow."""

    def __init__(self, items: Iterable[T], token: str | None) -> None:
        super().__init__(items)
        self.token = token or None


def runs_to_dataframe(runs: Sequence[Run]) -> Any:
    """MLflow's search_runs DataFrame: info columns, then metrics.*, params.*, tags.* (sorted)."""
    import pandas as pd

    info_columns = ["run_id", "experiment_id", "status", "artifact_uri", "start_time", "end_time"]
    metric_keys = sorted({k for r in runs for k in r.data.metrics})
    param_keys = sorted({k for r in runs for k in r.data.params})
    tag_keys = sorted({k for r in runs for k in r.data.tags})
    columns: dict[str, list[Any]] = {
        "run_id": [r.info.run_id for r in runs],
        "experiment_id": [r.info.experiment_id for r in runs],
        "status": [r.info.status for r in runs],
        "artifact_uri": [r.info.artifact_uri for r in runs],
        "start_time": pd.to_datetime([r.info.start_time for r in runs], unit="ms", utc=True),
        "end_time": pd.to_datetime([r.info.end_time for r in runs], unit="ms", utc=True),
    }
    for key in metric_keys:
        columns[f"metrics.{key}"] = [r.data.metrics.get(key, float("nan")) for r in runs]
    for key in param_keys:
        columns[f"params.{key}"] = [r.data.params.get(key) for r in runs]
    for key in tag_keys:
        columns[f"tags.{key}"] = [r.data.tags.get(key) for r in runs]
    if not runs:
        return pd.DataFrame(columns=info_columns)
    return pd.DataFrame(columns)
