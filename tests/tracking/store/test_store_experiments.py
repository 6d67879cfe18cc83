"""Experiments: create/read/rename, tags, soft delete and restore (with their runs)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from mlgrpc_server.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound
from tracking_service.domain import ACTIVE, DELETED, ViewType
from tracking_service.store.sql_store import SqlTrackingStore

Unique = Callable[[str], str]


def test_create_experiment_returns_id_and_defaults_artifact_location_under_root(
    store: SqlTrackingStore, unique: Unique, artifact_root: Path
) -> None:
    name = unique("exp")
    experiment = store.get_experiment(store.create_experiment(name))
    assert experiment.name == name
    assert experiment.lifecycle_stage == ACTIVE
    assert (
        experiment.artifact_location
        == f"{artifact_root.resolve().as_uri()}/{experiment.experiment_id}"
    )
    assert experiment.creation_time == experiment.last_update_time > 0


def test_create_experiment_keeps_explicit_artifact_location_and_tags(
    store: SqlTrackingStore, unique: Unique
) -> None:
    experiment_id = store.create_experiment(
        unique("exp"), artifact_location="s3://bucket/x", tags={"team": "a", "k.2": "v"}
    )
    experiment = store.get_experiment(experiment_id)
    assert experiment.artifact_location == "s3://bucket/x"
    assert experiment.tags == {"team": "a", "k.2": "v"}


def test_default_experiment_exists_with_id_zero(store: SqlTrackingStore) -> None:
    experiment = store.get_experiment("0")
    assert experiment.name == "Default"
    assert experiment.artifact_location.endswith("/0")


def test_create_experiment_with_taken_name_is_already_exists(
    store: SqlTrackingStore, unique: Unique
) -> None:
    name = unique("exp")
    store.create_experiment(name)
    with pytest.raises(AlreadyExists):
        store.create_experiment(name)


def test_experiment_names_differing_in_case_are_distinct(
    store: SqlTrackingStore, unique: Unique
) -> None:
    name = unique("Exp")
    first = store.create_experiment(name)
    second = store.create_experiment(name.lower())
    assert first != second
    assert store.get_experiment_by_name(name).experiment_id == first


def test_create_experiment_with_empty_name_is_invalid(store: SqlTrackingStore) -> None:
    with pytest.raises(InvalidArgument) as error:
        store.create_experiment("")
    assert error.value.field == "name"


def test_get_unknown_experiment_is_not_found(store: SqlTrackingStore) -> None:
    with pytest.raises(NotFound):
        store.get_experiment("987654")


def test_get_experiment_with_non_numeric_id_is_invalid(store: SqlTrackingStore) -> None:
    with pytest.raises(InvalidArgument):
        store.get_experiment("abc")


def test_get_experiment_by_unknown_name_is_not_found(
    store: SqlTrackingStore, unique: Unique
) -> None:
    with pytest.raises(NotFound):
        store.get_experiment_by_name(unique("missing"))


def test_rename_experiment_changes_name(store: SqlTrackingStore, unique: Unique) -> None:
    experiment_id = store.create_experiment(unique("exp"))
    new_name = unique("renamed")
    store.rename_experiment(experiment_id, new_name)
    assert store.get_experiment(experiment_id).name == new_name


def test_rename_experiment_to_taken_name_is_already_exists(
    store: SqlTrackingStore, unique: Unique
) -> None:
    taken = unique("exp")
    store.create_experiment(taken)
    experiment_id = store.create_experiment(unique("exp"))
    with pytest.raises(AlreadyExists):
        store.rename_experiment(experiment_id, taken)


def test_set_experiment_tag_overwrites_and_delete_removes_it(
    store: SqlTrackingStore, experiment_id: str
) -> None:
    store.set_experiment_tag(experiment_id, "k", "v1")
    store.set_experiment_tag(experiment_id, "k", "v2")
    assert store.get_experiment(experiment_id).tags == {"k": "v2"}
    store.delete_experiment_tag(experiment_id, "k")
    assert store.get_experiment(experiment_id).tags == {}


def test_delete_missing_experiment_tag_is_not_found(
    store: SqlTrackingStore, experiment_id: str
) -> None:
    with pytest.raises(NotFound):
        store.delete_experiment_tag(experiment_id, "nope")


def test_experiment_tag_with_bad_key_is_invalid(
    store: SqlTrackingStore, experiment_id: str
) -> None:
    with pytest.raises(InvalidArgument):
        store.set_experiment_tag(experiment_id, "../escape", "v")


def test_delete_experiment_soft_deletes_it_and_its_runs(
    store: SqlTrackingStore, experiment_id: str
) -> None:
    run_id = store.create_run(experiment_id).info.run_id
    store.delete_experiment(experiment_id)
    assert store.get_experiment(experiment_id).lifecycle_stage == DELETED
    assert store.get_run_info(run_id).lifecycle_stage == DELETED


def test_restore_experiment_restores_runs_deleted_with_it_only(
    store: SqlTrackingStore, experiment_id: str
) -> None:
    deleted_before = store.create_run(experiment_id).info.run_id
    store.delete_run(deleted_before)
    deleted_with = store.create_run(experiment_id).info.run_id
    store.delete_experiment(experiment_id)
    store.restore_experiment(experiment_id)
    assert store.get_experiment(experiment_id).lifecycle_stage == ACTIVE
    assert store.get_run_info(deleted_with).lifecycle_stage == ACTIVE
    assert store.get_run_info(deleted_before).lifecycle_stage == DELETED


def test_deleted_experiment_keeps_its_name_taken(store: SqlTrackingStore, unique: Unique) -> None:
    name = unique("exp")
    store.delete_experiment(store.create_experiment(name))
    with pytest.raises(AlreadyExists):
        store.create_experiment(name)


def test_create_run_in_deleted_experiment_is_failed_precondition(
    store: SqlTrackingStore, experiment_id: str
) -> None:
    store.delete_experiment(experiment_id)
    with pytest.raises(FailedPrecondition):
        store.create_run(experiment_id)


def test_deleting_default_experiment_is_invalid(store: SqlTrackingStore) -> None:
    with pytest.raises(InvalidArgument):
        store.delete_experiment("0")


def test_restore_active_experiment_is_failed_precondition(
    store: SqlTrackingStore, experiment_id: str
) -> None:
    with pytest.raises(FailedPrecondition):
        store.restore_experiment(experiment_id)


def test_search_experiments_view_types(store: SqlTrackingStore, unique: Unique) -> None:
    prefix = unique("view")
    active = store.create_experiment(f"{prefix}-active")
    deleted = store.create_experiment(f"{prefix}-deleted")
    store.delete_experiment(deleted)
    name_filter = f"name LIKE '{prefix}%'"

    def ids(view: ViewType) -> set[str]:
        page = store.search_experiments(name_filter, view_type=view)
        return {e.experiment_id for e in page.items}

    assert ids(ViewType.ACTIVE_ONLY) == {active}
    assert ids(ViewType.DELETED_ONLY) == {deleted}
    assert ids(ViewType.ALL) == {active, deleted}


def test_deleting_a_deleted_experiment_again_keeps_restore_working(
    store: SqlTrackingStore, experiment_id: str
) -> None:
    run_id = store.create_run(experiment_id).info.run_id
    store.delete_experiment(experiment_id)
    store.delete_experiment(experiment_id)
    store.restore_experiment(experiment_id)
    assert store.get_run_info(run_id).lifecycle_stage == ACTIVE
