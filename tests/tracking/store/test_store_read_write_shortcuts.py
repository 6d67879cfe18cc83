"""The round-trip savers of the store, on both backends (the shortcuts themselves are MySQL's):

- run data read as plain rows in one statement for a few runs (GetRun), and as JSON texts for
  a page of many on MariaDB (`dialects/mysql_run_data.py`), with the row path they fall back to when
  a text is cut;
- metric history concatenated without ORDER BY and sorted by the store;
- CreateRun checking a cached experiment inside its INSERT.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
from sqlalchemy import select

from mlgrpc_server.errors import FailedPrecondition, NotFound
from tracking_service.domain import Metric, Param, RunTag
from tracking_service.store.dialects import mysql_run_data, mysql_search
from tracking_service.store.dialects.mysql import MySQLFastPaths
from tracking_service.store.portable.base import RunData
from tracking_service.store.portable.tables import RunRow
from tracking_service.store.sql_store import SqlTrackingStore

AWKWARD_TEXT = [
    "",
    "a,b;c",
    "quote ' and \" double",
    "back\\slash \\n not a newline",
    "tab\tnew\nline",
    "émoji 😀 ünïcode",
    "\x01control",
    "[1, 2]",
    '{"json": true}',
    "%s %% percent",
    "x" * 5000,
]
AWKWARD_VALUES = [
    3.0,
    -0.5,
    0.1,
    1 / 3,
    1e300,
    -1.7976931348623157e308,
    5e-324,
    123456789012345680.0,
    math.inf,
    -math.inf,
    math.nan,
]


def _same_number(left: float, right: float) -> bool:
    return (math.isnan(left) and math.isnan(right)) or left == right


def _awkward_run(store: SqlTrackingStore, experiment_id: str) -> str:
    run_id = store.create_run(experiment_id, run_name="awkward", start_time=5).info.run_id
    store.log_batch(
        run_id,
        metrics=[
            Metric(f"m{i}", value, 2**62 + i, -(2**62) - i)
            for i, value in enumerate(AWKWARD_VALUES)
        ],
        params=[Param(f"p{i}", text) for i, text in enumerate(AWKWARD_TEXT)],
        tags=[RunTag(f"t{i}", text) for i, text in enumerate(AWKWARD_TEXT)],
    )
    return run_id


def _check_awkward(run_metrics: list[Metric], params: dict[str, str], tags: dict[str, str]) -> None:
    by_key = {metric.key: metric for metric in run_metrics}
    assert len(by_key) == len(AWKWARD_VALUES)
    for i, value in enumerate(AWKWARD_VALUES):
        metric = by_key[f"m{i}"]
        assert type(metric.value) is float
        assert _same_number(metric.value, value), (i, metric.value, value)
        assert (metric.timestamp, metric.step) == (2**62 + i, -(2**62) - i)
    assert params == {f"p{i}": text for i, text in enumerate(AWKWARD_TEXT)}
    assert {k: v for k, v in tags.items() if k.startswith("t")} == {
        f"t{i}": text for i, text in enumerate(AWKWARD_TEXT)
    }


@pytest.mark.parametrize("json_from_runs", [None, 1], ids=["rows-for-few-runs", "json-always"])
def test_run_data_is_exact_for_awkward_values(
    store: SqlTrackingStore,
    experiment_id: str,
    monkeypatch: pytest.MonkeyPatch,
    json_from_runs: int | None,
) -> None:
    """Both ways of reading run data (rows, JSON texts on MariaDB) give the same exact values."""
    if json_from_runs is not None:
        monkeypatch.setattr(mysql_search, "JSON_MIN_RUNS", json_from_runs)
    run_id = _awkward_run(store, experiment_id)
    run = store.get_run(run_id)
    _check_awkward(run.metrics, run.params, run.tags)
    (found,) = store.search_runs([experiment_id], "attributes.run_name = 'awkward'").items
    _check_awkward(found.metrics, found.params, found.tags)
    assert found.info == run.info


def test_run_data_falls_back_to_rows_when_a_text_is_cut(
    store: SqlTrackingStore, experiment_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_id = _awkward_run(store, experiment_id)
    expected = store.get_run(run_id)
    # JSON even for one run, then cut its texts
    monkeypatch.setattr(mysql_search, "JSON_MIN_RUNS", 1)
    monkeypatch.setattr(mysql_run_data, "_TEXT_LIMIT", 200)
    run = store.get_run(run_id)
    _check_awkward(run.metrics, run.params, run.tags)
    assert run.info == expected.info
    (found,) = store.search_runs([experiment_id], "attributes.run_name = 'awkward'").items
    _check_awkward(found.metrics, found.params, found.tags)


@pytest.mark.parametrize(("text_limit", "fast_plan_budget"), [(None, None), (300, None), (None, 3)])
def test_search_pages_keep_order_and_tokens_across_value_kinds(
    store: SqlTrackingStore,
    unique: Callable[[str], str],
    monkeypatch: pytest.MonkeyPatch,
    text_limit: int | None,
    fast_plan_budget: int | None,
) -> None:
    """Integral doubles (3.0 comes back from JSON as 3), NaN and missing values, ties broken by
    run id, paged two at a time in both directions; with text_limit the page texts are cut;
    with fast_plan_budget the metric-ordered plan of MariaDB runs out of examined rows."""
    experiment_id = store.create_experiment(unique("order"))
    values = [3.0, 1.0, 2.0, 3.0, math.nan, None, -0.5, 1e300]
    names = {}
    for i, value in enumerate(values):
        run_id = store.create_run(experiment_id, run_name=f"r{i}", start_time=i).info.run_id
        names[run_id] = f"r{i}"
        store.log_batch(
            run_id,
            metrics=[] if value is None else [Metric("score", value, 1, 0)],
            params=[Param("label", f"v{i % 3}")],
        )
    if text_limit is not None:
        monkeypatch.setattr(mysql_run_data, "_TEXT_LIMIT", text_limit)
    if fast_plan_budget is not None:
        monkeypatch.setattr(mysql_search, "_FAST_PLAN_MIN_BUDGET", fast_plan_budget)
        monkeypatch.setattr(mysql_search, "_FAST_PLAN_ROWS_PER_RESULT", 0)
    for order in (["metrics.score"], ["metrics.score DESC"], ["params.label DESC"], []):
        expected = [names[run.info.run_id] for run in store.search_runs(
            [experiment_id], order_by=order, max_results=100).items]  # fmt: skip
        seen, token = [], ""
        while True:
            page = store.search_runs(
                [experiment_id], order_by=order, max_results=2, page_token=token
            )
            seen += [names[run.info.run_id] for run in page.items]
            token = page.next_page_token
            if not token:
                break
        assert seen == expected, order
        assert sorted(seen) == sorted(names.values())
    ascending = [names[r.info.run_id] for r in store.search_runs(
        [experiment_id], order_by=["metrics.score"], max_results=100).items]  # fmt: skip
    # -0.5, 1.0, 2.0, 3.0 (r0 and r3, by run id), 1e300, then NaN, then the run without it.
    assert ascending[:3] == ["r6", "r1", "r2"]
    assert sorted(ascending[3:5]) == ["r0", "r3"]
    assert ascending[5:] == ["r7", "r4", "r5"]


def test_history_comes_back_sorted_whatever_the_logging_order(
    store: SqlTrackingStore, run_id: str
) -> None:
    points = [
        Metric("h", value, timestamp, step)
        for step in (5, -3, 0, 2**40)
        for timestamp, value in ((9, 1.0), (1, math.inf), (1, -2.0), (4, math.nan))
    ]
    for start in range(0, len(points), 3):  # several batches, out of order
        store.log_batch(run_id, metrics=list(reversed(points[start : start + 3])))
    history = store.get_metric_history(run_id, "h").items
    got = [(m.step, m.timestamp, m.value) for m in history]
    assert [(s, t) for s, t, _ in got] == sorted((s, t) for s, t, _ in got)
    assert len(got) == len(points)
    # Same step and timestamp: by stored value (-2.0 < inf); NaN is stored as 0.
    assert [v for s, t, v in got if (s, t) == (5, 1)] == [-2.0, math.inf]
    paged, token = [], ""
    while True:
        page = store.get_metric_history(run_id, "h", max_results=5, page_token=token)
        paged += page.items
        token = page.next_page_token
        if not token:
            break
    assert [(m.step, m.timestamp) for m in paged] == [(s, t) for s, t, _ in got]


def test_create_run_in_an_experiment_deleted_after_its_first_run_is_failed_precondition(
    store: SqlTrackingStore, unique: Callable[[str], str]
) -> None:
    experiment_id = store.create_experiment(unique("cached"), artifact_location="file:///elsewhere")
    first = store.create_run(experiment_id)
    assert first.info.artifact_uri == f"file:///elsewhere/{first.info.run_id}/artifacts"
    second = store.create_run(experiment_id, tags={"a": "b"})
    assert second.info.artifact_uri == f"file:///elsewhere/{second.info.run_id}/artifacts"
    assert store.get_run(second.info.run_id).tags["a"] == "b"
    store.delete_experiment(experiment_id)
    with pytest.raises(FailedPrecondition):
        store.create_run(experiment_id)
    store.restore_experiment(experiment_id)
    third = store.create_run(experiment_id)
    assert store.get_run(third.info.run_id).info.artifact_uri == third.info.artifact_uri


def test_create_run_under_a_missing_parent_is_not_found_even_with_a_cached_experiment(
    store: SqlTrackingStore, experiment_id: str
) -> None:
    store.create_run(experiment_id)
    with pytest.raises(NotFound):
        store.create_run(experiment_id, parent_run_id="f" * 32)
    parent = store.create_run(experiment_id).info.run_id
    child = store.create_run(experiment_id, parent_run_id=parent)
    assert child.tags["mlflow.parentRunId"] == parent


def test_create_run_in_a_missing_experiment_is_not_found(store: SqlTrackingStore) -> None:
    with pytest.raises(NotFound):
        store.create_run(str(2**31 - 2))


# MySQL/MariaDB only: the SQLite run of this module does not include it (no skip that always fires).
@pytest.mark.parametrize("store_backend", ["mysql"], indirect=True)
def test_mariadb_reads_json_texts_rather_than_falling_back(
    store: SqlTrackingStore, experiment_id: str
) -> None:
    """The shortcut is taken for an ordinary page (a silent fallback would pass every test)."""
    assert isinstance(store.fast_paths, MySQLFastPaths)
    assert store.fast_paths.mariadb, "the MySQL backend of these tests is MariaDB"
    run_id = _awkward_run(store, experiment_id)
    data: dict[str, RunData] = {run_id: ([], {}, {})}
    with store.engine.connect() as connection, connection.begin():
        cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        assert mysql_run_data.mariadb_run_data(cursor, [run_id], data)
        cursor.close()
        statement = select(RunRow.run_uuid.label("sort_0")).where(
            RunRow.experiment_id == int(experiment_id)
        )
        rows = mysql_run_data.mariadb_page_rows(
            connection, statement.order_by(RunRow.run_uuid).limit(10), ["sort_0"],
            ["page.sort_0 ASC"],
        )  # fmt: skip
        with_data = mysql_run_data.mariadb_page_rows(
            connection, statement.add_columns(RunRow.run_uuid).order_by(RunRow.run_uuid).limit(10),
            ["sort_0", "run_uuid"], ["page.sort_0 ASC"], with_run_data=True,
        )  # fmt: skip
    _check_awkward(*data[run_id])
    assert rows == [[run_id]]
    assert with_data is not None and [row[:2] for row in with_data] == [[run_id, run_id]]
    page_data = mysql_run_data.page_run_data(with_data)
    assert page_data is not None
    _check_awkward(*page_data[run_id])


# MySQL/MariaDB only: the SQLite run of this module does not include it (no skip that always fires).
@pytest.mark.parametrize("store_backend", ["mysql"], indirect=True)
def test_mysql_round_trips_per_call(
    store: SqlTrackingStore, experiment_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Statements each call sends on MySQL (COMMIT and the pool's ping not counted): the
    budget the benchmark's figures rest on."""
    assert isinstance(store.fast_paths, MySQLFastPaths)
    assert store.fast_paths.mariadb, "the MySQL backend of these tests is MariaDB"
    import pymysql.connections

    sent: list[str] = []
    query = pymysql.connections.Connection.query

    def counting_query(self: object, sql: str | bytes, *args: object, **kwargs: object) -> int:
        sent.append(sql if isinstance(sql, str) else sql.decode(errors="replace"))
        return query(self, sql, *args, **kwargs)  # type: ignore[arg-type]

    def count(call: Callable[[], object]) -> int:
        sent.clear()
        monkeypatch.setattr(pymysql.connections.Connection, "query", counting_query)
        try:
            call()
        finally:
            monkeypatch.setattr(pymysql.connections.Connection, "query", query)
        return len(sent)

    run_id = store.create_run(experiment_id).info.run_id  # caches the experiment's location
    # The writes send their statements and COMMIT as one query (dialects/mysql_one_query.py):
    # the round trips, counted with COMMIT and pings in test_store_one_query_writes.py.
    assert count(lambda: store.create_run(experiment_id)) == 1  # run (guarded), tags, COMMIT
    assert count(lambda: store.log_batch(run_id, metrics=[Metric("m", 1.0, 1, 0)])) == 1
    assert count(lambda: store.get_run(run_id)) == 1  # run info, its data as rows, COMMIT
    assert count(lambda: store.search_runs([experiment_id])) == 1  # the page with its data
    assert count(lambda: store.get_metric_history(run_id, "m")) == 1  # run, points, COMMIT
