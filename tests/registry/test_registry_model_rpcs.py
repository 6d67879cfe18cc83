"""Registered-model RPCs against a real registry service (SQLite and MariaDB)."""

from __future__ import annotations

import grpc
import pytest
from registry_rpc_helpers import expect_error, unique_name

from mlgrpc.registry.v1 import registry_service_pb2 as pb

INVALID = grpc.StatusCode.INVALID_ARGUMENT
NOT_FOUND = grpc.StatusCode.NOT_FOUND


def _create(registry, name: str, **kwargs) -> pb.RegisteredModel:  # type: ignore[no-untyped-def]
    request = pb.CreateRegisteredModelRequest(name=name, **kwargs)
    return registry.CreateRegisteredModel(request).registered_model


def test_create_registered_model_returns_it_with_tags_and_description(registry) -> None:
    name = unique_name()
    model = _create(
        registry, name, description="wine", tags=[pb.RegisteredModelTag(key="team", value="ml")]
    )
    assert model.name == name
    assert model.description == "wine"
    assert {t.key: t.value for t in model.tags} == {"team": "ml"}
    assert model.creation_timestamp > 0
    assert model.last_updated_timestamp == model.creation_timestamp


def test_get_registered_model_returns_what_was_created(registry) -> None:
    name = unique_name()
    created = _create(registry, name, description="d")
    got = registry.GetRegisteredModel(pb.GetRegisteredModelRequest(name=name)).registered_model
    assert got == created


def test_create_registered_model_twice_is_already_exists(registry) -> None:
    name = unique_name()
    _create(registry, name)
    expect_error(
        lambda: _create(registry, name),
        grpc.StatusCode.ALREADY_EXISTS,
        "RESOURCE_ALREADY_EXISTS",
        "name",
    )


def test_registered_model_names_are_case_sensitive(registry) -> None:
    name = unique_name("Case")
    _create(registry, name)
    assert _create(registry, name.lower()).name == name.lower()


@pytest.mark.parametrize("bad_name", ["", "a/b", "x" * 257, "tab\there"])
def test_create_registered_model_with_bad_name_is_invalid_argument(registry, bad_name) -> None:
    expect_error(lambda: _create(registry, bad_name), INVALID, "INVALID_PARAMETER_VALUE", "name")


def test_create_registered_model_with_too_long_tag_value_is_invalid_argument(registry) -> None:
    tag = pb.RegisteredModelTag(key="k", value="v" * 100_001)
    expect_error(
        lambda: _create(registry, unique_name(), tags=[tag]),
        INVALID,
        "INVALID_PARAMETER_VALUE",
        "tags",
    )


def test_create_registered_model_with_duplicate_tag_key_is_invalid_argument(registry) -> None:
    tags = [pb.RegisteredModelTag(key="k", value="1"), pb.RegisteredModelTag(key="k", value="2")]
    expect_error(
        lambda: _create(registry, unique_name(), tags=tags), INVALID, "INVALID_PARAMETER_VALUE"
    )


def test_create_registered_model_with_too_long_description_is_invalid_argument(registry) -> None:
    expect_error(
        lambda: _create(registry, unique_name(), description="d" * 5001),
        INVALID,
        "INVALID_PARAMETER_VALUE",
        "description",
    )


def test_get_unknown_registered_model_is_not_found_and_service_still_answers(registry) -> None:
    expect_error(
        lambda: registry.GetRegisteredModel(pb.GetRegisteredModelRequest(name="no-such-model")),
        NOT_FOUND,
        "RESOURCE_DOES_NOT_EXIST",
        "name",
    )
    name = unique_name()
    _create(registry, name)
    assert registry.GetRegisteredModel(pb.GetRegisteredModelRequest(name=name)).registered_model


def test_rename_registered_model_moves_its_versions(registry, model_source) -> None:
    name, new_name = unique_name(), unique_name("renamed")
    _create(registry, name)
    registry.CreateModelVersion(pb.CreateModelVersionRequest(name=name, source=model_source))
    renamed = registry.RenameRegisteredModel(
        pb.RenameRegisteredModelRequest(name=name, new_name=new_name)
    ).registered_model
    assert renamed.name == new_name
    version = registry.GetModelVersion(pb.GetModelVersionRequest(name=new_name, version=1))
    assert version.model_version.name == new_name
    expect_error(
        lambda: registry.GetRegisteredModel(pb.GetRegisteredModelRequest(name=name)),
        NOT_FOUND,
        "RESOURCE_DOES_NOT_EXIST",
    )


