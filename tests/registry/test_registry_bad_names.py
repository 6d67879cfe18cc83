"""Every RPC that takes a model name answers an empty one with INVALID_ARGUMENT naming `name`."""

from __future__ import annotations

import grpc
import pytest
from registry_rpc_helpers import expect_error, unique_name

from mlgrpc.registry.v1 import registry_service_pb2 as pb

REQUESTS = [
    ("CreateRegisteredModel", pb.CreateRegisteredModelRequest()),
    ("GetRegisteredModel", pb.GetRegisteredModelRequest()),
    ("RenameRegisteredModel", pb.RenameRegisteredModelRequest(new_name="x")),
    ("UpdateRegisteredModel", pb.UpdateRegisteredModelRequest()),
    ("DeleteRegisteredModel", pb.DeleteRegisteredModelRequest()),
    ("SetRegisteredModelTag", pb.SetRegisteredModelTagRequest(key="k")),
    ("DeleteRegisteredModelTag", pb.DeleteRegisteredModelTagRequest(key="k")),
    ("CreateModelVersion", pb.CreateModelVersionRequest(source="file:///m")),
    ("GetModelVersion", pb.GetModelVersionRequest(version=1)),
    ("UpdateModelVersion", pb.UpdateModelVersionRequest(version=1)),
    ("DeleteModelVersion", pb.DeleteModelVersionRequest(version=1)),
    ("SetModelVersionTag", pb.SetModelVersionTagRequest(version=1, key="k")),
    ("DeleteModelVersionTag", pb.DeleteModelVersionTagRequest(version=1, key="k")),
    ("GetModelVersionDownloadUri", pb.GetModelVersionDownloadUriRequest(version=1)),
    ("TransitionModelVersionStage", pb.TransitionModelVersionStageRequest(version=1, stage="None")),
    ("GetLatestVersions", pb.GetLatestVersionsRequest()),
    ("SetRegisteredModelAlias", pb.SetRegisteredModelAliasRequest(alias="a", version=1)),
    ("DeleteRegisteredModelAlias", pb.DeleteRegisteredModelAliasRequest(alias="a")),
    ("GetModelVersionByAlias", pb.GetModelVersionByAliasRequest(alias="a")),
]


@pytest.mark.parametrize(("method", "request_message"), REQUESTS, ids=[m for m, _ in REQUESTS])
def test_empty_name_is_invalid_argument(registry, method, request_message) -> None:
    expect_error(
        lambda: getattr(registry, method)(request_message),
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_PARAMETER_VALUE",
        "name",
    )


def test_watch_with_empty_name_is_invalid_argument(registry) -> None:
    expect_error(
        lambda: next(iter(registry.WatchRegisteredModel(pb.WatchRegisteredModelRequest()))),
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_PARAMETER_VALUE",
        "name",
    )


def test_service_still_answers_after_bad_requests(registry) -> None:
    response = registry.SearchRegisteredModels(pb.SearchRegisteredModelsRequest(max_results=1))
    assert response is not None


#: Names that would make a `models:/` URI of the model name another model (or none).
AMBIGUOUS_NAMES = ["a@b", "a@champion", "a/b", "a?b", "a#b", "a%40b", "a\\b", ".", "..", "  "]


@pytest.mark.parametrize("name", AMBIGUOUS_NAMES)
def test_create_with_a_name_ambiguous_in_uris_is_invalid_argument(registry, name) -> None:
    expect_error(
        lambda: registry.CreateRegisteredModel(pb.CreateRegisteredModelRequest(name=name)),
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_PARAMETER_VALUE",
        "name",
    )


@pytest.mark.parametrize("name", AMBIGUOUS_NAMES)
def test_rename_to_a_name_ambiguous_in_uris_is_invalid_argument(registry, name) -> None:
    old = unique_name("rename-from")
    registry.CreateRegisteredModel(pb.CreateRegisteredModelRequest(name=old))
    expect_error(
        lambda: registry.RenameRegisteredModel(
            pb.RenameRegisteredModelRequest(name=old, new_name=name)
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_PARAMETER_VALUE",
        "new_name",
    )
    assert registry.GetRegisteredModel(pb.GetRegisteredModelRequest(name=old))


@pytest.mark.parametrize("prefix", ["wine", "team.wine v2", "ns:wine_1", "vin-rouge-é"])
def test_ordinary_names_are_accepted_and_resolve(registry, prefix) -> None:
    name = unique_name(prefix)
    registry.CreateRegisteredModel(pb.CreateRegisteredModelRequest(name=name))
    expect_error(
        lambda: registry.ResolveModelUri(pb.ResolveModelUriRequest(model_uri=f"models:/{name}/1")),
        grpc.StatusCode.NOT_FOUND,
        "RESOURCE_DOES_NOT_EXIST",
    )
