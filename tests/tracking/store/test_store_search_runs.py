"""SearchRuns: every operator, quoting, AND, errors, order_by with missing values, paging."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlgrpc_server.errors import InvalidArgument
from tracking_service.domain import Metric, Param, RunTag, ViewType
from tracking_service.store.sql_store import SqlTrackingStore


@dataclass(frozen=True)
class Corpus:
    experiment_id: str
    ids: dict[str, str]  # run name → run id


@pytest.fixture(scope="module")
def corpus(store: SqlTrackingStore) -> Corpus:
    """Five runs with known values (experiment of its own, shared by the module's tests).

    name  acc  loss   alpha  model  tag `my key`  status
    r1    0.1  nan    '0.1'  Lasso  'x'           FINISHED
    r2    0.5  +inf   '0.2'  ridge  —             RUNNING
    r3    0.9  1.0    '0.1'  Ridge  'y'           FAILED
    r4    0.5  —      —      —      —             RUNNING
    r5    —    -inf   '10'   lasso  'x'           RUNNING
    """
    experiment_id = store.create_experiment("search-corpus")
    table = {
        "r1": (0.1, math.nan, "0.1", "Lasso", "x", "FINISHED"),
        "r2": (0.5, math.inf, "0.2", "ridge", None, "RUNNING"),
        "r3": (0.9, 1.0, "0.1", "Ridge", "y", "FAILED"),
        "r4": (0.5, None, None, None, None, "RUNNING"),
        "r5": (None, -math.inf, "10", "lasso", "x", "RUNNING"),
    }
    ids = {}
    for index, (name, (acc, loss, alpha, model, tag, status)) in enumerate(table.items()):
        run = store.create_run(experiment_id, run_name=name, user_id="u", start_time=1000 + index)
        metrics = [Metric("acc", acc, 1, 0)] if acc is not None else []
        metrics += [Metric("loss", loss, 1, 0)] if loss is not None else []
        params = [Param("alpha", alpha), Param("model", model)] if alpha else []
        tags = [RunTag("my key", tag)] if tag else []
        store.log_batch(run.info.run_id, metrics=metrics, params=params, tags=tags)
        if status != "RUNNING":
            store.update_run(run.info.run_id, status=status, end_time=2000 + index)
        ids[name] = run.info.run_id
    return Corpus(experiment_id, ids)


def names(store: SqlTrackingStore, corpus: Corpus, text: str = "", **kwargs: object) -> list[str]:
    page = store.search_runs([corpus.experiment_id], text, **kwargs)  # type: ignore[arg-type]
    return [run.info.run_name for run in page.items]


def matching(store: SqlTrackingStore, corpus: Corpus, text: str) -> set[str]:
    return set(names(store, corpus, text))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("metrics.acc = 0.5", {"r2", "r4"}),
        ("metrics.acc != 0.5", {"r1", "r3"}),
        ("metrics.acc < 0.5", {"r1"}),
        ("metrics.acc <= 0.5", {"r1", "r2", "r4"}),
        ("metrics.acc > 0.5", {"r3"}),
        ("metrics.acc >= 0.5", {"r2", "r3", "r4"}),
        ("metric.acc > 0.05", {"r1", "r2", "r3", "r4"}),
        ("metrics.loss > 100", {"r2"}),
        ("metrics.loss < -100", {"r5"}),
        ("metrics.loss != 1", {"r1", "r2", "r5"}),
        ("metrics.loss >= -1e308", {"r2", "r3"}),
        ("params.alpha = '0.1'", {"r1", "r3"}),
        ("params.alpha != '0.1'", {"r2", "r5"}),
        ("param.model LIKE 'R%'", {"r3"}),
        ("parameters.model ILIKE 'r%'", {"r2", "r3"}),
        ("params.model NOT LIKE '%sso'", {"r2", "r3"}),
        ("params.alpha IS NULL", {"r4"}),
        ("params.alpha IS NOT NULL", {"r1", "r2", "r3", "r5"}),
        ("params.model IN ('lasso', 'Ridge')", {"r3", "r5"}),
        ("params.model NOT IN ('lasso', 'Ridge')", {"r1", "r2"}),
        ("tags.`my key` = 'x'", {"r1", "r5"}),
        ('tags."my key" = "y"', {"r3"}),
        ("tag.`my key` IS NULL", {"r2", "r4"}),
        ("attributes.status = 'FINISHED'", {"r1"}),
        ("attribute.status != 'RUNNING'", {"r1", "r3"}),
        ("attr.status IN ('FAILED', 'FINISHED')", {"r1", "r3"}),
        ("run.status NOT IN ('RUNNING')", {"r1", "r3"}),
        ("attributes.run_name = 'r4'", {"r4"}),
        ("attributes.`run name` LIKE 'r_'", {"r1", "r2", "r3", "r4", "r5"}),
        ("attributes.run_name ILIKE 'R1'", {"r1"}),
        ("attributes.run_name LIKE 'R1'", set()),
        ("attributes.start_time >= 1003", {"r4", "r5"}),
        ("attributes.created < 1001", {"r1"}),
        ("attributes.end_time > 0", {"r1", "r3"}),
        ("attributes.user_id = 'u'", {"r1", "r2", "r3", "r4", "r5"}),
        ("attributes.lifecycle_stage = 'active'", {"r1", "r2", "r3", "r4", "r5"}),
        ("attributes.artifact_uri LIKE '%/artifacts'", {"r1", "r2", "r3", "r4", "r5"}),
        ("metrics.acc >= 0.5 and params.alpha = '0.1'", {"r3"}),
        ("metrics.acc >= 0.1 AND params.alpha = '0.1' AND tags.`my key` = 'y'", {"r3"}),
        ("", {"r1", "r2", "r3", "r4", "r5"}),
    ],
)
def test_filter_selects_expected_runs(
    store: SqlTrackingStore, corpus: Corpus, text: str, expected: set[str]
) -> None:
    assert matching(store, corpus, text) == expected


def test_filter_by_run_id_in(store: SqlTrackingStore, corpus: Corpus) -> None:
    text = f"attributes.run_id IN ('{corpus.ids['r1']}', '{corpus.ids['r4']}')"
    assert matching(store, corpus, text) == {"r1", "r4"}


def test_string_equality_is_case_sensitive(store: SqlTrackingStore, corpus: Corpus) -> None:
    assert matching(store, corpus, "params.model = 'lasso'") == {"r5"}


@pytest.mark.parametrize(
    ("text", "where", "expected"),
    [
        ("metrics.acc < 1 OR params.alpha = '0.1'", 17, "OR is not supported"),
        ("metrics.acc <", 14, "expected a value"),
        ("metrics.acc = 'high'", 13, "number"),
        ("params.alpha = 0.1", 14, "quote the value"),
        ("params.alpha > '1'", 14, "cannot be used"),
        ("metrics.acc LIKE '1%'", 13, "cannot be used"),
        ("foo.bar = 1", 1, "unknown entity"),
        ("attributes.colour = 'red'", 1, "unknown run attribute"),
        ("metrics.acc = 1 params.alpha = '1'", 17, "expected AND"),
        ("(metrics.acc = 1)", 1, "parentheses"),
        ("params.alpha = 'unterminated", 16, "unterminated"),
        ("metrics.acc ~ 1", 13, "unexpected character"),
        ("datasets.size = 'x'", 1, "unknown dataset field"),
    ],
)
def test_bad_filter_is_invalid_argument_with_position(
    store: SqlTrackingStore, corpus: Corpus, text: str, where: int, expected: str
) -> None:
    with pytest.raises(InvalidArgument) as error:
        store.search_runs([corpus.experiment_id], text)
    assert f"at character {where}" in error.value.message
    assert expected in error.value.message
    assert error.value.field == "filter"


def test_order_by_metric_ascending_puts_nan_then_missing_last(
    store: SqlTrackingStore, corpus: Corpus
) -> None:
    assert names(store, corpus, order_by=["metrics.loss"]) == ["r5", "r3", "r2", "r1", "r4"]


def test_order_by_metric_descending_still_puts_nan_then_missing_last(
    store: SqlTrackingStore, corpus: Corpus
) -> None:
    assert names(store, corpus, order_by=["metrics.loss DESC"]) == ["r2", "r3", "r5", "r1", "r4"]


def test_order_by_metric_breaks_ties_by_run_id(store: SqlTrackingStore, corpus: Corpus) -> None:
    order = names(store, corpus, order_by=["metrics.acc"])
    tied = sorted(["r2", "r4"], key=lambda n: corpus.ids[n])
    assert order == ["r1", *tied, "r3", "r5"]


def test_order_by_param_with_missing_last(store: SqlTrackingStore, corpus: Corpus) -> None:
    assert names(store, corpus, order_by=["params.model DESC"]) == ["r2", "r5", "r3", "r1", "r4"]


def test_order_by_tag_then_attribute(store: SqlTrackingStore, corpus: Corpus) -> None:
    order = names(store, corpus, order_by=["tags.`my key`", "attributes.start_time DESC"])
    assert order == ["r5", "r1", "r3", "r4", "r2"]


def test_order_by_end_time_puts_unfinished_last(store: SqlTrackingStore, corpus: Corpus) -> None:
    order = names(store, corpus, order_by=["attributes.end_time DESC"])
    assert order[:2] == ["r3", "r1"]


def test_default_order_is_newest_first(store: SqlTrackingStore, corpus: Corpus) -> None:
    assert names(store, corpus) == ["r5", "r4", "r3", "r2", "r1"]


def test_bad_order_by_is_invalid_with_its_index(store: SqlTrackingStore, corpus: Corpus) -> None:
    with pytest.raises(InvalidArgument) as error:
        store.search_runs([corpus.experiment_id], order_by=["metrics.acc", "metrics.acc UP"])
    assert error.value.field == "order_by[1]"


@pytest.mark.parametrize(
    "order_by",
    [[], ["metrics.loss"], ["metrics.loss DESC"], ["metrics.acc"], ["params.model"],
     ["tags.`my key` DESC", "metrics.acc"], ["attributes.run_name DESC"]],
)  # fmt: skip
@pytest.mark.parametrize("page_size", [1, 2, 3])
def test_paging_returns_every_run_once_in_the_unpaged_order(
    store: SqlTrackingStore, corpus: Corpus, order_by: list[str], page_size: int
) -> None:
    unpaged = names(store, corpus, order_by=order_by)
    seen, token = [], ""
    while True:
        page = store.search_runs(
            [corpus.experiment_id], order_by=order_by, max_results=page_size, page_token=token
        )
        seen += [run.info.run_name for run in page.items]
        token = page.next_page_token
        if not token:
            break
    assert seen == unpaged
    assert len(seen) == 5


def test_page_token_of_another_filter_is_invalid(store: SqlTrackingStore, corpus: Corpus) -> None:
    token = store.search_runs([corpus.experiment_id], max_results=1).next_page_token
    with pytest.raises(InvalidArgument, match="another query"):
        store.search_runs([corpus.experiment_id], "metrics.acc > 0", page_token=token)


def test_page_token_of_another_order_is_invalid(store: SqlTrackingStore, corpus: Corpus) -> None:
    token = store.search_runs([corpus.experiment_id], max_results=1).next_page_token
    with pytest.raises(InvalidArgument):
        store.search_runs([corpus.experiment_id], order_by=["metrics.acc"], page_token=token)


def test_edited_page_token_is_invalid(store: SqlTrackingStore, corpus: Corpus) -> None:
    token = store.search_runs([corpus.experiment_id], max_results=1).next_page_token
    edited = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    with pytest.raises(InvalidArgument, match="page_token"):
        store.search_runs([corpus.experiment_id], max_results=1, page_token=edited)


def test_search_returns_params_tags_and_latest_metrics(
    store: SqlTrackingStore, corpus: Corpus
) -> None:
    (run,) = store.search_runs([corpus.experiment_id], "attributes.run_name = 'r3'").items
    assert run.params == {"alpha": "0.1", "model": "Ridge"}
    assert run.tags["my key"] == "y"
    assert {m.key: m.value for m in run.metrics} == {"acc": 0.9, "loss": 1.0}


def test_deleted_runs_only_in_deleted_view(store: SqlTrackingStore, corpus: Corpus) -> None:
    extra = store.create_run(corpus.experiment_id, run_name="gone").info.run_id
    store.delete_run(extra)
    assert "gone" not in names(store, corpus)
    assert names(store, corpus, view_type=ViewType.DELETED_ONLY) == ["gone"]
    assert "gone" in names(store, corpus, view_type=ViewType.ALL)


def test_search_spans_several_experiments(store: SqlTrackingStore, corpus: Corpus) -> None:
    other = store.create_experiment("search-other")
    store.create_run(other, run_name="elsewhere")
    page = store.search_runs([corpus.experiment_id, other], "attributes.run_name LIKE 'r%'")
    assert len(page.items) == 5
    page = store.search_runs([corpus.experiment_id, other], "attributes.run_name = 'elsewhere'")
    assert [run.info.run_name for run in page.items] == ["elsewhere"]


def test_max_results_above_limit_is_invalid(store: SqlTrackingStore, corpus: Corpus) -> None:
    with pytest.raises(InvalidArgument):
        store.search_runs([corpus.experiment_id], max_results=50001)


_PIECES = st.sampled_from(
    ["metrics.acc", "params.model", "tags.`my key`", "attributes.status", "attributes.start_time",
     "attributes.run_id", "run_name", " = ", " != ", " < ", " >= ", " LIKE ", " ILIKE ", " IN ",
     " NOT IN ", " IS NULL", " IS NOT NULL", "'x'", "'%'", "1", "-2.5", "1e400",
     "99999999999999999999", "('a', 'b')", "(1, 2)", " AND ", " OR ", "(", ")", "`", "'", '"',
     ".", ","]
)  # fmt: skip


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_PIECES, max_size=8).map("".join))
def test_random_filters_run_or_are_invalid_argument(
    store: SqlTrackingStore, corpus: Corpus, text: str
) -> None:
    try:
        store.search_runs([corpus.experiment_id], text, max_results=5)
    except InvalidArgument:
        pass


def test_filter_and_order_on_the_same_metric(store: SqlTrackingStore, corpus: Corpus) -> None:
    order = names(store, corpus, "metrics.loss != 1", order_by=["metrics.loss"])
    assert order == ["r5", "r2", "r1"]


@pytest.mark.parametrize("page_size", [1, 2])
def test_paging_a_filtered_metric_order(
    store: SqlTrackingStore, corpus: Corpus, page_size: int
) -> None:
    text, order_by = "params.alpha IS NOT NULL AND metrics.acc >= 0", ["metrics.acc DESC"]
    unpaged = names(store, corpus, text, order_by=order_by)
    assert unpaged == ["r3", "r2", "r1"]
    seen, token = [], ""
    while True:
        page = store.search_runs(
            [corpus.experiment_id], text, order_by=order_by, max_results=page_size,
            page_token=token,
        )  # fmt: skip
        seen += [run.info.run_name for run in page.items]
        token = page.next_page_token
        if not token:
            break
    assert seen == unpaged


def test_metric_order_is_the_same_when_the_index_walk_runs_out_of_budget(
    store: SqlTrackingStore, corpus: Corpus, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On MariaDB, ORDER BY one metric first walks the index under a row budget, then falls
    back to the general plan; a budget of nothing must give the same pages."""
    from tracking_service.store.dialects import mysql_search

    expected = names(store, corpus, order_by=["metrics.loss DESC"])
    monkeypatch.setattr(mysql_search, "_FAST_PLAN_MIN_BUDGET", 1)
    monkeypatch.setattr(mysql_search, "_FAST_PLAN_ROWS_PER_RESULT", 1)
    seen, token = [], ""
    while True:
        page = store.search_runs(
            [corpus.experiment_id], order_by=["metrics.loss DESC"], max_results=2, page_token=token
        )
        seen += [run.info.run_name for run in page.items]
        token = page.next_page_token
        if not token:
            break
    assert seen == expected
