"""SearchExperiments: filter on name, tags and times; order; keyset paging."""

from __future__ import annotations

import pytest

from mlgrpc_server.errors import InvalidArgument
from tracking_service.store.sql_store import SqlTrackingStore


@pytest.fixture(scope="module")
def family(store: SqlTrackingStore) -> dict[str, str]:
    """Five experiments named fam-<n>; the even ones tagged color=red, the others blue."""
    ids = {}
    for n in range(5):
        color = "red" if n % 2 == 0 else "blue"
        ids[f"fam-{n}"] = store.create_experiment(f"fam-{n}", tags={"color": color})
    return ids


def _names(store: SqlTrackingStore, text: str, **kwargs: object) -> list[str]:
    return [e.name for e in store.search_experiments(text, **kwargs).items]  # type: ignore[arg-type]


def test_filter_by_name_like(store: SqlTrackingStore, family: dict[str, str]) -> None:
    assert sorted(_names(store, "name LIKE 'fam-%'")) == sorted(family)


def test_filter_by_name_like_is_case_sensitive_and_ilike_is_not(
    store: SqlTrackingStore, family: dict[str, str]
) -> None:
    assert _names(store, "name LIKE 'FAM-%'") == []
    assert sorted(_names(store, "name ILIKE 'FAM-%'")) == sorted(family)


def test_filter_by_tag(store: SqlTrackingStore, family: dict[str, str]) -> None:
    red = _names(store, "name LIKE 'fam-%' AND tags.color = 'red'")
    assert sorted(red) == ["fam-0", "fam-2", "fam-4"]


def test_filter_by_experiment_id_in(store: SqlTrackingStore, family: dict[str, str]) -> None:
    wanted = [family["fam-1"], family["fam-3"]]
    text = f"experiment_id IN ({', '.join(repr(i) for i in wanted)})"
    assert sorted(_names(store, text)) == ["fam-1", "fam-3"]


def test_filter_by_creation_time(store: SqlTrackingStore, family: dict[str, str]) -> None:
    assert _names(store, "name LIKE 'fam-%' AND creation_time < 0") == []
    assert len(_names(store, "name LIKE 'fam-%' AND creation_time > 0")) == 5


def test_order_by_name_desc(store: SqlTrackingStore, family: dict[str, str]) -> None:
    names = _names(store, "name LIKE 'fam-%'", order_by=["name DESC"])
    assert names == sorted(family, reverse=True)


def test_paging_through_experiments_visits_each_once(
    store: SqlTrackingStore, family: dict[str, str]
) -> None:
    seen, token = [], ""
    while True:
        page = store.search_experiments(
            "name LIKE 'fam-%'", order_by=["name"], max_results=2, page_token=token
        )
        seen += [e.name for e in page.items]
        token = page.next_page_token
        if not token:
            break
    assert seen == sorted(family)


def test_unknown_experiment_attribute_is_invalid(store: SqlTrackingStore) -> None:
    with pytest.raises(InvalidArgument, match="unknown experiment attribute"):
        store.search_experiments("colour = 'x'")


def test_experiment_token_is_rejected_by_another_filter(
    store: SqlTrackingStore, family: dict[str, str]
) -> None:
    page = store.search_experiments("name LIKE 'fam-%'", max_results=1)
    with pytest.raises(InvalidArgument, match="another query"):
        store.search_experiments("name LIKE 'f%'", max_results=1, page_token=page.next_page_token)
