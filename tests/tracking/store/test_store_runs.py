"""Runs: creation (names, system tags, nesting), reads, updates, soft delete and restore."""

from __future__ import annotations

import re

import pytest

from mlgrpc_server.errors import FailedPrecondition, InvalidArgument, NotFound
from tracking_service.domain import (
    ACTIVE,
    DELETED,
    PARENT_RUN_ID_TAG,
    RUN_NAME_TAG,
    USER_TAG,
    RunTag,
)
from tracking_service.store.sql_store import SqlTrackingStore


def test_create_run_returns_running_run_with_hex_id_and_artifact_uri(
    store: SqlTrackingStore, experiment_id: str
) -> None:
    run = store.create_run(experiment_id, run_name="train", user_id="ada", start_time=123)
    info = run.info
    assert re.fullmatch(r"[0-9a-f]{32}", info.run_id)
    assert (info.status, info.start_time, info.end_time) == ("RUNNING", 123, None)
    assert info.lifecycle_stage == ACTIVE
    location = store.get_experiment(experiment_id).artifact_location
    assert info.artifact_uri == f"{location}/{info.run_id}/artifacts"


def test_create_run_sets_name_and_user_tags(store: SqlTrackingStore, experiment_id: str) -> None:
    run = store.create_run(experiment_id, run_name="train", user_id="ada", tags={"k": "v"})
    assert run.tags == {RUN_NAME_TAG: "train", USER_TAG: "ada", "k": "v"}
    assert store.get_run(run.info.run_id).tags == run.tags


def test_create_run_without_name_generates_adjective_noun_number(
    store: SqlTrackingStore, experiment_id: str
) -> None:
    run = store.create_run(experiment_id)
    assert re.fullmatch(r"[a-z]+-[a-z]+-\d{1,3}", run.info.run_name)
    assert run.tags[RUN_NAME_TAG] == run.info.run_name


def test_create_run_takes_name_from_run_name_tag(
    store: SqlTrackingStore, experiment_id: str
) -> None:
    run = store.create_run(experiment_id, tags={RUN_NAME_TAG: "from-tag"})
    assert run.info.run_name == "from-tag"


def test_create_nested_run_records_parent_tag(store: SqlTrackingStore, experiment_id: str) -> None:
    parent = store.create_run(experiment_id).info.run_id
    child = store.create_run(experiment_id, parent_run_id=parent)
    assert child.tags[PARENT_RUN_ID_TAG] == parent


def test_create_run_with_unknown_parent_is_not_found(
    store: SqlTrackingStore, experiment_id: str
) -> None:
    with pytest.raises(NotFound) as error:
        store.create_run(experiment_id, parent_run_id="0" * 32)
    assert error.value.field == "parent_run_id"


def test_create_run_in_unknown_experiment_is_not_found(store: SqlTrackingStore) -> None:
    with pytest.raises(NotFound):
        store.create_run("424242")


def test_create_run_with_bad_status_is_invalid(store: SqlTrackingStore, experiment_id: str) -> None:
    with pytest.raises(InvalidArgument):
        store.create_run(experiment_id, status="DONE")


def test_get_unknown_run_is_not_found(store: SqlTrackingStore) -> None:
    with pytest.raises(NotFound):
        store.get_run("f" * 32)


def test_update_run_sets_status_end_time_and_name(store: SqlTrackingStore, run_id: str) -> None:
    info = store.update_run(run_id, status="FINISHED", end_time=5000, run_name="renamed")
    assert (info.status, info.end_time, info.run_name) == ("FINISHED", 5000, "renamed")
    assert store.get_run(run_id).tags[RUN_NAME_TAG] == "renamed"


def test_update_run_with_nothing_leaves_it_unchanged(store: SqlTrackingStore, run_id: str) -> None:
    before = store.get_run_info(run_id)
    assert store.update_run(run_id) == before


def test_setting_run_name_tag_renames_the_run(store: SqlTrackingStore, run_id: str) -> None:
    store.log_batch(run_id, tags=[RunTag(RUN_NAME_TAG, "via-tag")])
    assert store.get_run_info(run_id).run_name == "via-tag"


def test_delete_run_then_restore(store: SqlTrackingStore, run_id: str) -> None:
    store.delete_run(run_id)
    assert store.get_run_info(run_id).lifecycle_stage == DELETED
    store.restore_run(run_id)
    assert store.get_run_info(run_id).lifecycle_stage == ACTIVE


def test_update_deleted_run_is_failed_precondition(store: SqlTrackingStore, run_id: str) -> None:
    store.delete_run(run_id)
    with pytest.raises(FailedPrecondition):
        store.update_run(run_id, status="FINISHED")


def test_delete_unknown_run_is_not_found(store: SqlTrackingStore) -> None:
    with pytest.raises(NotFound):
        store.delete_run("e" * 32)


def test_delete_tag_removes_it_and_missing_tag_is_not_found(
    store: SqlTrackingStore, run_id: str
) -> None:
    store.log_batch(run_id, tags=[RunTag("t", "v")])
    store.delete_tag(run_id, "t")
    assert "t" not in store.get_run(run_id).tags
    with pytest.raises(NotFound):
        store.delete_tag(run_id, "t")
