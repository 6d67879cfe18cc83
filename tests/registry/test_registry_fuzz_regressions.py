"""Bugs the contract fuzzer (tests/fuzz) found in the registry service, one test each."""

from __future__ import annotations

import grpc
import pytest
from registry_rpc_helpers import expect_error, unique_name

from mlgrpc import error_reasons as reasons
from mlgrpc.registry.v1 import registry_service_pb2 as pb

INVALID = grpc.StatusCode.INVALID_ARGUMENT
BAD_VALUE = reasons.INVALID_PARAMETER_VALUE


@pytest.fixture
def model_with_version(registry, new_run) -> str:
    name = unique_name()
    registry.CreateRegisteredModel(pb.CreateRegisteredModelRequest(name=name))
    run = new_run()
    registry.CreateModelVersion(
        pb.CreateModelVersionRequest(name=name, source=f"runs:/{run.run_id}/model")
    )
    return name


@pytest.mark.parametrize("number", ["9223372036854775808", "9" * 5001])
def test_filter_number_beyond_64_bits_is_invalid_argument(registry, number: str) -> None:
    # Was INTERNAL: SQLite's driver raised OverflowError; int() refused over 4,300 digits.
    expect_error(
        lambda: registry.SearchModelVersions(
            pb.SearchModelVersionsRequest(filter=f"version_number = {number}")
        ),
        INVALID,
        BAD_VALUE,
        field="filter",
    )


@pytest.mark.parametrize("key", ["a\x00b", "line\n", "esc\x1b[0m", "del\x7f"])
def test_control_characters_in_tag_keys_are_invalid_argument(
    registry, model_with_version: str, key: str
) -> None:
    name = model_with_version
    expect_error(
        lambda: registry.SetRegisteredModelTag(
            pb.SetRegisteredModelTagRequest(name=name, key=key, value="v")
        ),
        INVALID,
        BAD_VALUE,
        field="key",
    )
    expect_error(
        lambda: registry.SetModelVersionTag(
            pb.SetModelVersionTagRequest(name=name, version=1, key=key, value="v")
        ),
        INVALID,
        BAD_VALUE,
        field="key",
    )
    expect_error(
        lambda: registry.CreateRegisteredModel(
            pb.CreateRegisteredModelRequest(
                name=unique_name(), tags=[pb.RegisteredModelTag(key=key, value="v")]
            )
        ),
        INVALID,
        BAD_VALUE,
        field="tags",
    )


def test_alias_ending_in_a_newline_is_invalid_argument(registry, model_with_version: str) -> None:
    # Was accepted: the alias pattern ended in "$", which also matches before a final newline.
    expect_error(
        lambda: registry.SetRegisteredModelAlias(
            pb.SetRegisteredModelAliasRequest(
                name=model_with_version, alias="champion\n", version=1
            )
        ),
        INVALID,
        BAD_VALUE,
        field="alias",
    )


def test_control_characters_in_a_version_source_are_invalid_argument(
    registry, model_with_version: str, new_run
) -> None:
    run = new_run()
    expect_error(
        lambda: registry.CreateModelVersion(
            pb.CreateModelVersionRequest(
                name=model_with_version, source=f"runs:/{run.run_id}/mo\x00del"
            )
        ),
        INVALID,
        BAD_VALUE,
        field="source",
    )
