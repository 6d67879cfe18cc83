"""Aliases and ResolveModelUri, for every URI form."""

from __future__ import annotations

import grpc
import pytest
from registry_rpc_helpers import expect_error, unique_name

from mlgrpc.registry.v1 import registry_service_pb2 as pb

INVALID = grpc.StatusCode.INVALID_ARGUMENT
NOT_FOUND = grpc.StatusCode.NOT_FOUND


@pytest.fixture
def model(registry, model_source) -> str:
    """A model with versions 1 (from a run, Production), 2 (Staging) and 3 (None)."""
    name = unique_name()
    registry.CreateRegisteredModel(pb.CreateRegisteredModelRequest(name=name))
    for _ in range(3):
        registry.CreateModelVersion(pb.CreateModelVersionRequest(name=name, source=model_source))
    for version, stage in ((1, "Production"), (2, "Staging")):
        registry.TransitionModelVersionStage(
            pb.TransitionModelVersionStageRequest(name=name, version=version, stage=stage)
        )
    return name


def _set_alias(registry, name: str, alias: str, version: int) -> None:  # type: ignore[no-untyped-def]
    registry.SetRegisteredModelAlias(
        pb.SetRegisteredModelAliasRequest(name=name, alias=alias, version=version)
    )


def _by_alias(registry, name: str, alias: str) -> pb.ModelVersion:  # type: ignore[no-untyped-def]
    request = pb.GetModelVersionByAliasRequest(name=name, alias=alias)
    return registry.GetModelVersionByAlias(request).model_version


def _resolve(registry, uri: str) -> pb.ResolveModelUriResponse:  # type: ignore[no-untyped-def]
    return registry.ResolveModelUri(pb.ResolveModelUriRequest(model_uri=uri))


def test_set_alias_then_get_version_by_alias(registry, model) -> None:
    _set_alias(registry, model, "champion", 2)
    mv = _by_alias(registry, model, "champion")
    assert (mv.version, list(mv.aliases)) == (2, ["champion"])
    rm = registry.GetRegisteredModel(pb.GetRegisteredModelRequest(name=model)).registered_model
    assert [(a.alias, a.version) for a in rm.aliases] == [("champion", 2)]


def test_set_alias_again_moves_it(registry, model) -> None:
    _set_alias(registry, model, "champion", 1)
    _set_alias(registry, model, "champion", 3)
    assert _by_alias(registry, model, "champion").version == 3


def test_set_alias_to_unknown_version_is_not_found(registry, model) -> None:
    expect_error(
        lambda: _set_alias(registry, model, "champion", 9),
        NOT_FOUND,
        "RESOURCE_DOES_NOT_EXIST",
        "version",
    )


@pytest.mark.parametrize("alias", ["", "latest", "v12", "V3", "has space", "a/b", "x" * 256])
def test_invalid_or_reserved_alias_is_invalid_argument(registry, model, alias) -> None:
    expect_error(
        lambda: _set_alias(registry, model, alias, 1), INVALID, "INVALID_PARAMETER_VALUE", "alias"
    )


def test_delete_alias(registry, model) -> None:
    _set_alias(registry, model, "temp", 1)
    registry.DeleteRegisteredModelAlias(
        pb.DeleteRegisteredModelAliasRequest(name=model, alias="temp")
    )
    expect_error(
        lambda: _by_alias(registry, model, "temp"), NOT_FOUND, "RESOURCE_DOES_NOT_EXIST", "alias"
    )


def test_delete_missing_alias_is_not_found(registry, model) -> None:
    expect_error(
        lambda: registry.DeleteRegisteredModelAlias(
            pb.DeleteRegisteredModelAliasRequest(name=model, alias="never")
        ),
        NOT_FOUND,
        "RESOURCE_DOES_NOT_EXIST",
        "alias",
    )


def test_deleting_a_version_drops_its_aliases(registry, model) -> None:
    _set_alias(registry, model, "champion", 3)
    _set_alias(registry, model, "stable", 1)
    registry.DeleteModelVersion(pb.DeleteModelVersionRequest(name=model, version=3))
    expect_error(
        lambda: _by_alias(registry, model, "champion"), NOT_FOUND, "RESOURCE_DOES_NOT_EXIST"
    )
    rm = registry.GetRegisteredModel(pb.GetRegisteredModelRequest(name=model)).registered_model
    assert [(a.alias, a.version) for a in rm.aliases] == [("stable", 1)]


def test_resolve_models_uri_with_version(registry, model, model_source) -> None:
    resolved = _resolve(registry, f"models:/{model}/2")
    assert resolved.model_version.version == 2
    assert resolved.storage_location == model_source
    assert (resolved.run_id, resolved.artifact_path) == ("", "")


def test_resolve_models_uri_with_alias(registry, model) -> None:
    _set_alias(registry, model, "champion", 3)
    assert _resolve(registry, f"models:/{model}@champion").model_version.version == 3


@pytest.mark.parametrize(("stage", "version"), [("Production", 1), ("staging", 2), ("None", 3)])
def test_resolve_models_uri_with_stage_is_latest_in_that_stage(
    registry, model, stage, version
) -> None:
    assert _resolve(registry, f"models:/{model}/{stage}").model_version.version == version


def test_resolve_models_uri_latest_is_highest_version(registry, model) -> None:
    assert _resolve(registry, f"models:/{model}/latest").model_version.version == 3


def test_resolve_models_uri_of_a_run_source_gives_run_and_path(registry, new_run) -> None:
    run = new_run()
    name = unique_name()
    registry.CreateRegisteredModel(pb.CreateRegisteredModelRequest(name=name))
    registry.CreateModelVersion(
        pb.CreateModelVersionRequest(name=name, source=f"runs:/{run.run_id}/model")
    )
    resolved = _resolve(registry, f"models:/{name}/1")
    assert resolved.run_id == run.run_id
    assert resolved.artifact_path == "model"
    assert resolved.storage_location == f"{run.artifact_uri.rstrip('/')}/model"
    assert resolved.model_version.storage_location == resolved.storage_location


@pytest.mark.parametrize(
    "uri",
    [
        "",
        "runs:/abc/model",
        "models:/",
        "models:/name",
        "models:/name/beta",
        "models:/a/1/b",
        "models:/name@",
        "models:/name@bad alias",
        "models:/name/0",
    ],
)
def test_resolve_malformed_uri_is_invalid_argument(registry, uri) -> None:
    expect_error(lambda: _resolve(registry, uri), INVALID, "INVALID_PARAMETER_VALUE", "model_uri")


@pytest.mark.parametrize("suffix", ["/9", "@nobody", "/Archived"])
def test_resolve_unknown_target_is_not_found(registry, model, suffix) -> None:
    expect_error(
        lambda: _resolve(registry, f"models:/{model}{suffix}"), NOT_FOUND, "RESOURCE_DOES_NOT_EXIST"
    )


def test_resolve_unknown_model_is_not_found(registry) -> None:
    expect_error(
        lambda: _resolve(registry, "models:/no-such-model/1"), NOT_FOUND, "RESOURCE_DOES_NOT_EXIST"
    )
