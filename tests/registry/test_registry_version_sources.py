"""CreateModelVersion's `source` is checked when it is made: `runs:/` paths stay inside the run,
`models:/` copies the version it names, other locations lie under the artifact root."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest
from registry_rpc_helpers import expect_error, unique_name

from mlgrpc.registry.v1 import registry_service_pb2 as pb

INVALID = grpc.StatusCode.INVALID_ARGUMENT
BAD_VALUE = "INVALID_PARAMETER_VALUE"


@pytest.fixture
def model(registry) -> str:
    name = unique_name("sources")
    registry.CreateRegisteredModel(pb.CreateRegisteredModelRequest(name=name))
    return name


def _create(registry, name: str, source: str, run_id: str = "") -> pb.ModelVersion:
    request = pb.CreateModelVersionRequest(name=name, source=source, run_id=run_id)
    return registry.CreateModelVersion(request).model_version


@pytest.mark.parametrize(
    "source",
    [
        "/etc",
        "file:///etc/passwd",
        "file://otherhost/models/m",
        "http://169.254.169.254/latest/meta-data",
        "https://example.com/model.pkl",
        "ftp://x/model",
        "relative/model",
        "s3://bucket/model",
    ],
)
def test_source_outside_the_root_or_of_another_scheme_is_invalid_argument(
    registry, model, source
) -> None:
    expect_error(lambda: _create(registry, model, source), INVALID, BAD_VALUE, "source")


@pytest.mark.parametrize("path", ["..", "../../..", "model/../../..", "a/../..", "..\\..\\etc"])
def test_runs_source_leaving_the_run_is_invalid_argument(registry, model, new_run, path) -> None:
    run = new_run()
    source = f"runs:/{run.run_id}/{path}"
    expect_error(lambda: _create(registry, model, source), INVALID, BAD_VALUE, "source")


def test_source_escaping_the_root_with_dot_dot_is_invalid_argument(
    registry, model, artifact_root: Path
) -> None:
    source = f"{artifact_root.as_uri()}/../{artifact_root.name}-sibling/m"
    expect_error(lambda: _create(registry, model, source), INVALID, BAD_VALUE, "source")


def test_nothing_is_created_for_a_refused_source(registry, model) -> None:
    expect_error(lambda: _create(registry, model, "/etc"), INVALID, BAD_VALUE, "source")
    versions = registry.SearchModelVersions(pb.SearchModelVersionsRequest(filter=f"name='{model}'"))
    assert list(versions.model_versions) == []


def test_runs_source_is_normalised_and_resolves_inside_the_run(registry, model, new_run) -> None:
    run = new_run()
    mv = _create(registry, model, f"runs:/{run.run_id}/sk/./x/../model/")
    assert mv.source == f"runs:/{run.run_id}/sk/model"
    assert mv.storage_location == f"{run.artifact_uri.rstrip('/')}/sk/model"
    assert mv.status == pb.MODEL_VERSION_STATUS_READY


@pytest.mark.parametrize("form", ["uri", "path"])
def test_source_under_the_root_is_accepted_in_canonical_form(
    registry, model, artifact_root: Path, form: str
) -> None:
    place = artifact_root / "models" / model
    mv = _create(registry, model, place.as_uri() if form == "uri" else str(place))
    assert (mv.source, mv.storage_location) == (place.as_uri(), place.as_uri())


def test_models_source_copies_the_version_it_names(registry, model, new_run) -> None:
    run = new_run()
    first = _create(registry, model, f"runs:/{run.run_id}/model")
    registry.SetRegisteredModelAlias(
        pb.SetRegisteredModelAliasRequest(name=model, alias="champion", version=first.version)
    )
    copy_name = unique_name("copy")
    registry.CreateRegisteredModel(pb.CreateRegisteredModelRequest(name=copy_name))
    copy = _create(registry, copy_name, f"models:/{model}@champion")
    assert copy.source == f"models:/{model}@champion"
    assert (copy.run_id, copy.storage_location) == (run.run_id, first.storage_location)
    resolved = registry.ResolveModelUri(
        pb.ResolveModelUriRequest(model_uri=f"models:/{copy_name}/1")
    )
    assert (resolved.run_id, resolved.artifact_path) == (run.run_id, "model")


def test_models_source_naming_nothing_is_not_found(registry, model) -> None:
    expect_error(
        lambda: _create(registry, model, f"models:/{unique_name('nobody')}/1"),
        grpc.StatusCode.NOT_FOUND,
        "RESOURCE_DOES_NOT_EXIST",
    )


@pytest.mark.parametrize("source", ["models:/x", "models:/x/1/extra", "models:/x@"])
def test_malformed_models_source_is_invalid_argument(registry, model, source) -> None:
    expect_error(lambda: _create(registry, model, source), INVALID, BAD_VALUE, "source")
