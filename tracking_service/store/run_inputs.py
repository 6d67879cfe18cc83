"""Datasets and LoggedModels as inputs and outputs of runs (MLflow's LogInputs / LogOutputs),
and the `datasets.*` conditions of SearchRuns. Portable SQLAlchemy, bound parameters only."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import Connection, insert, select

from mlgrpc_server.errors import NotFound
from tracking_service.logged_model_domain import (
    Dataset,
    DatasetInput,
    ModelIo,
    RunIo,
)
from tracking_service.store import validation as v
from tracking_service.store.base import StoreBase
from tracking_service.store.logged_model_tables import (
    MODEL_INPUT,
    MODEL_OUTPUT,
    DatasetRow,
    LoggedModelRow,
    RunDatasetInputRow,
    RunInputTagRow,
    RunModelIoRow,
)
from tracking_service.store.logged_models import check_model_id

MAX_DATASETS_PER_CALL = 1000
MAX_DATASET_NAME_LENGTH = 500
MAX_DATASET_DIGEST_LENGTH = 36
MAX_SOURCE_TYPE_LENGTH = 36
MAX_DATASET_TEXT_LENGTH = 16 * 1024 * 1024  # source, schema, profile (MEDIUMTEXT on MySQL)
MAX_INPUT_TAG_KEY_LENGTH = 255
MAX_INPUT_TAG_VALUE_LENGTH = 500


def _check_dataset_input(item: DatasetInput, index: int) -> DatasetInput:
    field = f"datasets[{index}]"
    d = item.dataset
    v.check_string(d.name, f"{field}.dataset.name", MAX_DATASET_NAME_LENGTH, allow_empty=False)
    v.check_string(
        d.digest, f"{field}.dataset.digest", MAX_DATASET_DIGEST_LENGTH, allow_empty=False
    )
    v.check_string(
        d.source_type, f"{field}.dataset.source_type", MAX_SOURCE_TYPE_LENGTH, allow_empty=False
    )
    v.check_string(d.source, f"{field}.dataset.source", MAX_DATASET_TEXT_LENGTH, allow_empty=False)
    v.check_string(d.schema, f"{field}.dataset.schema", MAX_DATASET_TEXT_LENGTH)
    v.check_string(d.profile, f"{field}.dataset.profile", MAX_DATASET_TEXT_LENGTH)
    for key, value in item.tags.items():
        v.check_string(key, f"{field}.tags.key", MAX_INPUT_TAG_KEY_LENGTH, allow_empty=False)
        v.check_string(value, f"{field}.tags.value", MAX_INPUT_TAG_VALUE_LENGTH)
    return item


class RunInputStore(StoreBase):
    def log_inputs(
        self,
        run_id: str,
        datasets: Sequence[DatasetInput] = (),
        models: Sequence[ModelIo] = (),
    ) -> None:
        v.check_count(len(datasets), MAX_DATASETS_PER_CALL, "datasets")
        checked = [_check_dataset_input(item, i) for i, item in enumerate(datasets)]
        model_ids = [
            check_model_id(m.model_id, f"models[{i}].model_id") for i, m in enumerate(models)
        ]

        def work(connection: Connection) -> None:
            info = self.fetch_run_info(connection, run_id, for_write=True)
            experiment_id = int(info.experiment_id)
            for item in checked:
                dataset_uuid = _dataset_uuid(connection, experiment_id, item.dataset)
                used = connection.execute(
                    select(RunDatasetInputRow.run_uuid).where(
                        RunDatasetInputRow.run_uuid == run_id,
                        RunDatasetInputRow.dataset_uuid == dataset_uuid,
                    )
                ).first()
                if used is not None:
                    continue  # logged before: MLflow keeps the first use's tags
                connection.execute(
                    insert(RunDatasetInputRow).values(run_uuid=run_id, dataset_uuid=dataset_uuid)
                )
                if item.tags:
                    connection.execute(
                        insert(RunInputTagRow),
                        [
                            {"run_uuid": run_id, "dataset_uuid": dataset_uuid, "key": k, "value": x}
                            for k, x in item.tags.items()
                        ],
                    )
            _link_models(connection, run_id, [(m, 0) for m in model_ids], MODEL_INPUT)

        self.write("log_inputs", work)

    def log_outputs(self, run_id: str, models: Sequence[ModelIo]) -> None:
        outputs = [
            (check_model_id(m.model_id, f"models[{i}].model_id"), m.step)
            for i, m in enumerate(models)
        ]

        def work(connection: Connection) -> None:
            self.fetch_run_info(connection, run_id, for_write=True)
            _link_models(connection, run_id, outputs, MODEL_OUTPUT)

        self.write("log_outputs", work)

    def get_run_io(self, run_id: str) -> RunIo:
        """The datasets and models the run used and produced (in the order they were logged
        is not kept: datasets by name, models by id)."""

        def work(connection: Connection) -> RunIo:
            self.fetch_run_info(connection, run_id)
            d = DatasetRow
            rows = connection.execute(
                select(d.__table__)
                .join(RunDatasetInputRow, RunDatasetInputRow.dataset_uuid == d.dataset_uuid)
                .where(RunDatasetInputRow.run_uuid == run_id)
                .order_by(d.name, d.digest)
            )
            datasets = {
                row.dataset_uuid: Dataset(
                    name=row.name,
                    digest=row.digest,
                    source_type=row.source_type,
                    source=row.source,
                    schema=row.dataset_schema,
                    profile=row.profile,
                )
                for row in rows
            }
            tags: dict[str, dict[str, str]] = {key: {} for key in datasets}
            for dataset_uuid, key, value in connection.execute(
                select(RunInputTagRow.dataset_uuid, RunInputTagRow.key, RunInputTagRow.value)
                .where(RunInputTagRow.run_uuid == run_id)
                .order_by(RunInputTagRow.key)
            ):
                tags.setdefault(dataset_uuid, {})[key] = value
            inputs, outputs = [], []
            for model_id, direction, step in connection.execute(
                select(RunModelIoRow.model_id, RunModelIoRow.direction, RunModelIoRow.step)
                .where(RunModelIoRow.run_uuid == run_id)
                .order_by(RunModelIoRow.model_id)
            ):
                target = inputs if direction == MODEL_INPUT else outputs
                target.append(ModelIo(model_id, step))
            return RunIo(
                dataset_inputs=[DatasetInput(ds, tags[key]) for key, ds in datasets.items()],
                model_inputs=inputs,
                model_outputs=outputs,
            )

        return self.read(work)


def _dataset_uuid(connection: Connection, experiment_id: int, dataset: Dataset) -> str:
    """The id of the experiment's dataset (name, digest), created on first use."""
    found = connection.execute(
        select(DatasetRow.dataset_uuid).where(
            DatasetRow.experiment_id == experiment_id,
            DatasetRow.name == dataset.name,
            DatasetRow.digest == dataset.digest,
        )
    ).scalar()
    if found is not None:
        return str(found)
    dataset_uuid = uuid.uuid4().hex
    connection.execute(
        insert(DatasetRow).values(
            dataset_uuid=dataset_uuid,
            experiment_id=experiment_id,
            name=dataset.name,
            digest=dataset.digest,
            source_type=dataset.source_type,
            source=dataset.source,
            dataset_schema=dataset.schema,
            profile=dataset.profile,
        )
    )
    return dataset_uuid


def _link_models(
    connection: Connection, run_id: str, models: list[tuple[str, int]], direction: str
) -> None:
    wanted = dict(models)
    if not wanted:
        return
    found = set(
        connection.execute(
            select(LoggedModelRow.model_id).where(LoggedModelRow.model_id.in_(list(wanted)))
        ).scalars()
    )
    for index, (model_id, _) in enumerate(models):
        if model_id not in found:
            raise NotFound(
                f"logged model {model_id!r} does not exist", field=f"models[{index}].model_id"
            )
    linked = set(
        connection.execute(
            select(RunModelIoRow.model_id).where(
                RunModelIoRow.run_uuid == run_id,
                RunModelIoRow.direction == direction,
                RunModelIoRow.model_id.in_(list(wanted)),
            )
        ).scalars()
    )
    new = [
        {"run_uuid": run_id, "model_id": m, "direction": direction, "step": step}
        for m, step in wanted.items()
        if m not in linked
    ]
    if new:
        connection.execute(insert(RunModelIoRow), new)
