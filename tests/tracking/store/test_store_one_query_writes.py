"""The one-round-trip writes of MySQL/MariaDB (`tracking_service/store/dialects/mysql_one_query.py`)
and the pool's ping of idle connections only (`mlgrpc_server/db.py`). The semantic tests run on
SQLite too: both paths must answer the same."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from mlgrpc_server.errors import FailedPrecondition, InvalidArgument, NotFound
from tracking_service.domain import Metric, Param, RunTag, ViewType
from tracking_service.store.dialects.mysql import MySQLFastPaths
from tracking_service.store.sql_store import SqlTrackingStore


def _nothing_logged(store: SqlTrackingStore, run_id: str) -> None:
    run = store.get_run(run_id)
    assert run.metrics == []
    assert run.params == {}
    assert not [key for key in run.tags if not key.startswith("mlflow.")]
    assert store.get_metric_history(run_id, "m").items == []


@pytest.mark.parametrize("with_batch_id", [False, True])
def test_batch_to_a_deleted_run_is_failed_precondition_and_writes_nothing(
    store: SqlTrackingStore, run_id: str, with_batch_id: bool
) -> None:
    store.delete_run(run_id)
    batch_id = "b-deleted-" + run_id if with_batch_id else ""
    with pytest.raises(FailedPrecondition):
        store.log_batch(run_id, metrics=[Metric("m", 1.0, 1, 0)], params=[Param("p", "1")],
                        tags=[RunTag("t", "v"), RunTag("mlflow.runName", "new")],
                        batch_id=batch_id)  # fmt: skip
    store.restore_run(run_id)
    _nothing_logged(store, run_id)
    assert store.get_run(run_id).info.run_name == "r"
    # The batch id was not claimed by the failed batch: the retry writes.
    outcome = store.log_batch(run_id, metrics=[Metric("m", 1.0, 1, 0)], batch_id=batch_id)
    assert not outcome.replayed
    assert [m.value for m in store.get_run(run_id).metrics] == [1.0]


def test_batch_to_an_unknown_run_is_not_found(store: SqlTrackingStore) -> None:
    for batch_id in ("", "b-unknown"):
        with pytest.raises(NotFound):
            store.log_batch("e" * 32, metrics=[Metric("m", 1.0, 1, 0)], params=[Param("p", "1")],
                            batch_id=batch_id)  # fmt: skip
    with pytest.raises(NotFound):
        store.log_batch("e" * 32)


def test_param_conflict_writes_nothing_of_the_batch(store: SqlTrackingStore, run_id: str) -> None:
    store.log_batch(run_id, params=[Param("alpha", "0.1")])
    with pytest.raises(InvalidArgument, match="alpha") as raised:
        store.log_batch(
            run_id,
            metrics=[Metric("m", 1.0, 1, 0)],
            params=[Param("beta", "2"), Param("alpha", "0.2")],
            tags=[RunTag("t", "v")],
            batch_id="b-conflict-" + run_id,
        )
    assert raised.value.field == "params[1].value"
    run = store.get_run(run_id)
    assert run.params == {"alpha": "0.1"}
    assert run.metrics == []
    assert "t" not in run.tags
    # Same value again is accepted, the new param written, and the batch id still unused.
    outcome = store.log_batch(run_id, params=[Param("alpha", "0.1"), Param("beta", "2")],
                              batch_id="b-conflict-" + run_id)  # fmt: skip
    assert not outcome.replayed
    assert store.get_run(run_id).params == {"alpha": "0.1", "beta": "2"}


def test_replayed_batch_id_writes_nothing_and_answers_the_first_count(
    store: SqlTrackingStore, run_id: str
) -> None:
    first = store.log_batch(run_id, metrics=[Metric("m", 1.0, 1, 0)], params=[Param("p", "1")],
                            batch_id="b-replay-" + run_id)  # fmt: skip
    again = store.log_batch(run_id, metrics=[Metric("m", 9.0, 9, 9)], params=[Param("p", "1")],
                            batch_id="b-replay-" + run_id)  # fmt: skip
    assert (first.rows_written, first.replayed) == (2, False)
    assert (again.rows_written, again.replayed) == (2, True)
    assert [m.value for m in store.get_run(run_id).metrics] == [1.0]


def test_latest_metric_is_the_greatest_step_then_timestamp_then_value(
    store: SqlTrackingStore, run_id: str
) -> None:
    def latest() -> dict[str, Metric]:
        return {metric.key: metric for metric in store.get_run(run_id).metrics}

    store.log_batch(run_id, metrics=[Metric("m", 1.0, 10, 1)])
    store.log_batch(run_id, metrics=[Metric("m", math.nan, 5, 2)])  # greater step wins
    assert math.isnan(latest()["m"].value)
    store.log_batch(run_id, metrics=[Metric("m", 7.0, 99, 1)])  # lower step: kept out
    assert math.isnan(latest()["m"].value)
    store.log_batch(run_id, metrics=[Metric("m", -math.inf, 6, 2)])  # later timestamp wins
    assert latest()["m"] == Metric("m", -math.inf, 6, 2)
    store.log_batch(run_id, metrics=[Metric("m", math.inf, 6, 2), Metric("m", 3.0, 6, 2)])
    assert latest()["m"] == Metric("m", math.inf, 6, 2)  # same step and time: greater value
    history = store.get_metric_history(run_id, "m").items
    assert len(history) == 6


def test_run_name_tag_renames_the_run(store: SqlTrackingStore, run_id: str) -> None:
    store.log_batch(run_id, tags=[RunTag("mlflow.runName", "renamed"), RunTag("a", "b")])
    run = store.get_run(run_id)
    assert run.info.run_name == "renamed"
    assert run.tags["a"] == "b"


def test_create_run_with_tags_through_a_cached_experiment(
    store: SqlTrackingStore, experiment_id: str
) -> None:
    store.create_run(experiment_id)  # learns the experiment's artifact location
    run = store.create_run(experiment_id, run_name="x", tags={"k": "v", "q": "it's"})
    stored = store.get_run(run.info.run_id)
    assert stored.info == run.info
    assert stored.tags == run.tags == {"mlflow.runName": "x", "k": "v", "q": "it's"}
    store.delete_experiment(experiment_id)
    with pytest.raises(FailedPrecondition):
        store.create_run(experiment_id, tags={"k": "v"})
    assert len(store.search_runs([experiment_id], view_type=ViewType.ALL).items) == 2


@pytest.mark.parametrize("cached", [False, True], ids=["first-run", "cached-experiment"])
def test_create_run_with_params_writes_them_with_the_run(
    store: SqlTrackingStore, experiment_id: str, cached: bool
) -> None:
    """Both MySQL paths (the experiment read first; its location cached: one round trip)."""
    if cached:
        store.create_run(experiment_id)
    params = [Param("alpha", "0.5"), Param("l1_ratio", "it's"), Param("alpha", "0.5")]
    run = store.create_run(experiment_id, tags={"k": "v"}, params=params)
    assert run.params == {"alpha": "0.5", "l1_ratio": "it's"}
    stored = store.get_run(run.info.run_id)
    assert stored.params == run.params
    assert stored.tags == run.tags
    # Params stay immutable: the same value again is fine, another one is refused.
    store.log_batch(run.info.run_id, params=[Param("alpha", "0.5")])
    with pytest.raises(InvalidArgument, match="alpha"):
        store.log_batch(run.info.run_id, params=[Param("alpha", "0.6")])


@pytest.mark.parametrize("cached", [False, True], ids=["first-run", "cached-experiment"])
def test_create_run_in_a_deleted_experiment_writes_no_params(
    store: SqlTrackingStore, experiment_id: str, cached: bool
) -> None:
    if cached:
        store.create_run(experiment_id)
    store.delete_experiment(experiment_id)
    with pytest.raises(FailedPrecondition):
        store.create_run(experiment_id, params=[Param("alpha", "0.5")])
    store.restore_experiment(experiment_id)
    runs = store.search_runs([experiment_id], view_type=ViewType.ALL).items
    assert [run.params for run in runs] == [{}] * (1 if cached else 0)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ([Param("a", "1"), Param("a", "2")], "params[1].value"),
        ([Param("bad\nkey", "1")], "params[0].key"),
        ([Param("a", "x" * 6001)], "params[0].value"),
        ([Param(f"p{i}", "1") for i in range(101)], "params"),
    ],
    ids=["conflicting-duplicate", "bad-key", "value-too-long", "too-many"],
)
def test_create_run_with_bad_params_is_invalid_and_creates_no_run(
    store: SqlTrackingStore, experiment_id: str, params: list[Param], field: str
) -> None:
    with pytest.raises(InvalidArgument) as caught:
        store.create_run(experiment_id, params=params)
    assert caught.value.field == field
    assert store.search_runs([experiment_id], view_type=ViewType.ALL).items == []


# MySQL/MariaDB only: the SQLite run of this module does not include it (no skip that always fires).
@pytest.mark.parametrize("store_backend", ["mysql"], indirect=True)
def test_round_trips_per_write(
    store: SqlTrackingStore, experiment_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Blocking round trips per call, COMMIT and pings included: what T1 and T3 rest on."""
    assert store.dialect == "mysql"
    import pymysql.connections

    trips: list[str] = []
    connection = pymysql.connections.Connection
    for name in ("query", "commit", "rollback", "ping"):
        original = getattr(connection, name)

        def counting(self: object, *args: object, _name: str = name, _original=original,
                     **kwargs: object) -> object:  # fmt: skip
            trips.append(_name)
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(connection, name, counting)

    def count(call: Callable[[], object]) -> int:
        trips.clear()
        call()
        return len(trips)

    run_id = store.create_run(experiment_id).info.run_id  # caches the experiment's location
    five_tags = {f"t{i}": "v" for i in range(5)}
    assert count(lambda: store.create_run(experiment_id, tags=five_tags)) == 1
    ten_params = [Param(f"p{i}", str(i)) for i in range(10)]
    assert count(lambda: store.create_run(experiment_id, tags=five_tags, params=ten_params)) == 1
    assert count(lambda: store.log_batch(run_id, metrics=[Metric("m", 1.0, 1, 0)])) == 1
    params = [Param(f"p{i}", str(i)) for i in range(10)]
    tags = [RunTag(f"t{i}", "v") for i in range(5)]
    batch_id = "b-trips-" + run_id
    assert count(lambda: store.log_batch(run_id, params=params, tags=tags, batch_id=batch_id)) == 1
    # A param logged again: the one trip fails on its key, a ROLLBACK, then the general path.
    assert count(lambda: store.log_batch(run_id, params=[Param("p0", "0")])) > 2


