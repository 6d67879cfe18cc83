"""Store-level search benchmark on a fresh MariaDB database (dropped at the end).

Builds N runs (default 10,000) in one experiment through the store's own write path
(`create_run` + one `log_batch` each): metrics rmse/r2/mae, params alpha/l1_ratio (10 values
each) and one tag; plus one run with a 10,000-point metric history. Then it times:

- the filter `metrics.rmse < 0.5 and params.alpha = '0.1'` ordered by metrics.rmse, 100 results;
- ordering all runs by a metric (no filter), 100 results;
- paging through every run, 1,000 per page;
- get_metric_history of 10,000 points;
- LogBatch of 1,000 metrics and a single-metric LogBatch (the hot write path);

and prints the EXPLAIN plans of the search queries.

    .venv/bin/python bench/search_store.py [--runs 10000] [--repeat 30]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import sqlalchemy as sa

from tracking_service.domain import Metric, Param, RunTag
from tracking_service.store.sql_store import SqlTrackingStore

SERVER = os.environ.get("MLGRPC_TEST_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306")
FILTER = "metrics.rmse < 0.5 and params.alpha = '0.1'"


def timed(work: Callable[[], object], repeat: int) -> list[float]:
    work()  # warm up caches and the statement cache
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        out.append((time.perf_counter() - start) * 1000)
    return out


def show(label: str, millis: list[float]) -> None:
    millis = sorted(millis)
    p95 = millis[min(len(millis) - 1, int(len(millis) * 0.95))]
    print(f"{label:<58} p50 {statistics.median(millis):8.2f} ms   p95 {p95:8.2f} ms")


def build(store: SqlTrackingStore, experiment_id: str, runs: int, workers: int = 4) -> None:
    """One create_run + one log_batch per run, from a few threads (commits dominate)."""
    alphas = [f"{i / 10:.1f}" for i in range(1, 11)]
    ratios = [f"{i / 20:.2f}" for i in range(1, 11)]
    now = int(time.time() * 1000)

    def make(i: int) -> None:
        rng = random.Random(i)
        run = store.create_run(experiment_id, run_name=f"run-{i}", start_time=now + i)
        store.log_batch(
            run.info.run_id,
            metrics=[
                Metric("rmse", rng.random(), now, 0),
                Metric("r2", rng.random(), now, 0),
                Metric("mae", rng.random(), now, 0),
            ],
            params=[Param("alpha", rng.choice(alphas)), Param("l1_ratio", rng.choice(ratios))],
            tags=[RunTag("team", rng.choice(["a", "b", "c"]))],
        )

    start = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(make, range(runs)))
    elapsed = time.perf_counter() - start
    print(f"built {runs} runs (create_run + log_batch each, {workers} threads) in "
          f"{elapsed:.1f} s")  # fmt: skip


def explain(store: SqlTrackingStore, experiment_id: str) -> None:
    from tracking_service.store.portable import run_search

    captured: list[str] = []

    def capture(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
        if statement.lstrip().upper().startswith("SELECT") and "sort_0" in statement:
            captured.append(cursor.mogrify(statement, parameters))

    sa.event.listen(store.engine, "before_cursor_execute", capture)
    store.search_runs([experiment_id], FILTER, max_results=100, order_by=["metrics.rmse"])
    store.search_runs([experiment_id], "", max_results=100, order_by=["metrics.rmse"])
    sa.event.remove(store.engine, "before_cursor_execute", capture)
    with store.engine.connect() as conn:
        for sql in captured:
            print("EXPLAIN", " ".join(sql.split())[:400], "…")
            for row in conn.exec_driver_sql("EXPLAIN " + sql.replace("%", "%%")):
                print("   ", tuple(row))
    del run_search


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10000)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()

    name = f"bench_search_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(SERVER, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
    try:
        store = SqlTrackingStore(f"{SERVER}/{name}?charset=utf8mb4", "/tmp/bench-artifacts")
        experiment_id = store.create_experiment("bench")
        build(store, experiment_id, args.runs)
        with store.engine.begin() as conn:
            for table in ("runs", "latest_metrics", "params", "tags", "metrics"):
                conn.exec_driver_sql(f"ANALYZE TABLE {table}")

        def filtered() -> None:
            page = store.search_runs(
                [experiment_id], FILTER, max_results=100, order_by=["metrics.rmse"]
            )
            assert page.items

        def ordered() -> None:
            page = store.search_runs([experiment_id], max_results=100, order_by=["metrics.rmse"])
            assert len(page.items) == 100

        def default_order() -> None:
            store.search_runs([experiment_id], max_results=100)

        def page_all() -> None:
            token, seen = "", 0
            while True:
                page = store.search_runs([experiment_id], max_results=1000, page_token=token)
                seen += len(page.items)
                token = page.next_page_token
                if not token:
                    break
            assert seen == args.runs, seen

        show(f"search: {FILTER} order by rmse, 100", timed(filtered, args.repeat))
        show("search: order by metrics.rmse, no filter, 100", timed(ordered, args.repeat))
        show("search: default order (start_time DESC), 100", timed(default_order, args.repeat))
        show(f"search: page through all {args.runs} runs, 1000 per page",
             timed(page_all, max(3, args.repeat // 10)))  # fmt: skip

        history_run = store.create_run(experiment_id, run_name="history").info.run_id
        points = [Metric("loss", 1.0 / (step + 1), 1_700_000_000_000 + step, step)
                  for step in range(10000)]  # fmt: skip
        store.log_batch(history_run, metrics=points, max_metrics=10000)

        def history() -> None:
            page = store.get_metric_history(history_run, "loss")
            assert len(page.items) == 10000

        show("get_metric_history: 10,000 points", timed(history, args.repeat))

        batch_run = store.create_run(experiment_id, run_name="batch").info.run_id
        step = iter(range(10**9))

        def log_1000() -> None:
            base = next(step) * 1000
            store.log_batch(
                batch_run,
                metrics=[Metric(f"m{i % 10}", float(i), 1, base + i) for i in range(1000)],
            )

        millis = timed(log_1000, args.repeat)
        show("log_batch: 1,000 metrics (10 keys)", millis)
        print(f"    → {1000 / (statistics.median(millis) / 1000):,.0f} metrics/s at the median")
        show("log_batch: 1 metric", timed(
            lambda: store.log_batch(batch_run, metrics=[Metric("single", 1.0, 1, next(step))]),
            args.repeat * 3,
        ))  # fmt: skip
        explain(store, experiment_id)
        store.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS `{name}`"))
        admin.dispose()


if __name__ == "__main__":
    main()
