"""Model-version RPCs: creation through the tracking service, tags, stages, download URI."""

from __future__ import annotations

import grpc
import pytest
from registry_rpc_helpers import expect_error, unique_name

from mlgrpc.registry.v1 import registry_service_pb2 as pb

INVALID = grpc.StatusCode.INVALID_ARGUMENT
NOT_FOUND = grpc.StatusCode.NOT_FOUND


@pytest.fixture
def model(registry) -> str:
    name = unique_name()
    registry.CreateRegisteredModel(pb.CreateRegisteredModelRequest(name=name))
    return name


def _create_version(registry, name: str, source: str, **kwargs) -> pb.ModelVersion:  # type: ignore[no-untyped-def]
    request = pb.CreateModelVersionRequest(name=name, source=source, **kwargs)
    return registry.CreateModelVersion(request).model_version


def test_create_model_version_from_runs_uri_resolves_run_and_storage(
    registry, model, new_run
) -> None:
    run = new_run()
    mv = _create_version(
        registry,
        model,
        source=f"runs:/{run.run_id}/model",
        description="first",
        run_link="http://ui/run",
        tags=[pb.ModelVersionTag(key="k", value="v")],
    )
    assert (mv.name, mv.version, mv.current_stage) == (model, 1, "None")
    assert mv.run_id == run.run_id
    assert mv.storage_location == f"{run.artifact_uri.rstrip('/')}/model"
    assert mv.status == pb.MODEL_VERSION_STATUS_READY
    assert (mv.description, mv.run_link) == ("first", "http://ui/run")
    assert {t.key: t.value for t in mv.tags} == {"k": "v"}


def test_create_model_version_with_artifact_uri_and_run_id_checks_the_run(
    registry, model, new_run, model_source
) -> None:
    run = new_run()
    mv = _create_version(registry, model, source=model_source, run_id=run.run_id)
    assert (mv.run_id, mv.storage_location) == (run.run_id, model_source)


def test_create_model_version_numbers_are_consecutive(registry, model, model_source) -> None:
    assert [_create_version(registry, model, model_source).version for _ in range(3)] == [1, 2, 3]


def test_create_model_version_with_unknown_run_is_not_found_naming_it(registry, model) -> None:
    error = expect_error(
        lambda: _create_version(registry, model, source="runs:/0123456789abcdef0123456789abcdef/m"),
        NOT_FOUND,
        "RESOURCE_DOES_NOT_EXIST",
        "run_id",
    )
    assert "0123456789abcdef0123456789abcdef" in error.details()


def test_create_model_version_with_conflicting_run_ids_is_invalid_argument(
    registry, model, new_run
) -> None:
    run = new_run()
    expect_error(
        lambda: _create_version(
            registry,
            model,
            source=f"runs:/{run.run_id}/m",
            run_id="ffffffffffffffffffffffffffffffff",
        ),
        INVALID,
        "INVALID_PARAMETER_VALUE",
        "run_id",
    )


@pytest.mark.parametrize("source", ["", "runs:/", "runs:///m", "x" * 5001])
def test_create_model_version_with_bad_source_is_invalid_argument(registry, model, source) -> None:
    expect_error(
        lambda: _create_version(registry, model, source=source),
        INVALID,
        "INVALID_PARAMETER_VALUE",
        "source",
    )


def test_create_model_version_of_unknown_model_is_not_found(registry, model_source) -> None:
    expect_error(
        lambda: _create_version(registry, unique_name("missing"), model_source),
        NOT_FOUND,
        "RESOURCE_DOES_NOT_EXIST",
        "name",
    )


def test_get_model_version_of_unknown_version_is_not_found(registry, model) -> None:
    expect_error(
        lambda: registry.GetModelVersion(pb.GetModelVersionRequest(name=model, version=7)),
        NOT_FOUND,
        "RESOURCE_DOES_NOT_EXIST",
        "version",
    )


@pytest.mark.parametrize("version", [0, -3])
def test_version_below_one_is_invalid_argument(registry, model, version) -> None:
    expect_error(
        lambda: registry.GetModelVersion(pb.GetModelVersionRequest(name=model, version=version)),
        INVALID,
        "INVALID_PARAMETER_VALUE",
        "version",
    )


