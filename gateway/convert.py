"""MLflow's REST JSON ↔ mlgrpc's tracking protos: every field name, enum spelling and default
of the gateway's tracking endpoints, in one place.

Responses are shaped as MLflow's server writes them (`message_to_json` of its protos): proto
field names, int64 as JSON numbers, unset fields and empty lists left out, NaN and ±inf as the
strings "NaN", "Infinity", "-Infinity" (protobuf's JSON mapping; bare NaN is not JSON).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from gateway.errors import RequestError
from gateway.logged_model_convert import run_inputs_json, run_outputs_json
from mlgrpc.common.v1 import common_pb2
from mlgrpc.tracking.v1 import tracking_service_pb2 as pb

Json = dict[str, Any]

RUN_STATUS_NAMES = {
    pb.RUN_STATUS_RUNNING: "RUNNING",
    pb.RUN_STATUS_SCHEDULED: "SCHEDULED",
    pb.RUN_STATUS_FINISHED: "FINISHED",
    pb.RUN_STATUS_FAILED: "FAILED",
    pb.RUN_STATUS_KILLED: "KILLED",
}
RUN_STATUS_VALUES = {name: value for value, name in RUN_STATUS_NAMES.items()}
VIEW_TYPES = {
    "ACTIVE_ONLY": common_pb2.VIEW_TYPE_ACTIVE_ONLY,
    "DELETED_ONLY": common_pb2.VIEW_TYPE_DELETED_ONLY,
    "ALL": common_pb2.VIEW_TYPE_ALL,
}


# --- reading MLflow's request fields ---------------------------------------------------------


def missing(name: str) -> RequestError:
    """MLflow's error for a required field that is absent or empty."""
    return RequestError(
        f"Missing value for required parameter '{name}'. "
        "See the API docs for more information about request parameters."
    )


def required_str(body: Mapping[str, Any], name: str) -> str:
    value = optional_str(body, name)
    if not value:
        raise missing(name)
    return value


def required_int(body: Mapping[str, Any], name: str) -> int:
    value = optional_int(body, name)
    if value is None:
        raise missing(name)
    return value


def optional_str(body: Mapping[str, Any], name: str) -> str:
    value = body.get(name)
    if value is None:
        return ""
    if isinstance(value, bool | dict | list):
        raise RequestError(_invalid(name, value))
    return _text(name, str(value))


def _text(name: str, value: str) -> str:
    """`value` if a proto string can hold it: JSON's escapes allow lone surrogates, UTF-8 not."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise RequestError(_invalid(name, value)) from None
    return value


def run_id_of(body: Mapping[str, Any]) -> str:
    """`run_id`, or the deprecated `run_uuid` MLflow's client still sends beside it."""
    return optional_str(body, "run_id") or required_str(body, "run_uuid")


def optional_int(body: Mapping[str, Any], name: str, bits: int = 64) -> int | None:
    """A signed integer field of `bits` bits (MLflow's are int64, page sizes int32 here): a JSON
    number or, as protobuf's JSON mapping allows, a decimal string."""
    value = body.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or isinstance(value, float) and not value.is_integer():
        raise RequestError(_invalid(name, value))
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        raise RequestError(_invalid(name, value)) from None
    if not -(2 ** (bits - 1)) <= number < 2 ** (bits - 1):
        raise RequestError(_invalid(name, value))
    return number


def required_double(body: Mapping[str, Any], name: str) -> float:
    value = body.get(name)
    if value is None:
        raise missing(name)
    return _double(name, value)


