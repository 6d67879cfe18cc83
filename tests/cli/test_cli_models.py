"""`mlgrpc models …` against real registry and tracking services."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from conftest import Cli, Seeded


def test_list_json_has_the_model_with_its_fields(cli: Cli, seeded: Seeded) -> None:
    result = cli("models", "list", "--output", "json")
    assert result.code == 0, result.err
    model = next(m for m in result.json() if m["name"] == seeded.model_name)
    assert model["description"] == "seeded by the CLI tests"
    assert set(model) >= {"aliases", "tags", "latest_versions", "creation_timestamp"}


def test_versions_json_lists_every_version_newest_first(cli: Cli, seeded: Seeded) -> None:
    result = cli("models", "versions", seeded.model_name, "-O", "json")
    assert result.code == 0, result.err
    versions = result.json()
    assert [v["version"] for v in versions] == [2, 1]
    assert versions[1]["run_id"] == seeded.run_ids[0]
    assert versions[1]["source"] == f"runs:/{seeded.run_ids[0]}/model"


def test_describe_shows_model_and_versions(cli: Cli, seeded: Seeded) -> None:
    described = cli("models", "describe", seeded.model_name, "-O", "json").json()
    assert described["registered_model"]["name"] == seeded.model_name
    assert len(described["versions"]) == 2
    table = cli("models", "describe", seeded.model_name)
    assert "seeded by the CLI tests" in table.out
    assert f"runs:/{seeded.run_ids[1]}/model" in table.out


def test_alias_set_then_delete(cli: Cli, seeded: Seeded) -> None:
    set_result = cli("models", "alias", "set", seeded.model_name, "champion", "1", "-O", "json")
    assert set_result.code == 0, set_result.err
    assert set_result.json()["version"] == 1
    assert "champion" in set_result.json()["aliases"]
    model = cli("models", "describe", seeded.model_name, "-O", "json").json()["registered_model"]
    assert model["aliases"] == {"champion": 1}
    deleted = cli("models", "alias", "delete", seeded.model_name, "champion")
    assert deleted.code == 0, deleted.err
    model = cli("models", "describe", seeded.model_name, "-O", "json").json()["registered_model"]
    assert model["aliases"] == {}


def test_alias_set_on_missing_version_says_so(cli: Cli, seeded: Seeded) -> None:
    result = cli("models", "alias", "set", seeded.model_name, "x", "99")
    assert result.code != 0
    assert f"model {seeded.model_name!r} has no version 99" in result.err


def test_stage_with_archive_existing_archives_the_previous_one(cli: Cli, seeded: Seeded) -> None:
    first = cli("models", "stage", seeded.model_name, "1", "Production", "-O", "json")
    assert first.json()["current_stage"] == "Production"
    second = cli(
        "models", "stage", seeded.model_name, "2", "Production", "--archive-existing", "-O", "json"
    )
    assert second.code == 0, second.err
    stages = {v["version"]: v["current_stage"] for v in
              cli("models", "versions", seeded.model_name, "-O", "json").json()}  # fmt: skip
    assert stages == {1: "Archived", 2: "Production"}


def test_stage_with_unknown_stage_is_the_servers_message(cli: Cli, seeded: Seeded) -> None:
    result = cli("models", "stage", seeded.model_name, "1", "Shipping")
    assert result.code != 0
    assert "Shipping" in result.err
    assert "Traceback" not in result.err


def test_describe_of_unknown_model_says_not_found(cli: Cli) -> None:
    result = cli("models", "describe", "no-such-model")
    assert result.code != 0
    assert "registered model 'no-such-model' not found" in result.err
