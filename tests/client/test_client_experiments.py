"""MlgrpcClient experiment methods against the real tracking service (SQLite and MariaDB)."""

from __future__ import annotations

import uuid

import grpc
import pytest

from mlgrpc import MlgrpcClient, ViewType
from mlgrpc.entities import Experiment
from mlgrpc.exceptions import AlreadyExistsError, InvalidArgumentError, NotFoundError


def unique(prefix: str = "exp") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def test_create_and_get_experiment(client: MlgrpcClient) -> None:
    name = unique()
    experiment_id = client.create_experiment(name, tags={"team": "ml"})
    experiment = client.get_experiment(experiment_id)
    assert isinstance(experiment, Experiment)
    assert (experiment.name, experiment.lifecycle_stage) == (name, "active")
    assert experiment.tags == {"team": "ml"}
    assert experiment.artifact_location


def test_get_experiment_by_name_returns_none_when_missing(client: MlgrpcClient) -> None:
    assert client.get_experiment_by_name(unique("missing")) is None


def test_get_experiment_by_name_finds_it(client: MlgrpcClient) -> None:
    name = unique()
    experiment_id = client.create_experiment(name)
    found = client.get_experiment_by_name(name)
    assert found is not None and found.experiment_id == experiment_id


def test_duplicate_experiment_name_is_already_exists(client: MlgrpcClient) -> None:
    name = unique()
    client.create_experiment(name)
    with pytest.raises(AlreadyExistsError) as caught:
        client.create_experiment(name)
    assert caught.value.code == grpc.StatusCode.ALREADY_EXISTS
    assert caught.value.reason == "RESOURCE_ALREADY_EXISTS"


def test_missing_experiment_is_not_found_with_reason(client: MlgrpcClient) -> None:
    with pytest.raises(NotFoundError) as caught:
        client.get_experiment("987654321")
    assert caught.value.code == grpc.StatusCode.NOT_FOUND
    assert caught.value.reason == "RESOURCE_DOES_NOT_EXIST"


def test_empty_experiment_name_is_invalid_argument_naming_the_field(client: MlgrpcClient) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        client.create_experiment("")
    assert caught.value.reason == "INVALID_PARAMETER_VALUE"
    assert caught.value.field == "name"


def test_rename_experiment(client: MlgrpcClient) -> None:
    experiment_id = client.create_experiment(unique())
    new_name = unique("renamed")
    client.rename_experiment(experiment_id, new_name)
    assert client.get_experiment(experiment_id).name == new_name


def test_delete_and_restore_experiment(client: MlgrpcClient) -> None:
    experiment_id = client.create_experiment(unique())
    client.delete_experiment(experiment_id)
    assert client.get_experiment(experiment_id).lifecycle_stage == "deleted"
    client.restore_experiment(experiment_id)
    assert client.get_experiment(experiment_id).lifecycle_stage == "active"


def test_set_and_delete_experiment_tag(client: MlgrpcClient) -> None:
    experiment_id = client.create_experiment(unique())
    client.set_experiment_tag(experiment_id, "owner", "alice")
    assert client.get_experiment(experiment_id).tags["owner"] == "alice"
    client.delete_experiment_tag(experiment_id, "owner")
    assert "owner" not in client.get_experiment(experiment_id).tags


def test_search_experiments_pages_with_token(client: MlgrpcClient) -> None:
    prefix = unique("paged")
    ids = {client.create_experiment(f"{prefix}-{i}") for i in range(5)}
    seen: set[str] = set()
    token = None
    pages = 0
    while True:
        page = client.search_experiments(
            max_results=2, filter_string=f"name LIKE '{prefix}%'", page_token=token
        )
        seen.update(e.experiment_id for e in page)
        pages += 1
        token = page.token
        if token is None:
            break
    assert seen == ids
    assert pages == 3


def test_search_experiments_view_type_deleted_only(client: MlgrpcClient) -> None:
    name = unique("gone")
    experiment_id = client.create_experiment(name)
    client.delete_experiment(experiment_id)
    active = client.search_experiments(filter_string=f"name = '{name}'")
    deleted = client.search_experiments(
        view_type=ViewType.DELETED_ONLY, filter_string=f"name = '{name}'"
    )
    assert [e.experiment_id for e in active] == []
    assert [e.experiment_id for e in deleted] == [experiment_id]