def _double(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise RequestError(_invalid(name, value))
    try:
        return float(value)  # accepts "NaN", "Infinity", "-Infinity" as protobuf's JSON does
    except (ValueError, OverflowError):
        raise RequestError(_invalid(name, value)) from None


def string_list(body: Mapping[str, Any], name: str) -> list[str]:
    value = body.get(name)
    if value is None:
        return []
    if isinstance(value, str):
        return [_text(name, value)]
    if not isinstance(value, list) or not all(
        isinstance(item, str | int) and not isinstance(item, bool) for item in value
    ):
        raise RequestError(_invalid(name, value))
    return [_text(name, str(item)) for item in value]


def object_list(body: Mapping[str, Any], name: str) -> list[Mapping[str, Any]]:
    value = body.get(name)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise RequestError(_invalid(name, value))
    return value


def view_type(body: Mapping[str, Any], name: str) -> int:
    value = body.get(name)
    if value is None or value == "":
        return common_pb2.VIEW_TYPE_ACTIVE_ONLY
    if isinstance(value, int) and not isinstance(value, bool) and value in VIEW_TYPES.values():
        return value
    if isinstance(value, str) and value in VIEW_TYPES:
        return VIEW_TYPES[value]
    raise RequestError(_invalid(name, value))


def run_status(body: Mapping[str, Any], name: str) -> int:
    value = body.get(name)
    if value is None or value == "":
        return pb.RUN_STATUS_UNSPECIFIED
    if isinstance(value, str) and value in RUN_STATUS_VALUES:
        return RUN_STATUS_VALUES[value]
    if isinstance(value, int) and not isinstance(value, bool) and value in RUN_STATUS_NAMES:
        return value
    raise RequestError(_invalid(name, value))


def _invalid(name: str, value: Any) -> str:
    return f"Invalid value {value!r} for parameter '{name}' supplied."


def tags_of(body: Mapping[str, Any], message: type[Any]) -> list[Any]:
    return [
        message(key=required_str(tag, "key"), value=optional_str(tag, "value"))
        for tag in object_list(body, "tags")
    ]


def metric_of(item: Mapping[str, Any]) -> pb.Metric:
    metric = pb.Metric(
        key=required_str(item, "key"),
        value=required_double(item, "value"),
        # MLflow 3 links a value to a LoggedModel and a dataset.
        model_id=optional_str(item, "model_id"),
        dataset_name=optional_str(item, "dataset_name"),
        dataset_digest=optional_str(item, "dataset_digest"),
    )
    metric.timestamp = required_int(item, "timestamp")  # required by MLflow's server
    metric.step = optional_int(item, "step") or 0
    return metric


def params_of(body: Mapping[str, Any]) -> list[pb.Param]:
    return [
        pb.Param(key=required_str(item, "key"), value=optional_str(item, "value"))
        for item in object_list(body, "params")
    ]


# --- writing MLflow's response shapes --------------------------------------------------------


def json_double(value: float) -> float | str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def _key_values(items: Any) -> list[Json]:
    return [{"key": item.key, "value": item.value} for item in items]


def _without_empty(data: Json) -> Json:
    """MLflow's JSON leaves out unset strings and empty lists."""
    return {key: value for key, value in data.items() if value not in ("", [], None)}


def experiment_json(experiment: pb.Experiment) -> Json:
    return _without_empty(
        {
            "experiment_id": experiment.experiment_id,
            "name": experiment.name,
            # The proxied root, as MLflow's server shows it: the runs' roots lie under it.
            "artifact_location": f"mlflow-artifacts:/{experiment.experiment_id}",
            "lifecycle_stage": experiment.lifecycle_stage,
            "last_update_time": experiment.last_update_time,
            "creation_time": experiment.creation_time,
            "tags": _key_values(experiment.tags),
        }
    )


def proxied_artifact_uri(experiment_id: str, run_id: str) -> str:
    """The run's artifact root as MLflow's server shows it when it proxies artifacts: MLflow's
    client then sends the files through the gateway (`gateway.artifact_proxy`) instead of
    writing to a store URI that may not be reachable from where it runs."""
    return f"mlflow-artifacts:/{experiment_id}/{run_id}/artifacts"


def run_info_json(info: pb.RunInfo) -> Json:
    shown = _without_empty(
        {
            "run_uuid": info.run_id,  # MLflow still writes the deprecated twin of run_id
            "experiment_id": info.experiment_id,
            "run_name": info.run_name,
            "user_id": info.user_id,
            "status": RUN_STATUS_NAMES.get(info.status, "RUNNING"),
            "start_time": info.start_time,
            "end_time": info.end_time if info.HasField("end_time") else None,
            "artifact_uri": proxied_artifact_uri(info.experiment_id, info.run_id),
            "lifecycle_stage": info.lifecycle_stage,
            "run_id": info.run_id,
        }
    )
    # MLflow's server shows `user_id` even when empty (a run created without a user).
    return {**shown, "user_id": info.user_id}


def metric_json(metric: pb.Metric) -> Json:
    return {
        "key": metric.key,
        "value": json_double(metric.value),
        "timestamp": metric.timestamp,
        "step": metric.step,
    }


def run_json(run: pb.Run) -> Json:
    data = _without_empty(
        {
            "metrics": [metric_json(metric) for metric in run.data.metrics],
            "params": _key_values(run.data.params),
            "tags": _key_values(run.data.tags),
        }
    )
    return {
        "info": run_info_json(run.info),
        "data": data,
        "inputs": run_inputs_json(run.inputs),
        "outputs": run_outputs_json(run.outputs),
    }


def file_info_json(file: pb.FileInfo) -> Json:
    """MLflow's FileInfo: a directory has no file_size."""
    if file.is_dir:
        return {"path": file.path, "is_dir": True}
    return {"path": file.path, "is_dir": False, "file_size": file.file_size}


def page_json(name: str, items: list[Json], next_page_token: str) -> Json:
    return _without_empty({name: items, "next_page_token": next_page_token})
