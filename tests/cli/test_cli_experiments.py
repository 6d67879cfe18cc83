"""`mlgrpc experiments …` against a real tracking service."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from conftest import Cli


def test_list_json_has_the_default_experiment_with_its_fields(cli: Cli) -> None:
    result = cli("experiments", "list", "--output", "json")
    assert result.code == 0, result.err
    default = next(e for e in result.json() if e["name"] == "Default")
    assert default["experiment_id"] == "0"
    assert default["lifecycle_stage"] == "active"
    assert set(default) >= {"artifact_location", "creation_time", "last_update_time", "tags"}


def test_create_prints_the_new_experiment_and_list_shows_it(cli: Cli) -> None:
    created = cli("experiments", "create", "exp-created", "--output", "json")
    assert created.code == 0, created.err
    assert created.json()["name"] == "exp-created"
    table = cli("experiments", "list")
    assert "exp-created" in table.out


def test_create_twice_is_one_line_error(cli: Cli) -> None:
    assert cli("experiments", "create", "exp-twice").code == 0
    again = cli("experiments", "create", "exp-twice")
    assert again.code != 0
    assert "exp-twice" in again.err
    assert len(again.err.strip().splitlines()) == 1
    assert "Traceback" not in again.err


def test_rename_changes_the_name(cli: Cli) -> None:
    experiment_id = cli("experiments", "create", "exp-old", "-O", "json").json()["experiment_id"]
    renamed = cli("experiments", "rename", experiment_id, "exp-new", "-O", "json")
    assert renamed.code == 0, renamed.err
    assert renamed.json()["name"] == "exp-new"


def test_delete_then_restore_moves_between_views(cli: Cli) -> None:
    experiment_id = cli("experiments", "create", "exp-del", "-O", "json").json()["experiment_id"]
    deleted = cli("experiments", "delete", experiment_id, "-O", "json")
    assert deleted.json()["lifecycle_stage"] == "deleted"
    names = [
        e["name"] for e in cli("experiments", "list", "--view", "deleted", "-O", "json").json()
    ]
    assert "exp-del" in names
    restored = cli("experiments", "restore", experiment_id, "-O", "json")
    assert restored.json()["lifecycle_stage"] == "active"


def test_delete_of_unknown_experiment_says_not_found(cli: Cli) -> None:
    result = cli("experiments", "delete", "987654")
    assert result.code != 0
    assert "experiment 987654 not found" in result.err
