"""MLflow 3 LoggedModels in the registry: ResolveModelUri of `models:/m-<id>` (asked of the
tracking service), and model versions that register a LoggedModel."""

from __future__ import annotations

import grpc
import pytest
from registry_rpc_helpers import expect_error, unique_name

from mlgrpc.registry.v1 import registry_service_pb2 as pb
from mlgrpc.tracking.v1 import logged_models_pb2 as lm
from mlgrpc.tracking.v1 import tracking_service_pb2 as tracking_pb

NOT_FOUND = grpc.StatusCode.NOT_FOUND
INVALID = grpc.StatusCode.INVALID_ARGUMENT
MISSING = "m-" + "0" * 32


@pytest.fixture
def logged(tracking) -> lm.LoggedModel:  # type: ignore[no-untyped-def]
    run = tracking.CreateRun(tracking_pb.CreateRunRequest(experiment_id="0")).run
    request = lm.CreateLoggedModelRequest(
        experiment_id="0", name="model", source_run_id=run.info.run_id
    )
    return tracking.CreateLoggedModel(request).model


def test_resolve_logged_model_uri_names_its_artifacts_and_run(registry, logged) -> None:
    resolved = registry.ResolveModelUri(
        pb.ResolveModelUriRequest(model_uri=f"models:/{logged.model_id}")
    )
    assert resolved.model_id == logged.model_id
    assert resolved.storage_location == logged.artifact_location
    assert resolved.run_id == logged.source_run_id
    assert not resolved.HasField("model_version")


def test_resolve_missing_logged_model_is_not_found(registry) -> None:
    expect_error(
        lambda: registry.ResolveModelUri(pb.ResolveModelUriRequest(model_uri=f"models:/{MISSING}")),
        NOT_FOUND,
        "RESOURCE_DOES_NOT_EXIST",
        "model_uri",
    )


def test_version_from_a_logged_model_uri_points_at_it(registry, logged) -> None:
    name = unique_name()
    registry.CreateRegisteredModel(pb.CreateRegisteredModelRequest(name=name))
    version = registry.CreateModelVersion(
        pb.CreateModelVersionRequest(name=name, source=f"models:/{logged.model_id}")
    ).model_version
    assert version.model_id == logged.model_id
    assert version.run_id == logged.source_run_id
    assert version.storage_location == logged.artifact_location
    resolved = registry.ResolveModelUri(pb.ResolveModelUriRequest(model_uri=f"models:/{name}/1"))
    assert resolved.model_id == logged.model_id
    got = registry.GetModelVersion(pb.GetModelVersionRequest(name=name, version=1))
    assert got.model_version.model_id == logged.model_id


def test_version_naming_a_missing_logged_model_is_not_found(registry, model_source) -> None:
    name = unique_name()
    registry.CreateRegisteredModel(pb.CreateRegisteredModelRequest(name=name))
    expect_error(
        lambda: registry.CreateModelVersion(
            pb.CreateModelVersionRequest(name=name, source=model_source, model_id=MISSING)
        ),
        NOT_FOUND,
        "RESOURCE_DOES_NOT_EXIST",
        "model_id",
    )
    expect_error(
        lambda: registry.CreateModelVersion(
            pb.CreateModelVersionRequest(name=name, source=f"models:/{MISSING}")
        ),
        NOT_FOUND,
        "RESOURCE_DOES_NOT_EXIST",
        "source",
    )
