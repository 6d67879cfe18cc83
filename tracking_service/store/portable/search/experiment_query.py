"""Filter and order of SearchExperiments as SQL (the same language as SearchRuns)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, not_, select

from tracking_service.store.portable.search.ast import (
    ATTRIBUTE,
    COMPARISONS,
    NULL_OPERATORS,
    SET_OPERATORS,
    TAG,
    Condition,
    OrderTerm,
)
from tracking_service.store.portable.search.predicates import STRING_CAPABLE, Compiler
from tracking_service.store.portable.search.run_query import SortKey
from tracking_service.store.portable.search.tokenizer import error_at
from tracking_service.store.portable.tables import ExperimentRow, ExperimentTagRow

_NUMERIC: dict[str, Any] = {
    "experiment_id": ExperimentRow.experiment_id,
    "creation_time": ExperimentRow.creation_time,
    "last_update_time": ExperimentRow.last_update_time,
}
_ALIASES = {"id": "experiment_id", "created": "creation_time"}
_KNOWN = "name, experiment_id, creation_time, last_update_time"


def _attribute(key: str) -> str:
    name = key.strip().lower().replace(" ", "_")
    return _ALIASES.get(name, name)


def experiment_filter(conditions: Sequence[Condition], text: str) -> list[ColumnElement[bool]]:
    compiler = Compiler(text)
    return [_condition(compiler, condition) for condition in conditions]


def _condition(compiler: Compiler, condition: Condition) -> ColumnElement[bool]:
    target = condition.target
    if target.entity == TAG:
        tags = ExperimentTagRow
        has_key = select(tags.experiment_id).where(tags.key == target.key)
        if condition.operator in NULL_OPERATORS:
            present = ExperimentRow.experiment_id.in_(has_key)
            return not_(present) if condition.operator == "IS NULL" else present
        compiler.require_operator(condition, STRING_CAPABLE + NULL_OPERATORS)
        predicate = compiler.string_predicate(tags.value, condition)
        return ExperimentRow.experiment_id.in_(has_key.where(predicate))
    if target.entity != ATTRIBUTE:
        raise error_at(
            compiler.text,
            target.position,
            f"experiments can be filtered by {_KNOWN} and tags.<key> only",
            compiler.field,
        )
    name = _attribute(target.key)
    if name == "name":
        return compiler.string_predicate(ExperimentRow.name, condition)
    if name in _NUMERIC:
        compiler.require_operator(condition, COMPARISONS + SET_OPERATORS)
        return compiler.numeric_predicate(_NUMERIC[name], condition, allow_sets=True)
    raise error_at(
        compiler.text,
        target.position,
        f"unknown experiment attribute {target.key!r}; use one of {_KNOWN} or tags.<key>",
        compiler.field,
    )


def experiment_order(terms: Sequence[tuple[OrderTerm, str]]) -> list[SortKey]:
    keys: list[SortKey] = []
    for index, (term, text) in enumerate(terms):
        target = term.target
        name = _attribute(target.key) if target.entity == ATTRIBUTE else ""
        if name == "name":
            keys.append(SortKey(ExperimentRow.name, term.descending))
        elif name in _NUMERIC:
            keys.append(SortKey(_NUMERIC[name], term.descending))
        else:
            raise error_at(
                text,
                target.position,
                f"experiments can be ordered by {_KNOWN}",
                f"order_by[{index}]",
            )
    keys.append(SortKey(ExperimentRow.experiment_id, keys[-1].descending if keys else False))
    return keys
