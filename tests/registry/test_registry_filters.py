"""The registry's filter language: parsing, and rejection of anything else as INVALID_ARGUMENT."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlgrpc_server.errors import InvalidArgument
from registry_service.store.filters import Clause, parse_filter, parse_order_by
from registry_service.store.search import MODEL_ORDER_KEYS
from registry_service.uris import parse_models_uri


def test_empty_filter_has_no_clauses() -> None:
    assert parse_filter("") == []
    assert parse_filter("   ") == []


def test_clauses_joined_by_and_in_any_case() -> None:
    assert parse_filter("name LIKE 'a%' and tags.team = \"ml\" AND version_number >= 3") == [
        Clause("attribute", "name", "LIKE", "a%"),
        Clause("tag", "team", "=", "ml"),
        Clause("attribute", "version_number", ">=", 3),
    ]


def test_backticked_tag_keys_and_attribute_prefixes() -> None:
    assert parse_filter("tags.`my key.x` != 'v' AND attributes.name = 'n'") == [
        Clause("tag", "my key.x", "!=", "v"),
        Clause("attribute", "name", "=", "n"),
    ]


def test_in_and_not_in_lists() -> None:
    assert parse_filter("run_id IN ('a', 'b') AND name NOT IN ('c')") == [
        Clause("attribute", "run_id", "IN", ("a", "b")),
        Clause("attribute", "name", "NOT IN", ("c",)),
    ]


@pytest.mark.parametrize(
    "bad",
    [
        "name = 'a' OR name = 'b'",
        "name = 'a' AND",
        "name",
        "name =",
        "= 'a'",
        "name = 'unterminated",
        "name IN 'a'",
        "name IN ('a' 'b')",
        "name NOT LIKE 'a'",
        "tags. = 'x'",
    ],
)
def test_malformed_filters_are_invalid_argument(bad: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        parse_filter(bad)
    assert caught.value.field == "filter"


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_any_text_parses_or_is_invalid_argument(text: str) -> None:
    try:
        parse_filter(text)
    except InvalidArgument:
        pass


def test_order_by_accepts_aliases_and_directions() -> None:
    keys = parse_order_by(["timestamp DESC", "name"], MODEL_ORDER_KEYS)
    assert [(k.key, k.descending) for k in keys] == [
        ("creation_timestamp", True),
        ("name", False),
    ]


@pytest.mark.parametrize("bad", ["", "size", "name UP", "name ASC extra"])
def test_bad_order_by_is_invalid_argument(bad: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        parse_order_by([bad], MODEL_ORDER_KEYS)
    assert caught.value.field == "order_by"


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_any_models_uri_parses_or_is_invalid_argument(text: str) -> None:
    try:
        parse_models_uri("models:/" + text)
    except InvalidArgument as error:
        assert error.field == "model_uri"
