"""Explicit converters between the wire (protobuf) and the domain (frozen dataclasses)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from mlgrpc.common.v1 import common_pb2
from mlgrpc.tracking.v1 import tracking_service_pb2 as pb
from mlgrpc_server.errors import InvalidArgument
from tracking_service import domain
from tracking_service.artifacts.interface import FileEntry

_STATUS_PREFIX = "RUN_STATUS_"
#: RunStatus value → MLflow's status string ("RUNNING", …); UNSPECIFIED is not in it.
STATUS_NAMES: dict[int, str] = {
    value: name.removeprefix(_STATUS_PREFIX)
    for name, value in pb.RunStatus.items()
    if value != pb.RUN_STATUS_UNSPECIFIED
}
STATUS_VALUES: dict[str, int] = {name: value for value, name in STATUS_NAMES.items()}

_VIEW_TYPES = {
    common_pb2.VIEW_TYPE_UNSPECIFIED: domain.ViewType.ACTIVE_ONLY,
    common_pb2.VIEW_TYPE_ACTIVE_ONLY: domain.ViewType.ACTIVE_ONLY,
    common_pb2.VIEW_TYPE_DELETED_ONLY: domain.ViewType.DELETED_ONLY,
    common_pb2.VIEW_TYPE_ALL: domain.ViewType.ALL,
}


def status_from_proto(value: int, *, field: str = "status") -> str | None:
    """MLflow's status string of a RunStatus; None for UNSPECIFIED; InvalidArgument if unknown."""
    if value == pb.RUN_STATUS_UNSPECIFIED:
        return None
    name = STATUS_NAMES.get(value)
    if name is None:
        raise InvalidArgument(
            f"{field} {value} is not a RunStatus; use one of {', '.join(pb.RunStatus.keys())}",
            field=field,
        )
    return name


def view_type_from_proto(value: int, *, field: str = "view_type") -> domain.ViewType:
    view_type = _VIEW_TYPES.get(value)
    if view_type is None:
        raise InvalidArgument(
            f"{field} {value} is not a ViewType; use one of "
            f"{', '.join(common_pb2.ViewType.keys())}",
            field=field,
        )
    return view_type


def checked_name(value: str, field: str) -> str:
    """An experiment or run name, or an artifact location: no control characters.

    Keys are held to MLflow's charset by the store; names may be any text, but a NUL, a newline
    or an escape sequence in a name shown by CLIs and UIs is a mistake or an attack.
    """
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise InvalidArgument(
            f"{field} {value[:100]!r} contains a control character; remove it", field=field
        )
    return value


# Encoders fill a message in place (`repeated.add(...)`, attribute sets): with upb this is about
# three times faster than building each sub-message and passing lists to constructors, which
# matters for a page of 1,000 runs or a history of 25,000 points.


def fill_experiment(target: pb.Experiment, experiment: domain.Experiment) -> pb.Experiment:
    target.experiment_id = experiment.experiment_id
    target.name = experiment.name
    target.artifact_location = experiment.artifact_location
    target.lifecycle_stage = experiment.lifecycle_stage
    target.last_update_time = experiment.last_update_time
    target.creation_time = experiment.creation_time
    add_tag = target.tags.add
    for key, value in experiment.tags.items():
        add_tag(key=key, value=value)
    return target


def experiment_to_proto(experiment: domain.Experiment) -> pb.Experiment:
    return fill_experiment(pb.Experiment(), experiment)


def fill_run_info(target: pb.RunInfo, info: domain.RunInfo) -> pb.RunInfo:
    target.run_id = info.run_id
    target.experiment_id = info.experiment_id
    target.run_name = info.run_name
    target.user_id = info.user_id
    target.status = STATUS_VALUES.get(info.status, pb.RUN_STATUS_UNSPECIFIED)  # type: ignore[assignment]
    target.start_time = info.start_time
    if info.end_time is not None:
        target.end_time = info.end_time
    target.artifact_uri = info.artifact_uri
    target.lifecycle_stage = info.lifecycle_stage
    return target


def run_info_to_proto(info: domain.RunInfo) -> pb.RunInfo:
    return fill_run_info(pb.RunInfo(), info)


def add_metrics(target: Any, metrics: Iterable[domain.Metric]) -> None:
    """Append metrics to a repeated Metric field."""
    add = target.add
    for m in metrics:
        add(key=m.key, value=m.value, timestamp=m.timestamp, step=m.step)


def add_metric_points(target: Any, key: str, points: Iterable[tuple[float, int, int]]) -> None:
    """Append the (value, timestamp, step) points of metric `key` to a repeated Metric field."""
    add = target.add
    for value, timestamp, step in points:
        add(key=key, value=value, timestamp=timestamp, step=step)


def history_view_is_series(value: int) -> bool:
    """Whether GetMetricHistory's `view` asks for the series; INVALID_ARGUMENT if unknown."""
    if value not in pb.MetricHistoryView.values():
        raise InvalidArgument(
            f"view {value} is not a MetricHistoryView; use one of "
            f"{', '.join(pb.MetricHistoryView.keys())}",
            field="view",
        )
    return value == pb.METRIC_HISTORY_VIEW_SERIES


def fill_metric_series(target: pb.MetricSeries, series: domain.MetricSeries) -> None:
    """Set the three packed columns (each extended from a list in one call, in C)."""
    target.steps.extend(series.steps)
    target.timestamps.extend(series.timestamps)
    target.values.extend(series.values)


def fill_run(target: pb.Run, run: domain.Run) -> pb.Run:
    fill_run_info(target.info, run.info)
    data = target.data
    add_metrics(data.metrics, run.metrics)
    add_param = data.params.add
    for key, value in run.params.items():
        add_param(key=key, value=value)
    add_tag = data.tags.add
    for key, value in run.tags.items():
        add_tag(key=key, value=value)
    return target


def run_to_proto(run: domain.Run) -> pb.Run:
    return fill_run(pb.Run(), run)


def file_entry_to_proto(entry: FileEntry) -> pb.FileInfo:
    return pb.FileInfo(path=entry.path, is_dir=entry.is_dir, file_size=entry.file_size)