@pytest.fixture
def own_store(new_database: Callable[[str], str], tmp_path: Path) -> Iterator[SqlTrackingStore]:
    tracking = SqlTrackingStore(new_database("mysql"), str(tmp_path))
    yield tracking
    tracking.dispose()


def test_connections_killed_while_idle_are_replaced_transparently(
    own_store: SqlTrackingStore, caplog: pytest.LogCaptureFixture
) -> None:
    """`KILL` every pooled connection of the store from another session; after more than the
    idle threshold (1 s), the next calls ping, get new connections and succeed."""
    store = own_store
    experiment_id = store.create_experiment("killed")
    run_id = store.create_run(experiment_id).info.run_id
    store.create_run(experiment_id)  # the one-trip engine has a connection too now
    store.log_batch(run_id, metrics=[Metric("m", 1.0, 1, 0)])
    database = store.engine.url.database
    admin = sa.create_engine(store.engine.url.set(database=""), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            ids = connection.execute(
                sa.text("SELECT id FROM information_schema.processlist "
                        "WHERE db = :db AND id <> CONNECTION_ID()"),
                {"db": database},
            ).scalars().all()  # fmt: skip
            assert len(ids) >= 2  # the main engine's and the one-trip engine's
            for connection_id in ids:
                connection.execute(sa.text(f"KILL {int(connection_id)}"))
    finally:
        admin.dispose()
    time.sleep(1.3)
    caplog.set_level(logging.INFO, logger="mlgrpc_server.db")
    store.log_batch(run_id, metrics=[Metric("m", 2.0, 2, 1)])  # one-trip engine
    store.create_run(experiment_id, tags={"a": "b"})
    assert store.get_run(run_id).metrics == [Metric("m", 2.0, 2, 1)]  # one-trip engine
    assert len(store.search_runs([experiment_id]).items) == 3  # main engine
    # Replaced by the idle ping, not by a failed call and a retry.
    assert caplog.text.count("is gone") >= 2


# MySQL/MariaDB only: the SQLite run of this module does not include it (no skip that always fires).
@pytest.mark.parametrize("store_backend", ["mysql"], indirect=True)
def test_only_the_one_query_engine_takes_several_statements_in_a_query(
    store: SqlTrackingStore,
) -> None:
    """The main engine's connections refuse stacked statements: no other path can send any."""
    assert store.dialect == "mysql"
    assert isinstance(store.fast_paths, MySQLFastPaths)
    with store.engine.connect() as connection:
        with pytest.raises(sa.exc.ProgrammingError):
            connection.exec_driver_sql("SELECT 1; SELECT 2")
    with store.fast_paths.one_query_engine.connect() as connection:
        cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        cursor.execute("SELECT 1; SELECT 2")
        assert cursor.fetchall() == ((1,),)
        assert cursor.nextset()
        assert cursor.fetchall() == ((2,),)
        cursor.close()


def test_one_query_errors_are_sqlalchemy_errors_and_the_connection_stays_usable(
    new_database: Callable[[str], str],
) -> None:
    """The one-trip path uses the pool's DBAPI connection: the driver's errors must still reach
    the service as SQLAlchemy's (an unreachable database → OperationalError → UNAVAILABLE), at
    checkout as while the query runs, and a failed query leaves no transaction behind."""
    from mlgrpc_server.db import create_db_engine
    from tracking_service.store.dialects.mysql_one_query import run_as_one_query

    unreachable = create_db_engine("mysql+pymysql://root@127.0.0.1:1/nothing",
                                   multi_statements=True)  # fmt: skip
    try:
        with pytest.raises(sa.exc.OperationalError):
            run_as_one_query(unreachable, lambda transaction: transaction.add("SELECT 1"))
    finally:
        unreachable.dispose()

    engine = create_db_engine(new_database("mysql"), pool_size=1, multi_statements=True)
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql("CREATE TABLE t (id INT PRIMARY KEY)")

        def insert_then_fail(transaction: object) -> None:
            transaction.add("INSERT INTO t VALUES (%s)", (1,))  # type: ignore[attr-defined]
            transaction.add("SELECT no_such_column FROM t")  # type: ignore[attr-defined]

        with pytest.raises(sa.exc.OperationalError):  # 1054, unknown column
            run_as_one_query(engine, insert_then_fail)
        # The same pooled connection: nothing of the failed transaction, and it works.
        ((_, rows),) = run_as_one_query(engine, lambda t: t.add("SELECT COUNT(*) FROM t"))
        assert rows == ((0,),)
    finally:
        engine.dispose()


# MySQL/MariaDB only, as above: what the guard's shared lock is for.
@pytest.mark.parametrize("store_backend", ["mysql"], indirect=True)
def test_log_metric_waits_for_a_concurrent_delete_and_then_fails(
    store: SqlTrackingStore, run_id: str
) -> None:
    """A LogMetric arriving while another transaction deletes its run waits for that COMMIT and
    then answers FAILED_PRECONDITION, writing nothing: the run is read under a lock, never as a
    snapshot from before the delete."""
    import threading

    deleter = sa.create_engine(store.engine.url)
    outcome: dict[str, BaseException | None] = {}

    def log_metric() -> None:
        try:
            store.log_batch(run_id, metrics=[Metric("m", 1.0, 1, 0)])
            outcome["error"] = None
        except BaseException as error:  # noqa: BLE001 - the test inspects it
            outcome["error"] = error

    try:
        with deleter.connect() as connection:
            connection.exec_driver_sql(
                "UPDATE runs SET lifecycle_stage = 'deleted' WHERE run_uuid = %s", (run_id,)
            )  # uncommitted: holds the run's row
            logger = threading.Thread(target=log_metric)
            logger.start()
            logger.join(0.5)
            assert logger.is_alive(), "LogMetric did not wait for the delete in flight"
            connection.commit()
        logger.join(30)
    finally:
        deleter.dispose()
    assert isinstance(outcome["error"], FailedPrecondition)
    store.restore_run(run_id)
    assert store.get_run(run_id).metrics == []
    assert store.get_metric_history(run_id, "m").items == []


# MySQL/MariaDB only, as above.
@pytest.mark.parametrize("store_backend", ["mysql"], indirect=True)
@pytest.mark.parametrize(
    "value", [0.5, -3.0, 1e300, 7, 0.0], ids=["half", "negative", "huge", "int", "zero"]
)
def test_log_metric_script_is_the_batch_script_of_one_metric(
    store: SqlTrackingStore, value: float
) -> None:
    """LogMetric's script from its text made once (`mysql_log_metric`) is, to the byte, the
    one-query script `add_log_batch` writes for a batch of that one metric: same statements,
    same guard, same values as the driver renders them."""
    from tracking_service.store.dialects import mysql_log_batch
    from tracking_service.store.dialects.mysql_log_metric import log_metric_script
    from tracking_service.store.dialects.mysql_one_query import OneQueryTransaction

    assert isinstance(store.fast_paths, MySQLFastPaths)
    row = ("a" * 32, "it's a \\ key; DROP", 3, 1_700_000_000_000, float(value), 0)
    pooled = store.fast_paths.one_query_engine.raw_connection()
    try:
        cursor = pooled.dbapi_connection.cursor()  # type: ignore[union-attr]
        transaction = OneQueryTransaction(cursor)
        mysql_log_batch.add_log_batch(transaction, row[0], [row], [row], {}, {}, "", 1)
        batch_script = ";\n".join([*transaction.statements, "COMMIT"])
        assert log_metric_script(cursor, row) == batch_script
        cursor.close()
    finally:
        pooled.close()


def test_threads_keep_one_connection_each_within_the_pool_size_and_give_it_back(
    new_database: Callable[[str], str],
) -> None:
    """`ThreadConnections`: a thread keeps the connection of its last call (no checkout per
    call); beyond the pool's size threads give theirs back after each call; a thread's kept
    connection goes back to the pool when the thread ends, all of them at dispose."""
    import gc
    import threading

    from mlgrpc_server.db import create_db_engine
    from tracking_service.store.dialects.mysql_one_query import run_as_one_query
    from tracking_service.store.dialects.mysql_thread_connections import ThreadConnections

    engine = create_db_engine(new_database("mysql"), pool_size=1, multi_statements=True)
    connections = ThreadConnections(engine)
    pool = engine.pool
    ids: list[int] = []

    def call() -> None:
        ((_, ((connection_id,),)),) = run_as_one_query(
            connections, lambda t: t.add("SELECT CONNECTION_ID()")
        )
        ids.append(int(connection_id))

    try:
        call()
        call()
        assert ids[0] == ids[1]  # the same connection, kept between the calls
        assert pool.checkedout() == 1  # type: ignore[attr-defined]
        other = threading.Thread(target=call)  # while this thread keeps one: beyond the size
        other.start()
        other.join()
        assert ids[2] != ids[0]
        assert pool.checkedout() == 1  # type: ignore[attr-defined]  # given back after its call
        connections.dispose()  # every kept one back, the pool emptied
        assert pool.checkedout() == 0  # type: ignore[attr-defined]

        connections = ThreadConnections(engine)
        pool = engine.pool
        worker = threading.Thread(target=call)
        worker.start()
        worker.join()
        del worker
        gc.collect()
        assert pool.checkedout() == 0  # type: ignore[attr-defined]  # its thread ended
        call()  # and the connection it gave back is the pool's again
        assert pool.checkedout() == 1  # type: ignore[attr-defined]
    finally:
        connections.dispose()


def test_a_kept_connection_that_fails_goes_back_and_the_next_call_gets_another(
    new_database: Callable[[str], str],
) -> None:
    """A call that fails gives its kept connection back (rolled back, or invalidated if the
    connection is gone): the next call of the thread works on a good one."""
    from mlgrpc_server.db import create_db_engine
    from tracking_service.store.dialects.mysql_one_query import run_as_one_query
    from tracking_service.store.dialects.mysql_thread_connections import ThreadConnections

    engine = create_db_engine(new_database("mysql"), pool_size=2, multi_statements=True)
    connections = ThreadConnections(engine)
    killer = sa.create_engine(engine.url, isolation_level="AUTOCOMMIT")
    try:
        ((_, ((kept_id,),)),) = run_as_one_query(
            connections, lambda t: t.add("SELECT CONNECTION_ID()")
        )
        with killer.connect() as connection:
            connection.execute(sa.text(f"KILL {int(kept_id)}"))
        with pytest.raises(sa.exc.OperationalError) as raised:  # not idle: no ping, the call fails
            run_as_one_query(connections, lambda t: t.add("SELECT 1"))
        assert raised.value.connection_invalidated
        ((_, ((new_id,),)),) = run_as_one_query(
            connections, lambda t: t.add("SELECT CONNECTION_ID()")
        )
        assert new_id != kept_id
        with pytest.raises(sa.exc.OperationalError):  # 1054: rolled back, given back, not kept
            run_as_one_query(connections, lambda t: t.add("SELECT no_such_column"))
        assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]
        ((_, ((again,),)),) = run_as_one_query(
            connections, lambda t: t.add("SELECT CONNECTION_ID()")
        )
        assert again == new_id  # the pool's, healthy
    finally:
        killer.dispose()
        connections.dispose()