def test_update_model_version_changes_description(registry, model, model_source) -> None:
    _create_version(registry, model, model_source)
    mv = registry.UpdateModelVersion(
        pb.UpdateModelVersionRequest(name=model, version=1, description="better")
    ).model_version
    assert mv.description == "better"
    got = registry.GetModelVersion(pb.GetModelVersionRequest(name=model, version=1))
    assert got.model_version.description == "better"


def test_update_model_version_with_too_long_description_is_invalid_argument(
    registry, model, model_source
) -> None:
    _create_version(registry, model, model_source)
    expect_error(
        lambda: registry.UpdateModelVersion(
            pb.UpdateModelVersionRequest(name=model, version=1, description="d" * 5001)
        ),
        INVALID,
        "INVALID_PARAMETER_VALUE",
        "description",
    )


def test_deleted_version_is_gone_and_its_number_is_not_reused(
    registry, model, model_source
) -> None:
    _create_version(registry, model, model_source)
    _create_version(registry, model, model_source)
    registry.DeleteModelVersion(pb.DeleteModelVersionRequest(name=model, version=2))
    expect_error(
        lambda: registry.GetModelVersion(pb.GetModelVersionRequest(name=model, version=2)),
        NOT_FOUND,
        "RESOURCE_DOES_NOT_EXIST",
    )
    assert _create_version(registry, model, model_source).version == 3
    found = registry.SearchModelVersions(
        pb.SearchModelVersionsRequest(filter=f"name = '{model}'")
    ).model_versions
    assert [mv.version for mv in found] == [3, 1]


def test_delete_unknown_model_version_is_not_found(registry, model) -> None:
    expect_error(
        lambda: registry.DeleteModelVersion(pb.DeleteModelVersionRequest(name=model, version=1)),
        NOT_FOUND,
        "RESOURCE_DOES_NOT_EXIST",
        "version",
    )


def test_set_and_delete_model_version_tag(registry, model, model_source) -> None:
    _create_version(registry, model, model_source)
    registry.SetModelVersionTag(
        pb.SetModelVersionTagRequest(name=model, version=1, key="k", value="v")
    )
    mv = registry.GetModelVersion(pb.GetModelVersionRequest(name=model, version=1)).model_version
    assert {t.key: t.value for t in mv.tags} == {"k": "v"}
    registry.DeleteModelVersionTag(pb.DeleteModelVersionTagRequest(name=model, version=1, key="k"))
    mv = registry.GetModelVersion(pb.GetModelVersionRequest(name=model, version=1)).model_version
    assert list(mv.tags) == []


def test_set_model_version_tag_with_empty_key_is_invalid_argument(
    registry, model, model_source
) -> None:
    _create_version(registry, model, model_source)
    expect_error(
        lambda: registry.SetModelVersionTag(
            pb.SetModelVersionTagRequest(name=model, version=1, key="", value="v")
        ),
        INVALID,
        "INVALID_PARAMETER_VALUE",
        "key",
    )


def test_delete_missing_model_version_tag_is_not_found(registry, model, model_source) -> None:
    _create_version(registry, model, model_source)
    expect_error(
        lambda: registry.DeleteModelVersionTag(
            pb.DeleteModelVersionTagRequest(name=model, version=1, key="nope")
        ),
        NOT_FOUND,
        "RESOURCE_DOES_NOT_EXIST",
        "key",
    )


def test_get_model_version_download_uri_is_the_storage_location(registry, model, new_run) -> None:
    run = new_run()
    _create_version(registry, model, source=f"runs:/{run.run_id}/sk/model")
    uri = registry.GetModelVersionDownloadUri(
        pb.GetModelVersionDownloadUriRequest(name=model, version=1)
    ).artifact_uri
    assert uri == f"{run.artifact_uri.rstrip('/')}/sk/model"


