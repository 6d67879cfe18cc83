"""Datasets and LoggedModels as inputs and outputs of runs (MLflow's LogInputs / LogOutputs),
and the `datasets.*` conditions of SearchRuns. Portable SQLAlchemy, bound parameters only."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import Connection, insert, select

from mlgrpc_server.errors import NotFound
from tracking_service.logged_model_domain import (
    Dataset,
    DatasetInput,
    ModelIo,
    RunIo,
)
from tracking_service.store import rules
from tracking_service.store.portable.base import StoreBase
from tracking_service.store.portable.logged_model_tables import (
    MODEL_INPUT,
    MODEL_OUTPUT,
    DatasetRow,
    LoggedModelRow,
    RunDatasetInputRow,
    RunInputTagRow,
    RunModelIoRow,
)


class RunInputStore(StoreBase):
    def log_inputs(
        self,
        run_id: str,
        datasets: Sequence[DatasetInput] = (),
        models: Sequence[ModelIo] = (),
    ) -> None:
        rules.check_count(len(datasets), rules.MAX_DATASETS_PER_CALL, "datasets")
        checked = [rules.check_dataset_input(item, i) for i, item in enumerate(datasets)]
        model_ids = [
            rules.check_model_id(m.model_id, f"models[{i}].model_id") for i, m in enumerate(models)
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
            (rules.check_model_id(m.model_id, f"models[{i}].model_id"), m.step)
            for i, m in enumerate(models)
        ]

        def work(connection: Connection) -> None:
            self.fetch_run_info(connection, run_id, for_write=True)
            _link_models(connection, run_id, outputs, MODEL_OUTPUT)

        self.write("log_outputs", work)

    def get_run_io(self, run_id: str) -> RunIo:
        """The datasets and models the run used and produced (datasets by name, models by id:
        the order they were logged in is not kept)."""

        def work(connection: Connection) -> RunIo:
            self.fetch_run_info(connection, run_id)
            return load_runs_io(connection, [run_id]).get(run_id, RunIo())

        return self.read(work)

    def get_runs_io(self, run_ids: Sequence[str]) -> dict[str, RunIo]:
        """get_run_io of many runs (a page of SearchRuns), by run id; runs without any are
        left out."""
        return self.read(lambda connection: load_runs_io(connection, run_ids))


#: Run ids per IN list: far below every backend's bound-parameter limit.
_IDS_PER_QUERY = 1000


def load_runs_io(connection: Connection, run_ids: Sequence[str]) -> dict[str, RunIo]:
    """What each of `run_ids` used and produced, by run id; runs that used and produced
    nothing are left out."""
    ids = list(dict.fromkeys(run_ids))
    datasets: dict[str, dict[str, Dataset]] = defaultdict(dict)
    tags: dict[tuple[str, str], dict[str, str]] = defaultdict(dict)
    models: dict[str, tuple[list[ModelIo], list[ModelIo]]] = defaultdict(lambda: ([], []))
    d = DatasetRow
    for start in range(0, len(ids), _IDS_PER_QUERY):
        chunk = ids[start : start + _IDS_PER_QUERY]
        for row in connection.execute(
            select(RunDatasetInputRow.run_uuid, d.__table__)
            .join(d, RunDatasetInputRow.dataset_uuid == d.dataset_uuid)
            .where(RunDatasetInputRow.run_uuid.in_(chunk))
            .order_by(d.name, d.digest)
        ):
            datasets[row.run_uuid][row.dataset_uuid] = Dataset(
                name=row.name,
                digest=row.digest,
                source_type=row.source_type,
                source=row.source,
                schema=row.dataset_schema,
                profile=row.profile,
            )
        t = RunInputTagRow
        for run_uuid, dataset_uuid, key, value in connection.execute(
            select(t.run_uuid, t.dataset_uuid, t.key, t.value)
            .where(t.run_uuid.in_(chunk))
            .order_by(t.key)
        ):
            tags[(run_uuid, dataset_uuid)][key] = value
        m = RunModelIoRow
        for run_uuid, model_id, direction, step in connection.execute(
            select(m.run_uuid, m.model_id, m.direction, m.step)
            .where(m.run_uuid.in_(chunk))
            .order_by(m.model_id)
        ):
            inputs, outputs = models[run_uuid]
            (inputs if direction == MODEL_INPUT else outputs).append(ModelIo(model_id, step))
    out = {}
    for run_id in ids:
        if run_id not in datasets and run_id not in models:
            continue
        inputs, outputs = models.get(run_id, ([], []))
        used = [
            DatasetInput(dataset, tags.get((run_id, dataset_uuid), {}))
            for dataset_uuid, dataset in datasets.get(run_id, {}).items()
        ]
        out[run_id] = RunIo(dataset_inputs=used, model_inputs=inputs, model_outputs=outputs)
    return out


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
