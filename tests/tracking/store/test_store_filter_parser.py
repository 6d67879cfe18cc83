"""The filter parser on its own: the grammar, and garbage that must only ever be InvalidArgument."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.dialects import mysql, postgresql, sqlite

from mlgrpc_server.errors import InvalidArgument
from tracking_service.store.portable.search import parse_filter, parse_order_by
from tracking_service.store.portable.search.ast import ATTRIBUTE, METRIC, PARAM, TAG
from tracking_service.store.portable.search.experiment_query import experiment_filter
from tracking_service.store.portable.search.run_query import run_filter

DIALECTS = (sqlite.dialect(), mysql.dialect(), postgresql.dialect())


def test_parses_conditions_joined_by_and_case_insensitively() -> None:
    first, second = parse_filter("metrics.rmse < 0.5 aNd params.alpha = '0.1'")
    assert (first.target.entity, first.target.key, first.operator, first.value) == (
        METRIC, "rmse", "<", 0.5,
    )  # fmt: skip
    assert (second.target.entity, second.operator, second.value) == (PARAM, "=", "0.1")


@pytest.mark.parametrize(
    ("text", "entity", "key"),
    [
        ("tags.`mlflow.user` = 'x'", TAG, "mlflow.user"),
        ("tags.\"my key\" = 'x'", TAG, "my key"),
        ("tags.mlflow.runName = 'x'", TAG, "mlflow.runName"),
        ("tags.`it``s` = 'x'", TAG, "it`s"),
        ("status = 'x'", ATTRIBUTE, "status"),
        ("run.status = 'x'", ATTRIBUTE, "status"),
    ],
)
def test_parses_quoted_and_dotted_keys(text: str, entity: str, key: str) -> None:
    (condition,) = parse_filter(text)
    assert (condition.target.entity, condition.target.key) == (entity, key)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("params.p = 'it''s'", "it's"),
        ("params.p = 'it\\'s'", "it's"),
        ('params.p = "dq"', "dq"),
        ("metrics.m = -1.5e3", -1500.0),
        ("metrics.m = 42", 42),
        ("params.p IN ('a', \"b\")", ("a", "b")),
    ],
)
def test_parses_literals(text: str, value: object) -> None:
    (condition,) = parse_filter(text)
    assert condition.value == value


@pytest.mark.parametrize(
    ("text", "operator"),
    [
        ("params.p IS NULL", "IS NULL"),
        ("params.p is not null", "IS NOT NULL"),
        ("params.p NOT LIKE 'a'", "NOT LIKE"),
        ("params.p NOT IN ('a')", "NOT IN"),
        ("metrics.m <> 1", "!="),
        ("metrics.m == 1", "="),
    ],
)
def test_parses_operators(text: str, operator: str) -> None:
    (condition,) = parse_filter(text)
    assert condition.operator == operator


def test_empty_and_blank_filters_have_no_conditions() -> None:
    assert parse_filter("") == ()
    assert parse_filter("   ") == ()


def test_order_by_parses_direction() -> None:
    term = parse_order_by("metrics.`val loss` desc")
    assert (term.target.key, term.descending) == ("val loss", True)
    assert parse_order_by("attributes.start_time").descending is False


def test_trailing_and_is_invalid_at_the_end() -> None:
    with pytest.raises(InvalidArgument, match="at character 18 .the end.: expected an identifier"):
        parse_filter("metrics.m = 1 and")


_ALPHABET = st.sampled_from(
    list("abcmetrisparmtg.`'\"()=<>!, -+0123456789eE_%\\\n\t")
    + ["metrics.", "params.", "tags.", "attributes.", " AND ", " OR ", " IN ", " NOT ",
       " LIKE ", " ILIKE ", " IS ", " NULL", "'x'", "`k`", "1.5"]
)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.lists(_ALPHABET, max_size=30).map("".join))
def test_grammar_shaped_garbage_only_ever_raises_invalid_argument(text: str) -> None:
    try:
        conditions = [
            *run_filter(parse_filter(text), text),
            *experiment_filter(parse_filter(text), text),
        ]
    except InvalidArgument:
        return
    for dialect in DIALECTS:  # and what it accepts compiles on every database
        for condition in conditions:
            condition.compile(dialect=dialect)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_arbitrary_text_only_ever_raises_invalid_argument(text: str) -> None:
    try:
        run_filter(parse_filter(text), text)
    except InvalidArgument:
        pass
    try:
        parse_order_by(text)
    except InvalidArgument:
        pass


def test_like_is_case_sensitive_everywhere_glob_on_sqlite() -> None:
    (condition,) = run_filter(parse_filter("params.alpha LIKE 'a_b%'"), "")
    sql = {d.name: str(condition.compile(dialect=d, compile_kwargs={"literal_binds": True}))
           for d in DIALECTS}  # fmt: skip
    assert "GLOB 'a?b*'" in sql["sqlite"]
    for name in ("mysql", "postgresql"):  # (their drivers' paramstyle doubles a literal %)
        assert sql[name].endswith("params.value LIKE 'a_b%%')"), sql[name]
