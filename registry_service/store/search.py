"""Filter clauses and order keys of the registry's searches → SQL conditions and columns."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, exists, select

from mlgrpc_server.errors import InvalidArgument
from registry_service.store.filters import Clause, Value
from registry_service.store.models import (
    ModelVersionRow,
    ModelVersionTagRow,
    RegisteredModelRow,
    RegisteredModelTagRow,
)

_STRING_OPS = ("=", "!=", "LIKE", "ILIKE")
_NUMERIC_OPS = ("=", "!=", "<", "<=", ">", ">=")

#: order_by spellings → canonical key
MODEL_ORDER_KEYS = {
    "name": "name",
    "creation_timestamp": "creation_timestamp",
    "timestamp": "creation_timestamp",
    "last_updated_timestamp": "last_updated_timestamp",
}
VERSION_ORDER_KEYS = {
    "name": "name",
    "version_number": "version_number",
    "creation_timestamp": "creation_timestamp",
    "timestamp": "creation_timestamp",
    "last_updated_timestamp": "last_updated_timestamp",
}


def _unsupported(clause: Clause, allowed: Sequence[str]) -> InvalidArgument:
    name = clause.key if clause.entity == "attribute" else f"tags.{clause.key}"
    return InvalidArgument(
        f"invalid filter: operator {clause.op} is not supported for {name}; use one of "
        f"{', '.join(allowed)}",
        field="filter",
    )


def compare(column: Any, clause: Clause, allowed: Sequence[str]) -> ColumnElement[bool]:
    """`column <op> value` for the ops in `allowed` (strings or numbers, per the clause)."""
    op, value = clause.op, clause.value
    if op not in allowed:
        raise _unsupported(clause, allowed)
    numeric = allowed is _NUMERIC_OPS or "<" in allowed
    values = value if isinstance(value, tuple) else (value,)
    for item in values:
        if numeric != isinstance(item, int):
            kind = "a number" if numeric else "a quoted string"
            raise InvalidArgument(
                f"invalid filter: {clause.key} is compared with {item!r}; give {kind}",
                field="filter",
            )
    scalar: Value = values[0]
    if op == "IN":
        return column.in_(values)
    if op == "NOT IN":
        return column.not_in(values)
    if op == "LIKE":
        return column.like(scalar)
    if op == "ILIKE":
        return column.ilike(scalar)
    return {
        "=": column == scalar,
        "!=": column != scalar,
        "<": column < scalar,
        "<=": column <= scalar,
        ">": column > scalar,
        ">=": column >= scalar,
    }[op]


def model_conditions(clauses: Sequence[Clause]) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    for clause in clauses:
        if clause.entity == "tag":
            conditions.append(
                exists(
                    select(RegisteredModelTagRow.model_id).where(
                        RegisteredModelTagRow.model_id == RegisteredModelRow.id,
                        RegisteredModelTagRow.key == clause.key,
                        compare(RegisteredModelTagRow.value, clause, _STRING_OPS),
                    )
                )
            )
        elif clause.key == "name":
            conditions.append(
                compare(RegisteredModelRow.name, clause, (*_STRING_OPS, "IN", "NOT IN"))
            )
        else:
            raise InvalidArgument(
                f"invalid filter: registered models can be filtered by name and tags.<key>, "
                f"not by {clause.key!r}",
                field="filter",
            )
    return conditions


def version_conditions(clauses: Sequence[Clause]) -> list[ColumnElement[bool]]:
    """Conditions on ModelVersionRow joined with RegisteredModelRow."""
    conditions: list[ColumnElement[bool]] = []
    string_in = (*_STRING_OPS, "IN", "NOT IN")
    attributes: dict[str, tuple[Any, Sequence[str]]] = {
        "name": (RegisteredModelRow.name, string_in),
        "run_id": (ModelVersionRow.run_id, ("=", "!=", "IN", "NOT IN")),
        "source_path": (ModelVersionRow.source, _STRING_OPS),
        "version_number": (ModelVersionRow.version, (*_NUMERIC_OPS, "IN", "NOT IN")),
        "creation_timestamp": (ModelVersionRow.creation_timestamp, _NUMERIC_OPS),
        "last_updated_timestamp": (ModelVersionRow.last_updated_timestamp, _NUMERIC_OPS),
    }
    for clause in clauses:
        if clause.entity == "tag":
            conditions.append(
                exists(
                    select(ModelVersionTagRow.model_id).where(
                        ModelVersionTagRow.model_id == ModelVersionRow.model_id,
                        ModelVersionTagRow.version == ModelVersionRow.version,
                        ModelVersionTagRow.key == clause.key,
                        compare(ModelVersionTagRow.value, clause, _STRING_OPS),
                    )
                )
            )
            continue
        if clause.key not in attributes:
            raise InvalidArgument(
                f"invalid filter: model versions can be filtered by {', '.join(attributes)} "
                f"and tags.<key>, not by {clause.key!r}",
                field="filter",
            )
        column, allowed = attributes[clause.key]
        numeric = clause.key in ("version_number", "creation_timestamp", "last_updated_timestamp")
        conditions.append(_compare_typed(column, clause, allowed, numeric=numeric))
    return conditions


def _compare_typed(
    column: Any, clause: Clause, allowed: Sequence[str], *, numeric: bool
) -> ColumnElement[bool]:
    if numeric:
        values = clause.value if isinstance(clause.value, tuple) else (clause.value,)
        if not all(isinstance(v, int) for v in values):
            raise InvalidArgument(
                f"invalid filter: {clause.key} is a number; compare it with an unquoted integer",
                field="filter",
            )
    return compare(column, clause, allowed) if not numeric else _numeric(column, clause, allowed)


def _numeric(column: Any, clause: Clause, allowed: Sequence[str]) -> ColumnElement[bool]:
    if clause.op not in allowed:
        raise _unsupported(clause, allowed)
    values = clause.value if isinstance(clause.value, tuple) else (clause.value,)
    if clause.op == "IN":
        return column.in_(values)
    if clause.op == "NOT IN":
        return column.not_in(values)
    return compare(column, clause, _NUMERIC_OPS)