def test_rename_onto_an_existing_name_is_already_exists(registry) -> None:
    first, second = unique_name(), unique_name()
    _create(registry, first)
    _create(registry, second)
    expect_error(
        lambda: registry.RenameRegisteredModel(
            pb.RenameRegisteredModelRequest(name=first, new_name=second)
        ),
        grpc.StatusCode.ALREADY_EXISTS,
        "RESOURCE_ALREADY_EXISTS",
        "new_name",
    )


def test_rename_to_an_empty_name_is_invalid_argument(registry) -> None:
    name = unique_name()
    _create(registry, name)
    expect_error(
        lambda: registry.RenameRegisteredModel(
            pb.RenameRegisteredModelRequest(name=name, new_name="")
        ),
        INVALID,
        "INVALID_PARAMETER_VALUE",
        "new_name",
    )


def test_update_registered_model_changes_description_and_last_updated(registry) -> None:
    name = unique_name()
    created = _create(registry, name, description="old")
    updated = registry.UpdateRegisteredModel(
        pb.UpdateRegisteredModelRequest(name=name, description="new")
    ).registered_model
    assert updated.description == "new"
    assert updated.last_updated_timestamp >= created.last_updated_timestamp


def test_update_unknown_registered_model_is_not_found(registry) -> None:
    expect_error(
        lambda: registry.UpdateRegisteredModel(
            pb.UpdateRegisteredModelRequest(name="missing-model", description="x")
        ),
        NOT_FOUND,
        "RESOURCE_DOES_NOT_EXIST",
        "name",
    )


def test_delete_registered_model_removes_it_with_versions_tags_and_aliases(
    registry, model_source
) -> None:
    name = unique_name()
    _create(registry, name, tags=[pb.RegisteredModelTag(key="k", value="v")])
    registry.CreateModelVersion(pb.CreateModelVersionRequest(name=name, source=model_source))
    registry.SetRegisteredModelAlias(
        pb.SetRegisteredModelAliasRequest(name=name, alias="champion", version=1)
    )
    registry.DeleteRegisteredModel(pb.DeleteRegisteredModelRequest(name=name))
    expect_error(
        lambda: registry.GetModelVersion(pb.GetModelVersionRequest(name=name, version=1)),
        NOT_FOUND,
        "RESOURCE_DOES_NOT_EXIST",
    )
    # The name is free again and starts from version 1 with nothing attached.
    again = _create(registry, name)
    assert list(again.tags) == [] and list(again.aliases) == []
    version = registry.CreateModelVersion(
        pb.CreateModelVersionRequest(name=name, source=model_source)
    ).model_version
    assert version.version == 1


def test_delete_unknown_registered_model_is_not_found(registry) -> None:
    expect_error(
        lambda: registry.DeleteRegisteredModel(pb.DeleteRegisteredModelRequest(name="gone")),
        NOT_FOUND,
        "RESOURCE_DOES_NOT_EXIST",
        "name",
    )


def test_set_and_delete_registered_model_tag(registry) -> None:
    name = unique_name()
    _create(registry, name)
    registry.SetRegisteredModelTag(pb.SetRegisteredModelTagRequest(name=name, key="k", value="1"))
    registry.SetRegisteredModelTag(pb.SetRegisteredModelTagRequest(name=name, key="k", value="2"))
    model = registry.GetRegisteredModel(pb.GetRegisteredModelRequest(name=name)).registered_model
    assert {t.key: t.value for t in model.tags} == {"k": "2"}
    registry.DeleteRegisteredModelTag(pb.DeleteRegisteredModelTagRequest(name=name, key="k"))
    model = registry.GetRegisteredModel(pb.GetRegisteredModelRequest(name=name)).registered_model
    assert list(model.tags) == []


def test_set_registered_model_tag_with_too_long_key_is_invalid_argument(registry) -> None:
    name = unique_name()
    _create(registry, name)
    expect_error(
        lambda: registry.SetRegisteredModelTag(
            pb.SetRegisteredModelTagRequest(name=name, key="k" * 251, value="v")
        ),
        INVALID,
        "INVALID_PARAMETER_VALUE",
        "key",
    )


def test_delete_missing_registered_model_tag_is_not_found(registry) -> None:
    name = unique_name()
    _create(registry, name)
    expect_error(
        lambda: registry.DeleteRegisteredModelTag(
            pb.DeleteRegisteredModelTagRequest(name=name, key="nope")
        ),
        NOT_FOUND,
        "RESOURCE_DOES_NOT_EXIST",
        "key",
    )
