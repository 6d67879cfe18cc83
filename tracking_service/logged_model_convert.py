"""Converters between the wire and the domain for LoggedModels, datasets and run inputs."""

from __future__ import annotations

from mlgrpc.tracking.v1 import logged_models_pb2 as lm
from mlgrpc_server.errors import InvalidArgument
from tracking_service import logged_model_domain as d

STATUS_VALUES = {
    d.PENDING: lm.LOGGED_MODEL_STATUS_PENDING,
    d.READY: lm.LOGGED_MODEL_STATUS_READY,
    d.FAILED: lm.LOGGED_MODEL_STATUS_FAILED,
}
STATUS_NAMES = {value: name for name, value in STATUS_VALUES.items()}


def final_status_from_proto(value: int, field: str = "status") -> str:
    """READY or FAILED; anything else is INVALID_ARGUMENT naming `field`."""
    name = STATUS_NAMES.get(value)
    if name not in (d.READY, d.FAILED):
        raise InvalidArgument(
            f"{field} {value} is not a final LoggedModelStatus; use "
            "LOGGED_MODEL_STATUS_READY or LOGGED_MODEL_STATUS_FAILED",
            field=field,
        )
    return name


def fill_logged_model(target: lm.LoggedModel, model: d.LoggedModel) -> lm.LoggedModel:
    target.model_id = model.model_id
    target.experiment_id = model.experiment_id
    target.name = model.name
    target.creation_timestamp_ms = model.creation_timestamp_ms
    target.last_updated_timestamp_ms = model.last_updated_timestamp_ms
    target.artifact_location = model.artifact_location
    target.status = STATUS_VALUES.get(model.status, lm.LOGGED_MODEL_STATUS_UNSPECIFIED)  # type: ignore[assignment]
    target.status_message = model.status_message
    target.model_type = model.model_type
    target.source_run_id = model.source_run_id
    for key, value in model.tags.items():
        target.tags.add(key=key, value=value)
    for key, value in model.params.items():
        target.params.add(key=key, value=value)
    for metric in model.metrics:
        target.metrics.add(
            key=metric.key,
            value=metric.value,
            timestamp=metric.timestamp,
            step=metric.step,
            run_id=metric.run_id,
            dataset_name=metric.dataset_name,
            dataset_digest=metric.dataset_digest,
        )
    return target


def logged_model_to_proto(model: d.LoggedModel) -> lm.LoggedModel:
    return fill_logged_model(lm.LoggedModel(), model)


def dataset_input_from_proto(message: lm.DatasetInput) -> d.DatasetInput:
    ds = message.dataset
    return d.DatasetInput(
        dataset=d.Dataset(
            name=ds.name,
            digest=ds.digest,
            source_type=ds.source_type,
            source=ds.source,
            schema=ds.schema,
            profile=ds.profile,
        ),
        tags={tag.key: tag.value for tag in message.tags},
    )


def order_from_proto(message: lm.LoggedModelOrderBy) -> d.LoggedModelOrder:
    return d.LoggedModelOrder(
        field_name=message.field_name,
        ascending=message.ascending,
        dataset_name=message.dataset_name,
        dataset_digest=message.dataset_digest,
    )


def dataset_filter_from_proto(message: lm.LoggedModelDatasetFilter) -> d.LoggedModelDatasetFilter:
    return d.LoggedModelDatasetFilter(message.dataset_name, message.dataset_digest)


def fill_run_io(inputs: lm.RunInputs, outputs: lm.RunOutputs, io: d.RunIo) -> None:
    for item in io.dataset_inputs:
        added = inputs.dataset_inputs.add()
        ds = item.dataset
        added.dataset.name = ds.name
        added.dataset.digest = ds.digest
        added.dataset.source_type = ds.source_type
        added.dataset.source = ds.source
        added.dataset.schema = ds.schema
        added.dataset.profile = ds.profile
        for key, value in item.tags.items():
            added.tags.add(key=key, value=value)
    for model in io.model_inputs:
        inputs.model_inputs.add(model_id=model.model_id)
    for model in io.model_outputs:
        outputs.model_outputs.add(model_id=model.model_id, step=model.step)
