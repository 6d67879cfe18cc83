"""Datasets and models as inputs and outputs of runs (SQLite and MariaDB), and SearchRuns'
`datasets.name` / `datasets.digest` / `datasets.context` filters."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from mlgrpc_server.errors import FailedPrecondition, InvalidArgument, NotFound
from tracking_service.logged_model_domain import Dataset, DatasetInput, ModelIo
from tracking_service.store.sql_store import SqlTrackingStore


def wine(digest: str = "abc123", context: str = "training") -> DatasetInput:
    dataset = Dataset(
        name="wine",
        digest=digest,
        source_type="local",
        source='{"uri": "/data/wine.csv"}',
        schema='{"mlflow_colspec": []}',
        profile='{"num_rows": 1599}',
    )
    return DatasetInput(dataset, {"mlflow.data.context": context})


def test_logged_inputs_come_back_with_their_tags(store: SqlTrackingStore, run_id: str) -> None:
    store.log_inputs(run_id, [wine(), wine("def456", "eval")])
    store.log_inputs(run_id, [wine()])  # the same dataset again adds nothing
    io = store.get_run_io(run_id)
    assert [(i.dataset.digest, i.tags) for i in io.dataset_inputs] == [
        ("abc123", {"mlflow.data.context": "training"}),
        ("def456", {"mlflow.data.context": "eval"}),
    ]
    assert io.dataset_inputs[0].dataset == wine().dataset


def test_model_inputs_and_outputs(store: SqlTrackingStore, experiment_id: str, run_id: str) -> None:
    model_id = store.create_logged_model(experiment_id, source_run_id=run_id).model_id
    store.log_outputs(run_id, [ModelIo(model_id, step=3)])
    store.log_outputs(run_id, [ModelIo(model_id, step=3)])
    store.log_inputs(run_id, models=[ModelIo(model_id)])
    io = store.get_run_io(run_id)
    assert io.model_outputs == [ModelIo(model_id, 3)]
    assert io.model_inputs == [ModelIo(model_id, 0)]


def test_unknown_model_and_run_are_not_found(store: SqlTrackingStore, run_id: str) -> None:
    with pytest.raises(NotFound) as model:
        store.log_outputs(run_id, [ModelIo("m-" + "1" * 32)])
    assert model.value.field == "models[0].model_id"
    with pytest.raises(NotFound):
        store.log_inputs("f" * 32, [wine()])


def test_dataset_without_digest_is_invalid_argument(store: SqlTrackingStore, run_id: str) -> None:
    bad = DatasetInput(Dataset(name="x", digest="", source_type="local", source="{}"))
    with pytest.raises(InvalidArgument) as error:
        store.log_inputs(run_id, [bad])
    assert error.value.field == "datasets[0].dataset.digest"


def test_deleted_run_takes_no_inputs(store: SqlTrackingStore, experiment_id: str) -> None:
    run_id = store.create_run(experiment_id).info.run_id
    store.delete_run(run_id)
    with pytest.raises(FailedPrecondition):
        store.log_inputs(run_id, [wine()])


def test_search_runs_filters_on_dataset_name_digest_and_context(
    store: SqlTrackingStore, unique: Callable[[str], str]
) -> None:
    experiment = store.create_experiment(unique("datasets"))
    trained = store.create_run(experiment, run_name="trained").info.run_id
    evaluated = store.create_run(experiment, run_name="evaluated").info.run_id
    store.create_run(experiment, run_name="plain")
    store.log_inputs(trained, [wine("d1", "training")])
    store.log_inputs(evaluated, [wine("d2", "eval")])

    def found(text: str) -> set[str]:
        return {run.info.run_name for run in store.search_runs([experiment], text).items}

    assert found("datasets.name = 'wine'") == {"trained", "evaluated"}
    assert found("datasets.digest = 'd2'") == {"evaluated"}
    assert found("datasets.context = 'training'") == {"trained"}
    assert found("datasets.name LIKE 'wi%' AND datasets.context IN ('eval')") == {"evaluated"}


def test_runs_io_of_a_page_in_one_call(
    store: SqlTrackingStore, experiment_id: str, run_id: str
) -> None:
    plain = store.create_run(experiment_id).info.run_id
    store.log_inputs(run_id, [wine()])
    io = store.get_runs_io([run_id, plain])
    assert set(io) == {run_id}
    assert io[run_id].dataset_inputs == [wine()]
    assert not store.get_run_io(plain).dataset_inputs


def test_runs_io_of_a_full_page_names_only_the_runs_that_have_some(
    store: SqlTrackingStore, experiment_id: str
) -> None:
    """A page of many runs (the MySQL path first asks which runs have any), a run given twice:
    each run that used or produced something once, with all of it; the others left out."""
    runs = [store.create_run(experiment_id).info.run_id for _ in range(45)]
    store.log_inputs(runs[3], [wine()])
    store.log_inputs(runs[40], [wine("def456", "eval")])
    model_id = store.create_logged_model(experiment_id, source_run_id=runs[17]).model_id
    store.log_outputs(runs[17], [ModelIo(model_id, step=2)])
    store.log_inputs(runs[17], [wine()])
    store.log_outputs(runs[22], [ModelIo(model_id, step=5)])

    io = store.get_runs_io([*runs, runs[3]])

    assert set(io) == {runs[3], runs[17], runs[22], runs[40]}
    assert io[runs[3]].dataset_inputs == [wine()]
    assert io[runs[40]].dataset_inputs == [wine("def456", "eval")]
    assert io[runs[17]].model_outputs == [ModelIo(model_id, step=2)]
    assert io[runs[17]].dataset_inputs == [wine()]
    assert io[runs[22]].model_outputs == [ModelIo(model_id, step=5)]
    assert not io[runs[22]].dataset_inputs
    assert store.get_runs_io(runs[:3] + runs[4:17]) == {}
    # ids no run has, quotes and commas among them: nothing for them, the others as before
    odd = ["it's", "a,b", runs[3][:16], ""]
    assert set(store.get_runs_io([*odd, *runs[:30]])) == {runs[3], runs[17], runs[22]}
