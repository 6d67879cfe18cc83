"""MLflow's REST JSON ↔ our protos for LoggedModels, datasets and run inputs/outputs (MLflow 3):
field names, enum spellings and the proxied artifact URI of a model, in one place."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gateway.errors import RequestError
from mlgrpc.tracking.v1 import logged_models_pb2 as lm

Json = dict[str, Any]

#: Our LoggedModelStatus → MLflow's spelling (its FAILED is LOGGED_MODEL_UPLOAD_FAILED).
STATUS_NAMES = {
    lm.LOGGED_MODEL_STATUS_PENDING: "LOGGED_MODEL_PENDING",
    lm.LOGGED_MODEL_STATUS_READY: "LOGGED_MODEL_READY",
    lm.LOGGED_MODEL_STATUS_FAILED: "LOGGED_MODEL_UPLOAD_FAILED",
}
STATUS_VALUES = {name: value for value, name in STATUS_NAMES.items()}
#: MLflow's enum numbers of LoggedModelStatus, which protobuf's JSON mapping also accepts.
_MLFLOW_NUMBERS = {
    1: lm.LOGGED_MODEL_STATUS_PENDING,
    2: lm.LOGGED_MODEL_STATUS_READY,
    3: lm.LOGGED_MODEL_STATUS_FAILED,
}


def status_of(body: Mapping[str, Any], name: str = "status") -> int:
    value = body.get(name)
    if isinstance(value, str) and value in STATUS_VALUES:
        return STATUS_VALUES[value]
    if isinstance(value, int) and not isinstance(value, bool) and value in _MLFLOW_NUMBERS:
        return _MLFLOW_NUMBERS[value]
    if value is None or value == "":
        return lm.LOGGED_MODEL_STATUS_UNSPECIFIED  # the service names the missing field
    raise RequestError(f"Invalid value {value!r} for parameter '{name}' supplied.")


def proxied_model_artifact_uri(experiment_id: str, model_id: str) -> str:
    """The model's artifact root as MLflow's server shows it when it proxies artifacts (the
    gateway's artifact proxy serves `<experiment id>/models/<model id>/artifacts/…`)."""
    return f"mlflow-artifacts:/{experiment_id}/models/{model_id}/artifacts"


def _key_values(items: Any) -> list[Json]:
    return [{"key": item.key, "value": item.value} for item in items]


def _without_empty(data: Json) -> Json:
    return {key: value for key, value in data.items() if value not in ("", [], None, {})}


def logged_model_json(model: lm.LoggedModel) -> Json:
    from gateway.convert import json_double  # one spelling of NaN/±inf

    info = _without_empty(
        {
            "model_id": model.model_id,
            "experiment_id": model.experiment_id,
            "name": model.name,
            "creation_timestamp_ms": model.creation_timestamp_ms,
            "last_updated_timestamp_ms": model.last_updated_timestamp_ms,
            "artifact_uri": proxied_model_artifact_uri(model.experiment_id, model.model_id),
            "status": STATUS_NAMES.get(model.status, "LOGGED_MODEL_STATUS_UNSPECIFIED"),
            "model_type": model.model_type,
            "source_run_id": model.source_run_id,
            "status_message": model.status_message,
            "tags": _key_values(model.tags),
        }
    )
    metrics = [
        _without_empty(
            {
                "key": metric.key,
                "value": json_double(metric.value),
                "timestamp": metric.timestamp,
                "step": metric.step,
                "dataset_name": metric.dataset_name,
                "dataset_digest": metric.dataset_digest,
                "model_id": model.model_id,
                "run_id": metric.run_id,
            }
        )
        | {"step": metric.step, "timestamp": metric.timestamp}
        for metric in model.metrics
    ]
    data = _without_empty({"params": _key_values(model.params), "metrics": metrics})
    return {"info": info, "data": data}


def run_inputs_json(inputs: lm.RunInputs) -> Json:
    datasets = [
        _without_empty(
            {
                "tags": _key_values(item.tags),
                "dataset": _without_empty(
                    {
                        "name": item.dataset.name,
                        "digest": item.dataset.digest,
                        "source_type": item.dataset.source_type,
                        "source": item.dataset.source,
                        "schema": item.dataset.schema,
                        "profile": item.dataset.profile,
                    }
                ),
            }
        )
        for item in inputs.dataset_inputs
    ]
    models = [{"model_id": model.model_id} for model in inputs.model_inputs]
    return _without_empty({"dataset_inputs": datasets, "model_inputs": models})


def run_outputs_json(outputs: lm.RunOutputs) -> Json:
    models = [{"model_id": m.model_id, "step": m.step} for m in outputs.model_outputs]
    return _without_empty({"model_outputs": models})
