"""Literal checks and SQL predicates shared by the run and experiment searches.

Strings compare case-sensitively on every backend: MySQL tables use `utf8mb4_bin` and
PostgreSQL's LIKE is case-sensitive; SQLite's `=` is binary already, but its LIKE ignores ASCII
case, so `case_sensitive_like` is compiled to GLOB there (by SQLAlchemy, per dialect: the
predicates themselves are the same on every database).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean, ColumnElement, not_
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler

from mlgrpc_server.errors import InvalidArgument
from tracking_service.store.portable.search.ast import (
    COMPARISONS,
    NULL_OPERATORS,
    SET_OPERATORS,
    STRING_OPERATORS,
    Condition,
)
from tracking_service.store.portable.search.tokenizer import error_at

STRING_CAPABLE = ("=", "!=", *STRING_OPERATORS, *SET_OPERATORS)


class Compiler:
    """Turns checked conditions into SQL for one dialect, with errors that point into `text`."""

    def __init__(self, text: str, field: str = "filter") -> None:
        self.text = text
        self.field = field

    def reject(self, condition: Condition, message: str) -> InvalidArgument:
        return error_at(self.text, condition.position, message, self.field)

    def require_operator(self, condition: Condition, allowed: tuple[str, ...]) -> None:
        if condition.operator not in allowed:
            raise self.reject(
                condition,
                f"{condition.operator} cannot be used with {condition.target.text}; "
                f"use one of {', '.join(allowed)}",
            )

    def string_predicate(self, column: Any, condition: Condition) -> ColumnElement[bool]:
        self.require_operator(condition, STRING_CAPABLE)
        if not condition.value_is_string:
            raise self.reject(
                condition,
                f"{condition.target.text} is compared with text: quote the value, e.g. '0.1'",
            )
        operator, value = condition.operator, condition.value
        if operator in SET_OPERATORS:
            assert isinstance(value, tuple)
            clause = column.in_(value)
            return not_(clause) if operator == "NOT IN" else clause
        assert isinstance(value, str)
        if operator == "=":
            return column == value
        if operator == "!=":
            return column != value
        if operator.endswith("ILIKE"):
            clause = column.ilike(value)
        else:
            clause = CaseSensitiveLike(column, value)
        return not_(clause) if operator.startswith("NOT") else clause

    def metric_value(self, condition: Condition) -> float | int:
        """The number a metric is compared with (metrics take comparisons and unquoted numbers,
        in runs' and logged models' filters alike)."""
        self.require_operator(condition, COMPARISONS)
        if condition.value_is_string:
            raise self.reject(
                condition, f"{condition.target.text} is compared with a number, unquoted"
            )
        return self.number(condition, condition.value)

    def number(self, condition: Condition, value: object) -> float | int:
        if isinstance(value, (int, float)):
            return value
        if isinstance(value, str):
            try:
                return int(value) if value.strip().lstrip("+-").isdigit() else float(value)
            except ValueError:
                pass
        raise self.reject(condition, f"{condition.target.text} is compared with a number")

    def numeric_predicate(
        self, column: Any, condition: Condition, *, allow_sets: bool = False
    ) -> ColumnElement[bool]:
        allowed = COMPARISONS + (SET_OPERATORS if allow_sets else ())
        self.require_operator(condition, allowed)
        if condition.operator in SET_OPERATORS:
            assert isinstance(condition.value, tuple)
            numbers = [self.number(condition, item) for item in condition.value]
            clause = column.in_(numbers)
            return not_(clause) if condition.operator == "NOT IN" else clause
        return compare(column, condition.operator, self.number(condition, condition.value))


def compare(column: Any, operator: str, value: Any) -> ColumnElement[bool]:
    if operator == "=":
        return column == value
    if operator == "!=":
        return column != value
    if operator == "<":
        return column < value
    if operator == "<=":
        return column <= value
    if operator == ">":
        return column > value
    if operator == ">=":
        return column >= value
    raise AssertionError(operator)


class CaseSensitiveLike(ColumnElement[bool]):
    """`column LIKE pattern`, case-sensitive on every database (see the module's docstring)."""

    type = Boolean()
    # A comparison, as LIKE is: not turned into `… = 1` where booleans are numbers (MySQL).
    _is_implicitly_boolean = True
    # Compiled per dialect with the pattern as a bound value each time: not cached.
    inherit_cache = False

    def __init__(self, column: Any, pattern: str) -> None:
        self.column = column
        self.pattern = pattern


@compiles(CaseSensitiveLike)
def _like(element: CaseSensitiveLike, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.column.like(element.pattern), **kw)


@compiles(CaseSensitiveLike, "sqlite")
def _glob(element: CaseSensitiveLike, compiler: SQLCompiler, **kw: Any) -> str:
    glob = element.column.op("GLOB", is_comparison=True)(like_to_glob(element.pattern))
    return compiler.process(glob, **kw)


def like_to_glob(pattern: str) -> str:
    """A SQL LIKE pattern as a (case-sensitive) SQLite GLOB pattern."""
    out = []
    for char in pattern:
        if char == "%":
            out.append("*")
        elif char == "_":
            out.append("?")
        elif char in "*?[":
            out.append(f"[{char}]")
        else:
            out.append(char)
    return "".join(out)


__all__ = ["Compiler", "NULL_OPERATORS", "compare", "like_to_glob"]
