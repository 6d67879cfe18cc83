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


_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_PLAIN_METRIC_FIELDS = frozenset(("key", "value", "timestamp", "step"))


def add_metrics(target: Any, items: list[Mapping[str, Any]]) -> None:
    """Append MLflow's metric objects to a repeated Metric field (a log_batch of 1,000)."""
    add = target.add
    for item in items:
        # What MLflow's client sends: a key, a float value, int timestamp and step, nothing
        # else, all in range; anything else is read field by field by `set_metric`.
        key, value = item.get("key"), item.get("value")
        timestamp, step = item.get("timestamp"), item.get("step", 0)
        if (
            type(key) is str
            and key
            and key.isascii()
            and type(value) is float
            and type(timestamp) is int
            and type(step) is int
            and _INT64_MIN <= timestamp <= _INT64_MAX
            and _INT64_MIN <= step <= _INT64_MAX
            and item.keys() <= _PLAIN_METRIC_FIELDS
        ):
            add(key=key, value=value, timestamp=timestamp, step=step)
        else:
            set_metric(add(), item)


def set_metric(metric: pb.Metric, item: Mapping[str, Any]) -> None:
    """Fill `metric` from one of MLflow's metric objects, each field checked."""
    metric.key = required_str(item, "key")
    metric.value = required_double(item, "value")
    # MLflow 3 links a value to a LoggedModel and a dataset.
    metric.model_id = optional_str(item, "model_id")
    metric.dataset_name = optional_str(item, "dataset_name")
    metric.dataset_digest = optional_str(item, "dataset_digest")
    metric.timestamp = required_int(item, "timestamp")  # required by MLflow's server
    metric.step = optional_int(item, "step") or 0


def params_of(body: Mapping[str, Any]) -> list[pb.Param]:
    return [
        pb.Param(key=required_str(item, "key"), value=optional_str(item, "value"))
        for item in object_list(body, "params")
    ]


# --- writing MLflow's response shapes --------------------------------------------------------


def json_double(value: float) -> float | str:
    if value - value == 0.0:  # finite (NaN and ±inf give NaN): the common case, one test
        return value
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


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
    # Built field by field (a page has 1,000 of them): unset strings left out, as MLflow does,
    # but `user_id` shown even when empty (a run created without a user), as MLflow's server
    # (then last, where its JSON has it).
    run_id, experiment_id = info.run_id, info.experiment_id
    shown: Json = {}
    if run_id:
        shown["run_uuid"] = run_id  # MLflow still writes the deprecated twin of run_id
    if experiment_id:
        shown["experiment_id"] = experiment_id
    if run_name := info.run_name:
        shown["run_name"] = run_name
    if user_id := info.user_id:
        shown["user_id"] = user_id
    shown["status"] = RUN_STATUS_NAMES.get(info.status, "RUNNING")
    shown["start_time"] = info.start_time
    if info.HasField("end_time"):
        shown["end_time"] = info.end_time
    shown["artifact_uri"] = proxied_artifact_uri(experiment_id, run_id)
    if lifecycle_stage := info.lifecycle_stage:
        shown["lifecycle_stage"] = lifecycle_stage
    if run_id:
        shown["run_id"] = run_id
    if not user_id:
        shown["user_id"] = ""
    return shown


def metric_json(metric: pb.Metric) -> Json:
    return {
        "key": metric.key,
        "value": json_double(metric.value),
        "timestamp": metric.timestamp,
        "step": metric.step,
    }


def run_json(run: pb.Run) -> Json:
    data: Json = {}
    run_data = run.data
    if metrics := run_data.metrics:
        data["metrics"] = [
            {
                "key": metric.key,
                "value": value if (value := metric.value) - value == 0.0 else json_double(value),
                "timestamp": metric.timestamp,
                "step": metric.step,
            }
            for metric in metrics
        ]
    if params := run_data.params:
        data["params"] = _key_values(params)
    if tags := run_data.tags:
        data["tags"] = _key_values(tags)
    return {
        "info": run_info_json(run.info),
        "data": data,
        # Most runs have no inputs or outputs: the submessage is then not even set.
        "inputs": run_inputs_json(run.inputs) if run.HasField("inputs") else {},
        "outputs": run_outputs_json(run.outputs) if run.HasField("outputs") else {},
    }


def file_info_json(file: pb.FileInfo) -> Json:
    """MLflow's FileInfo: a directory has no file_size."""
    if file.is_dir:
        return {"path": file.path, "is_dir": True}
    return {"path": file.path, "is_dir": False, "file_size": file.file_size}


def page_json(name: str, items: list[Json], next_page_token: str) -> Json:
    return _without_empty({name: items, "next_page_token": next_page_token})
