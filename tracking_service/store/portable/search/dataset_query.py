"""`datasets.<field>` conditions of SearchRuns: the run used a dataset whose name or digest, or
whose input tag `mlflow.data.context`, matches."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, select

from tracking_service.logged_model_domain import DATASET_CONTEXT_TAG
from tracking_service.store.portable.logged_model_tables import (
    DatasetRow,
    RunDatasetInputRow,
    RunInputTagRow,
)
from tracking_service.store.portable.search.ast import Condition
from tracking_service.store.portable.search.predicates import Compiler
from tracking_service.store.portable.search.tokenizer import error_at

#: `datasets.<field>` of SearchRuns filters → what it tests.
DATASET_FILTER_FIELDS = ("name", "digest", "context")


def dataset_condition(compiler: Compiler, condition: Condition, run_id: Any) -> ColumnElement[bool]:
    """`datasets.name|digest|context <op> <value>`: the run used a dataset matching it."""
    field = condition.target.key.strip().lower()
    used = select(RunDatasetInputRow.run_uuid).join(
        DatasetRow, DatasetRow.dataset_uuid == RunDatasetInputRow.dataset_uuid
    )
    if field == "name":
        return run_id.in_(used.where(compiler.string_predicate(DatasetRow.name, condition)))
    if field == "digest":
        return run_id.in_(used.where(compiler.string_predicate(DatasetRow.digest, condition)))
    if field == "context":
        tagged = used.join(
            RunInputTagRow,
            and_(
                RunInputTagRow.run_uuid == RunDatasetInputRow.run_uuid,
                RunInputTagRow.dataset_uuid == RunDatasetInputRow.dataset_uuid,
            ),
        ).where(
            RunInputTagRow.key == DATASET_CONTEXT_TAG,
            compiler.string_predicate(RunInputTagRow.value, condition),
        )
        return run_id.in_(tagged)
    raise error_at(
        compiler.text,
        condition.target.position,
        f"unknown dataset field {condition.target.key!r}; use one of "
        + ", ".join(DATASET_FILTER_FIELDS),
        compiler.field,
    )
