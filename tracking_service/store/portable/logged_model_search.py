"""SearchLoggedModels: MLflow's filter language and order on LoggedModels, in SQL, with keyset
page tokens (the parser and predicates of the run search, other columns).

Metrics: a filter `metrics.k < 1` matches a model with any non-NaN value of `k` that compares
(with `datasets`, any such value logged on one of them; with `datasets` and no metric filter,
models with a value on one of them); an order by `metrics.k` uses the greatest non-NaN value
(optionally on one dataset), models without one last. Deleted models are never returned.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, case, func, literal, not_, or_, select, true

from mlgrpc_server.errors import InvalidArgument
from mlgrpc_server.paging import after_row, decode_token, encode_token, query_fingerprint
from tracking_service.domain import ACTIVE, Page
from tracking_service.logged_model_domain import (
    LoggedModel,
    LoggedModelDatasetFilter,
    LoggedModelOrder,
)
from tracking_service.store import rules
from tracking_service.store.portable.base import StoreBase
from tracking_service.store.portable.logged_model_tables import (
    LoggedModelMetricRow,
    LoggedModelParamRow,
    LoggedModelRow,
    LoggedModelTagRow,
)
from tracking_service.store.portable.logged_models import load_logged_models
from tracking_service.store.portable.search import parse_filter
from tracking_service.store.portable.search.ast import (
    ATTRIBUTE,
    METRIC,
    NULL_OPERATORS,
    PARAM,
    TAG,
    Condition,
)
from tracking_service.store.portable.search.predicates import STRING_CAPABLE, Compiler, compare
from tracking_service.store.portable.search.tokenizer import error_at
from tracking_service.store.portable.tables import ExperimentRow
from tracking_service.store.rules import VALUE_NAN

DEFAULT_MODELS_PER_PAGE = 100
MAX_MODELS_PER_PAGE = 1000

_STRING_ATTRIBUTES: dict[str, Any] = {
    "name": LoggedModelRow.name,
    "model_id": LoggedModelRow.model_id,
    "status": LoggedModelRow.status,
    "model_type": LoggedModelRow.model_type,
    "source_run_id": LoggedModelRow.source_run_id,
}
_NUMERIC_ATTRIBUTES: dict[str, Any] = {
    "creation_timestamp": LoggedModelRow.creation_timestamp_ms,
    "last_updated_timestamp": LoggedModelRow.last_updated_timestamp_ms,
}
_ALIASES = {
    "creation_time": "creation_timestamp",
    "creation_timestamp_ms": "creation_timestamp",
    "last_updated_timestamp_ms": "last_updated_timestamp",
    "last_updated_time": "last_updated_timestamp",
}


def _attribute(name: str) -> str:
    name = name.strip().lower()
    return _ALIASES.get(name, name)


@dataclass(frozen=True)
class _SortKey:
    expression: Any  # NOT NULL
    descending: bool


class LoggedModelSearchStore(StoreBase):
    def search_logged_models(
        self,
        experiment_ids: Sequence[str] = (),
        filter_string: str = "",
        order_by: Sequence[LoggedModelOrder] = (),
        max_results: int = DEFAULT_MODELS_PER_PAGE,
        page_token: str = "",
        datasets: Sequence[LoggedModelDatasetFilter] = (),
    ) -> Page[LoggedModel]:
        limit = rules.check_max_results(max_results, DEFAULT_MODELS_PER_PAGE, MAX_MODELS_PER_PAGE)
        on_datasets = _on_datasets(datasets)
        ids = sorted(
            {
                rules.parse_experiment_id(e, f"experiment_ids[{i}]")
                for i, e in enumerate(experiment_ids)
            }
        )
        compiler = Compiler(filter_string)
        parsed = parse_filter(filter_string)
        conditions = [_condition(compiler, c, on_datasets) for c in parsed]
        if datasets and not any(c.target.entity == METRIC for c in parsed):
            m = LoggedModelMetricRow  # as MLflow: models with a value on one of the datasets
            conditions.append(LoggedModelRow.model_id.in_(select(m.model_id).where(on_datasets)))
        keys = [_sort_key(order, i) for i, order in enumerate(order_by)] or [
            [_SortKey(LoggedModelRow.creation_timestamp_ms, True)]
        ]
        flat = [key for group in keys for key in group]
        flat.append(_SortKey(LoggedModelRow.model_id, flat[-1].descending))
        fingerprint = query_fingerprint(
            "logged_models",
            ids,
            filter_string,
            [repr(order) for order in order_by],
            # only when given: the tokens of searches without datasets stay as they were
            *([[repr(item) for item in datasets]] if datasets else []),
        )
        values = decode_token(page_token, fingerprint, len(flat)) if page_token else None
        columns = [key.expression for key in flat]
        descending = [key.descending for key in flat]
        if ids:
            scope = LoggedModelRow.experiment_id.in_(ids)
        else:  # every active experiment
            scope = LoggedModelRow.experiment_id.in_(
                select(ExperimentRow.experiment_id).where(ExperimentRow.lifecycle_stage == ACTIVE)
            )
        statement = (
            select(
                LoggedModelRow.model_id,
                *(column.label(f"sort_{i}") for i, column in enumerate(columns)),
            )
            .where(scope, LoggedModelRow.lifecycle_stage == ACTIVE, *conditions)
            .order_by(
                *(c.desc() if d else c.asc() for c, d in zip(columns, descending, strict=True))
            )
            .limit(limit + 1)
        )
        if values is not None:
            statement = statement.where(after_row(columns, descending, values))

        def work(connection: Connection) -> Page[LoggedModel]:
            rows = connection.execute(statement).all()
            page = rows[:limit]
            models = load_logged_models(connection, [row[0] for row in page])
            token = ""
            if len(rows) > limit:
                token = encode_token(fingerprint, list(page[-1][1:]))
            return Page([models[row[0]] for row in page], token)

        return self.read(work)


def _on_datasets(datasets: Sequence[LoggedModelDatasetFilter]) -> ColumnElement[bool]:
    """The linked metric values on one of `datasets` (every value when there are none)."""
    if not datasets:
        return true()
    m = LoggedModelMetricRow
    matches = []
    for index, item in enumerate(datasets):
        field = f"datasets[{index}]"
        name = rules.check_string(
            item.dataset_name,
            f"{field}.dataset_name",
            rules.MAX_METRIC_DATASET_NAME_LENGTH,
            allow_empty=False,
        )
        digest = rules.check_string(
            item.dataset_digest, f"{field}.dataset_digest", rules.MAX_DATASET_DIGEST_LENGTH
        )
        match = m.dataset_name == name
        matches.append(and_(match, m.dataset_digest == digest) if digest else match)
    return or_(*matches)


def _condition(
    compiler: Compiler, condition: Condition, on_datasets: ColumnElement[bool]
) -> ColumnElement[bool]:
    target = condition.target
    model_id = LoggedModelRow.model_id
    if target.entity == METRIC:
        value = compiler.metric_value(condition)
        m = LoggedModelMetricRow
        matches = (m.value_kind != VALUE_NAN) & compare(m.value, condition.operator, value)
        return model_id.in_(select(m.model_id).where(m.key == target.key, matches, on_datasets))
    if target.entity in (PARAM, TAG):
        table: Any = LoggedModelParamRow if target.entity == PARAM else LoggedModelTagRow
        has_key = select(table.model_id).where(table.key == target.key)
        if condition.operator in NULL_OPERATORS:
            present = model_id.in_(has_key)
            return not_(present) if condition.operator == "IS NULL" else present
        compiler.require_operator(condition, STRING_CAPABLE)
        return model_id.in_(has_key.where(compiler.string_predicate(table.value, condition)))
    if target.entity == ATTRIBUTE:
        name = _attribute(target.key)
        if name in _STRING_ATTRIBUTES:
            return compiler.string_predicate(_STRING_ATTRIBUTES[name], condition)
        if name in _NUMERIC_ATTRIBUTES:
            return compiler.numeric_predicate(_NUMERIC_ATTRIBUTES[name], condition)
        known = ", ".join([*_STRING_ATTRIBUTES, *_NUMERIC_ATTRIBUTES])
        raise error_at(
            compiler.text,
            target.position,
            f"unknown logged model attribute {target.key!r}; use one of {known}",
            compiler.field,
        )
    raise error_at(
        compiler.text, target.position, "dataset filters are not supported here", compiler.field
    )


def _sort_key(order: LoggedModelOrder, index: int) -> list[_SortKey]:
    field = f"order_by[{index}].field_name"
    text = order.field_name.strip()
    descending = not order.ascending
    entity, _, key = text.partition(".")
    entity = entity.lower()
    if order.dataset_name and entity not in ("metric", "metrics"):
        raise InvalidArgument(
            f"order_by[{index}].dataset_name is only for a metric's order", field=field
        )
    if entity in ("metric", "metrics") and key:
        m = LoggedModelMetricRow
        where = [m.model_id == LoggedModelRow.model_id, m.key == key, m.value_kind != VALUE_NAN]
        if order.dataset_name:
            where.append(m.dataset_name == order.dataset_name)
        if order.dataset_digest:
            where.append(m.dataset_digest == order.dataset_digest)
        greatest = select(func.max(m.value)).where(*where).scalar_subquery()
        rank = case((greatest.is_(None), 1), else_=0)
        return [_SortKey(rank, False), _SortKey(func.coalesce(greatest, 0.0), descending)]
    if entity in ("param", "params", "tag", "tags") and key:
        table: Any = LoggedModelParamRow if entity.startswith("param") else LoggedModelTagRow
        found = (
            select(table.value)
            .where(table.model_id == LoggedModelRow.model_id, table.key == key)
            .scalar_subquery()
        )
        rank = case((found.is_(None), 1), else_=0)
        return [_SortKey(rank, False), _SortKey(func.coalesce(found, literal("")), descending)]
    name = _attribute(key if entity in ("attribute", "attributes", "attr") and key else text)
    if name in _NUMERIC_ATTRIBUTES:
        return [_SortKey(_NUMERIC_ATTRIBUTES[name], descending)]
    if name in _STRING_ATTRIBUTES:
        column = _STRING_ATTRIBUTES[name]
        return [_SortKey(func.coalesce(column, literal("")), descending)]
    known = ", ".join([*_STRING_ATTRIBUTES, *_NUMERIC_ATTRIBUTES])
    raise InvalidArgument(
        f"order_by[{index}].field_name {order.field_name!r} is not metrics.<key>, params.<key>, "
        f"tags.<key> or one of {known}",
        field=field,
    )