def test_get_model_version_download_uri_of_unknown_version_is_not_found(registry, model) -> None:
    expect_error(
        lambda: registry.GetModelVersionDownloadUri(
            pb.GetModelVersionDownloadUriRequest(name=model, version=1)
        ),
        NOT_FOUND,
        "RESOURCE_DOES_NOT_EXIST",
        "version",
    )


def _transition(registry, name, version, stage, archive=False) -> pb.ModelVersion:  # type: ignore[no-untyped-def]
    return registry.TransitionModelVersionStage(
        pb.TransitionModelVersionStageRequest(
            name=name, version=version, stage=stage, archive_existing_versions=archive
        )
    ).model_version


def test_transition_stage_is_case_insensitive_and_canonicalised(
    registry, model, model_source
) -> None:
    _create_version(registry, model, model_source)
    assert _transition(registry, model, 1, "sTaGiNg").current_stage == "Staging"


def test_transition_with_archive_existing_archives_the_other_versions_in_that_stage(
    registry, model, model_source
) -> None:
    for _ in range(3):
        _create_version(registry, model, model_source)
    _transition(registry, model, 1, "Production")
    _transition(registry, model, 2, "Staging")
    _transition(registry, model, 3, "production", archive=True)
    stages = {
        mv.version: mv.current_stage
        for mv in registry.SearchModelVersions(
            pb.SearchModelVersionsRequest(filter=f"name = '{model}'")
        ).model_versions
    }
    assert stages == {1: "Archived", 2: "Staging", 3: "Production"}


def test_transition_without_archive_keeps_other_versions_in_the_stage(
    registry, model, model_source
) -> None:
    _create_version(registry, model, model_source)
    _create_version(registry, model, model_source)
    _transition(registry, model, 1, "Production")
    _transition(registry, model, 2, "Production")
    latest = registry.GetLatestVersions(
        pb.GetLatestVersionsRequest(name=model, stages=["Production"])
    ).model_versions
    assert [mv.version for mv in latest] == [2]
    assert (
        registry.GetModelVersion(
            pb.GetModelVersionRequest(name=model, version=1)
        ).model_version.current_stage
        == "Production"
    )


def test_transition_to_unknown_stage_is_invalid_argument(registry, model, model_source) -> None:
    _create_version(registry, model, model_source)
    expect_error(
        lambda: _transition(registry, model, 1, "Prod"), INVALID, "INVALID_PARAMETER_VALUE", "stage"
    )


def test_archive_existing_versions_when_moving_to_archived_is_failed_precondition(
    registry, model, model_source
) -> None:
    _create_version(registry, model, model_source)
    expect_error(
        lambda: _transition(registry, model, 1, "Archived", archive=True),
        grpc.StatusCode.FAILED_PRECONDITION,
        "INVALID_STATE",
        "archive_existing_versions",
    )


def test_get_latest_versions_defaults_to_every_stage(registry, model, model_source) -> None:
    for _ in range(4):
        _create_version(registry, model, model_source)
    _transition(registry, model, 1, "Archived")
    _transition(registry, model, 2, "Staging")
    _transition(registry, model, 3, "Production")
    latest = registry.GetLatestVersions(pb.GetLatestVersionsRequest(name=model)).model_versions
    assert [(mv.current_stage, mv.version) for mv in latest] == [
        ("Archived", 1),
        ("None", 4),
        ("Production", 3),
        ("Staging", 2),
    ]
    only = registry.GetLatestVersions(
        pb.GetLatestVersionsRequest(name=model, stages=["staging", "production"])
    ).model_versions
    assert [mv.version for mv in only] == [3, 2]


def test_get_latest_versions_with_unknown_stage_is_invalid_argument(registry, model) -> None:
    expect_error(
        lambda: registry.GetLatestVersions(pb.GetLatestVersionsRequest(name=model, stages=["x"])),
        INVALID,
        "INVALID_PARAMETER_VALUE",
        "stages",
    )


def test_get_latest_versions_of_unknown_model_is_not_found(registry) -> None:
    expect_error(
        lambda: registry.GetLatestVersions(pb.GetLatestVersionsRequest(name="nope-model")),
        NOT_FOUND,
        "RESOURCE_DOES_NOT_EXIST",
        "name",
    )
