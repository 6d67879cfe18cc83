"""Filter and order of SearchRuns as SQL: conditions become semi-joins (`run_uuid IN (…)`) on
the indexed (key, value) of latest_metrics, params and tags; order keys become outer joins.

Sort keys are NOT NULL expressions so that a page token can hold them: a rank that puts NaN
(1) and missing values (2) last whatever the direction, as MLflow does, then the value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, literal, not_, select
from sqlalchemy.orm import aliased

from tracking_service.store.portable.search.ast import (
    ATTRIBUTE,
    DATASET,
    METRIC,
    NULL_OPERATORS,
    PARAM,
    TAG,
    Condition,
    OrderTerm,
)
from tracking_service.store.portable.search.dataset_query import dataset_condition
from tracking_service.store.portable.search.predicates import STRING_CAPABLE, Compiler, compare
from tracking_service.store.portable.search.tokenizer import error_at
from tracking_service.store.portable.tables import LatestMetricRow, ParamRow, RunRow, TagRow
from tracking_service.store.rules import VALUE_NAN

STRING_ATTRIBUTES: dict[str, Any] = {
    "run_id": RunRow.run_uuid,
    "run_name": RunRow.name,
    "status": RunRow.status,
    "user_id": RunRow.user_id,
    "artifact_uri": RunRow.artifact_uri,
    "lifecycle_stage": RunRow.lifecycle_stage,
}
NUMERIC_ATTRIBUTES: dict[str, Any] = {"start_time": RunRow.start_time, "end_time": RunRow.end_time}
_ALIASES = {"created": "start_time", "run_uuid": "run_id", "name": "run_name"}


def attribute_name(key: str) -> str:
    name = key.strip().lower().replace(" ", "_")
    return _ALIASES.get(name, name)


def _unknown_attribute(text: str, position: int, key: str, field: str) -> Exception:
    known = ", ".join([*STRING_ATTRIBUTES, *NUMERIC_ATTRIBUTES])
    return error_at(text, position, f"unknown run attribute {key!r}; use one of {known}", field)


def run_filter(
    conditions: Sequence[Condition],
    text: str,
    joined_metrics: Mapping[str, Any] | None = None,
    run_id: Any = None,
) -> list[ColumnElement[bool]]:
    """SQL conditions on `runs`. A metric in `joined_metrics` (key → latest_metrics alias
    already joined for the order) is tested on that alias rather than by a semi-join.

    `run_id` is the column the semi-joins test (default `runs.run_uuid`): a plan that reads
    another table first and joins `runs` after (the metric-ordered walk) passes that table's
    run id, so that MariaDB checks them before the join (3.2 instead of 4.6 ms for the
    benchmark's filter)."""
    compiler = Compiler(text)
    joined = joined_metrics or {}
    column = RunRow.run_uuid if run_id is None else run_id
    return [_condition(compiler, condition, joined, column) for condition in conditions]


def _condition(
    compiler: Compiler, condition: Condition, joined: Mapping[str, Any], run_id: Any
) -> ColumnElement[bool]:
    target = condition.target
    if target.entity == METRIC:
        value = compiler.metric_value(condition)
        metric = joined.get(target.key, LatestMetricRow)
        if condition.operator == "!=":
            matches = (metric.value_kind == VALUE_NAN) | (metric.value != value)
        else:  # NaN compares false with everything, as in IEEE 754
            matches = (metric.value_kind != VALUE_NAN) & compare(
                metric.value, condition.operator, value
            )
        if target.key in joined:  # a run without the metric has NULLs there: no match
            return matches
        return run_id.in_(select(metric.run_uuid).where(metric.key == target.key, matches))
    if target.entity in (PARAM, TAG):
        table: Any = ParamRow if target.entity == PARAM else TagRow
        has_key = select(table.run_uuid).where(table.key == target.key)
        if condition.operator in NULL_OPERATORS:
            present = run_id.in_(has_key)
            return not_(present) if condition.operator == "IS NULL" else present
        compiler.require_operator(condition, STRING_CAPABLE + NULL_OPERATORS)
        predicate = compiler.string_predicate(table.value, condition)
        return run_id.in_(has_key.where(predicate))
    if target.entity == ATTRIBUTE:
        name = attribute_name(target.key)
        if name in STRING_ATTRIBUTES:
            return compiler.string_predicate(STRING_ATTRIBUTES[name], condition)
        if name in NUMERIC_ATTRIBUTES:
            return compiler.numeric_predicate(NUMERIC_ATTRIBUTES[name], condition)
        raise _unknown_attribute(compiler.text, target.position, target.key, compiler.field)
    if target.entity == DATASET:
        return dataset_condition(compiler, condition, run_id)
    raise error_at(compiler.text, target.position, "unknown filter entity", compiler.field)


@dataclass(frozen=True)
class SortKey:
    expression: Any  # a NOT NULL SQL expression
    descending: bool


def run_order(
    statement: Any, terms: Sequence[tuple[OrderTerm, str]]
) -> tuple[Any, list[SortKey], dict[str, Any]]:
    """Outer-join what the order needs; the sort keys end with the run id (a total order).

    `terms` pairs each parsed term with its text, for error messages. Also returns the
    latest_metrics aliases joined, by metric key (for `run_filter`).
    """
    keys: list[SortKey] = []
    joined_metrics: dict[str, Any] = {}
    for index, (term, text) in enumerate(terms):
        target, desc = term.target, term.descending
        field = f"order_by[{index}]"
        if target.entity == METRIC:
            joined = aliased(LatestMetricRow, name=f"order_{index}")
            statement = statement.outerjoin(
                joined, and_(joined.run_uuid == RunRow.run_uuid, joined.key == target.key)
            )
            joined_metrics.setdefault(target.key, joined)
            rank = case(
                (joined.run_uuid.is_(None), 2), (joined.value_kind == VALUE_NAN, 1), else_=0
            )
            keys += [SortKey(rank, False), SortKey(func.coalesce(joined.value, 0.0), desc)]
        elif target.entity in (PARAM, TAG):
            table: Any = ParamRow if target.entity == PARAM else TagRow
            joined = aliased(table, name=f"order_{index}")
            statement = statement.outerjoin(
                joined, and_(joined.run_uuid == RunRow.run_uuid, joined.key == target.key)
            )
            rank = case((joined.run_uuid.is_(None), 1), else_=0)
            keys += [SortKey(rank, False), SortKey(func.coalesce(joined.value, literal("")), desc)]
        elif target.entity == ATTRIBUTE:
            name = attribute_name(target.key)
            if name in STRING_ATTRIBUTES:
                keys.append(SortKey(STRING_ATTRIBUTES[name], desc))
            elif name == "start_time":
                keys.append(SortKey(RunRow.start_time, desc))
            elif name == "end_time":
                keys += [
                    SortKey(case((RunRow.end_time.is_(None), 1), else_=0), False),
                    SortKey(func.coalesce(RunRow.end_time, 0), desc),
                ]
            else:
                raise _unknown_attribute(text, target.position, target.key, field)
        else:
            raise error_at(text, target.position, "ordering by datasets is not supported", field)
    # The tie-break follows the last direction so that the default order can walk an index.
    keys.append(SortKey(RunRow.run_uuid, keys[-1].descending if keys else False))
    return statement, keys, joined_metrics
