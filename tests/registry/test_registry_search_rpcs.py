"""SearchRegisteredModels and SearchModelVersions: filters, order, keyset paging, bad input."""

from __future__ import annotations

import grpc
import pytest
from registry_rpc_helpers import expect_error, unique_name

from mlgrpc.registry.v1 import registry_service_pb2 as pb

INVALID = grpc.StatusCode.INVALID_ARGUMENT


@pytest.fixture(scope="module")
def prefix(registry, model_source) -> str:
    """Five models `<prefix>-0` … `<prefix>-4`; model i has i+1 versions and tag parity."""
    prefix = unique_name("search")
    for i in range(5):
        name = f"{prefix}-{i}"
        registry.CreateRegisteredModel(
            pb.CreateRegisteredModelRequest(
                name=name, tags=[pb.RegisteredModelTag(key="parity", value=str(i % 2))]
            )
        )
        for _ in range(i + 1):
            registry.CreateModelVersion(
                pb.CreateModelVersionRequest(
                    name=name,
                    source=f"{model_source}/{name}",
                    tags=[pb.ModelVersionTag(key="owner", value=f"o{i}")],
                )
            )
    return prefix


def _models(registry, **kwargs) -> pb.SearchRegisteredModelsResponse:  # type: ignore[no-untyped-def]
    return registry.SearchRegisteredModels(pb.SearchRegisteredModelsRequest(**kwargs))


def _versions(registry, **kwargs) -> pb.SearchModelVersionsResponse:  # type: ignore[no-untyped-def]
    return registry.SearchModelVersions(pb.SearchModelVersionsRequest(**kwargs))


def test_search_registered_models_by_name_like(registry, prefix) -> None:
    found = _models(registry, filter=f"name LIKE '{prefix}-%'").registered_models
    assert [m.name for m in found] == [f"{prefix}-{i}" for i in range(5)]


def test_search_registered_models_like_is_case_sensitive(registry, prefix) -> None:
    assert not _models(registry, filter=f"name LIKE '{prefix.upper()}-%'").registered_models
    found = _models(registry, filter=f"name ILIKE '{prefix.upper()}-%'").registered_models
    assert len(found) == 5


def test_search_registered_models_by_exact_name_and_tag(registry, prefix) -> None:
    found = _models(registry, filter=f"name = '{prefix}-3' AND tags.parity = '1'").registered_models
    assert [m.name for m in found] == [f"{prefix}-3"]
    assert not _models(
        registry, filter=f"name = '{prefix}-3' AND tags.parity = '0'"
    ).registered_models


def test_search_registered_models_orders_and_pages_with_keyset_tokens(registry, prefix) -> None:
    seen: list[str] = []
    token = ""
    while True:
        page = _models(
            registry,
            filter=f"name LIKE '{prefix}-%'",
            order_by=["creation_timestamp DESC"],
            max_results=2,
            page_token=token,
        )
        seen += [m.name for m in page.registered_models]
        token = page.next_page_token
        if not token:
            break
    assert sorted(seen) == [f"{prefix}-{i}" for i in range(5)]
    assert len(seen) == len(set(seen))


def test_search_registered_models_includes_latest_versions(registry, prefix) -> None:
    (model,) = _models(registry, filter=f"name = '{prefix}-2'").registered_models
    assert [(mv.current_stage, mv.version) for mv in model.latest_versions] == [("None", 3)]


@pytest.mark.parametrize(
    "bad_filter",
    ["name = 'a' OR name = 'b'", "run_id = 'x'", "name >", "name < 'a'", "tags.k IN ('a')"],
)
def test_search_registered_models_with_bad_filter_is_invalid_argument(registry, bad_filter) -> None:
    expect_error(
        lambda: _models(registry, filter=bad_filter), INVALID, "INVALID_PARAMETER_VALUE", "filter"
    )


@pytest.mark.parametrize("max_results", [-1, 1001])
def test_search_registered_models_with_bad_max_results_is_invalid_argument(
    registry, max_results
) -> None:
    expect_error(
        lambda: _models(registry, max_results=max_results),
        INVALID,
        "INVALID_PARAMETER_VALUE",
        "max_results",
    )


def test_search_registered_models_with_bad_order_by_is_invalid_argument(registry) -> None:
    expect_error(
        lambda: _models(registry, order_by=["size DESC"]),
        INVALID,
        "INVALID_PARAMETER_VALUE",
        "order_by",
    )


def test_page_token_of_another_query_is_invalid_argument(registry, prefix) -> None:
    token = _models(registry, filter=f"name LIKE '{prefix}-%'", max_results=1).next_page_token
    expect_error(
        lambda: _models(registry, filter="name LIKE 'x%'", max_results=1, page_token=token),
        INVALID,
        "INVALID_PARAMETER_VALUE",
        "page_token",
    )
    expect_error(
        lambda: _models(registry, page_token="garbage"),
        INVALID,
        "INVALID_PARAMETER_VALUE",
        "page_token",
    )


def test_search_model_versions_by_name_and_version_number(registry, prefix) -> None:
    found = _versions(
        registry, filter=f"name = '{prefix}-4' AND version_number >= 3"
    ).model_versions
    assert [mv.version for mv in found] == [5, 4, 3]


def test_search_model_versions_with_name_in_and_tag(registry, prefix) -> None:
    found = _versions(
        registry,
        filter=f"name IN ('{prefix}-0', '{prefix}-1') AND tags.owner = 'o1'",
        order_by=["version_number ASC"],
    ).model_versions
    assert [(mv.name, mv.version) for mv in found] == [(f"{prefix}-1", 1), (f"{prefix}-1", 2)]


def test_search_model_versions_pages_through_every_version_once(registry, prefix) -> None:
    seen: list[tuple[str, int]] = []
    token = ""
    while True:
        page = _versions(
            registry, filter=f"name LIKE '{prefix}-%'", max_results=4, page_token=token
        )
        seen += [(mv.name, mv.version) for mv in page.model_versions]
        token = page.next_page_token
        if not token:
            break
    assert len(seen) == 15 and len(set(seen)) == 15


def test_search_model_versions_by_run_id_in(registry, new_run) -> None:
    run = new_run()
    name = unique_name()
    registry.CreateRegisteredModel(pb.CreateRegisteredModelRequest(name=name))
    registry.CreateModelVersion(
        pb.CreateModelVersionRequest(name=name, source=f"runs:/{run.run_id}/model")
    )
    found = _versions(registry, filter=f"run_id IN ('{run.run_id}', 'other')").model_versions
    assert [(mv.name, mv.version) for mv in found] == [(name, 1)]


@pytest.mark.parametrize(
    "bad_filter", ["version_number = 'one'", "stage = 'x'", "run_id LIKE 'a%'", "name = "]
)
def test_search_model_versions_with_bad_filter_is_invalid_argument(registry, bad_filter) -> None:
    expect_error(
        lambda: _versions(registry, filter=bad_filter), INVALID, "INVALID_PARAMETER_VALUE", "filter"
    )
