"""The parsed form of a filter or an order_by clause; plain data, no SQL."""

from __future__ import annotations

from dataclasses import dataclass

#: A literal of the filter language: a quoted string, a number, or a tuple of them (for IN).
Literal = str | int | float | tuple[str | int | float, ...] | None

METRIC = "metric"
PARAM = "param"
TAG = "tag"
ATTRIBUTE = "attribute"
DATASET = "dataset"

#: Spellings of each entity prefix, as MLflow accepts them (lower-cased).
ENTITY_ALIASES = {
    "metric": METRIC,
    "metrics": METRIC,
    "param": PARAM,
    "params": PARAM,
    "parameter": PARAM,
    "parameters": PARAM,
    "tag": TAG,
    "tags": TAG,
    "attribute": ATTRIBUTE,
    "attributes": ATTRIBUTE,
    "attr": ATTRIBUTE,
    "run": ATTRIBUTE,
    "dataset": DATASET,
    "datasets": DATASET,
}

COMPARISONS = ("=", "!=", "<", "<=", ">", ">=")
STRING_OPERATORS = ("LIKE", "ILIKE", "NOT LIKE", "NOT ILIKE")
SET_OPERATORS = ("IN", "NOT IN")
NULL_OPERATORS = ("IS NULL", "IS NOT NULL")


@dataclass(frozen=True)
class Identifier:
    """`<entity>.<key>`; a bare word (no prefix) is an attribute."""

    entity: str  # METRIC, PARAM, TAG, ATTRIBUTE or DATASET
    key: str
    position: int  # 0-based offset of the identifier in the text
    text: str  # as written, for messages


@dataclass(frozen=True)
class Condition:
    target: Identifier
    operator: str  # one of COMPARISONS, STRING_OPERATORS, SET_OPERATORS, NULL_OPERATORS
    value: Literal
    position: int  # of the operator
    value_is_string: bool  # the literal (or every element of a tuple) was quoted


@dataclass(frozen=True)
class OrderTerm:
    target: Identifier
    descending: bool
