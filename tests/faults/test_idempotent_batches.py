"""Batch ids: a LogBatch/LogStream batch retried with its id is written once (SQLite, MariaDB),
and the client retries with the same id for a bounded time, then surfaces the error."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest
import sqlalchemy as sa

import mlgrpc
from mlgrpc import _batch_retry
from mlgrpc.exceptions import DeadlineExceededError, InvalidArgumentError, UnavailableError
from mlgrpc.tracking.v1 import tracking_service_pb2 as pb
from mlgrpc.tracking.v1 import tracking_service_pb2_grpc as pb_grpc
from mlgrpc_server.errors import FailedPrecondition, InvalidArgument, NotFound
from tracking_service.domain import Metric, Param, RunTag
from tracking_service.store.portable import batch_ids
from tracking_service.store.sql_store import SqlTrackingStore

from .processes import free_port


@pytest.fixture(scope="module")
def store(db_uri: str, artifact_root: Path) -> Iterator[SqlTrackingStore]:
    tracking = SqlTrackingStore(db_uri, str(artifact_root))
    yield tracking
    tracking.dispose()


@pytest.fixture
def run_id(store: SqlTrackingStore) -> str:
    experiment_id = store.create_experiment(f"batches-{uuid.uuid4().hex[:8]}")
    return store.create_run(experiment_id).info.run_id


def _new_id() -> str:
    return str(uuid.uuid4())


def test_replay_writes_nothing_and_answers_the_original_count(
    store: SqlTrackingStore, run_id: str
) -> None:
    batch = _new_id()
    first = store.log_batch(
        run_id,
        metrics=[Metric("loss", 1.0, 10, 0), Metric("loss", 0.5, 11, 1)],
        params=[Param("alpha", "1")],
        tags=[RunTag("stage", "first")],
        batch_id=batch,
    )
    assert first == batch_ids.BatchOutcome(4, replayed=False)
    store.log_batch(run_id, tags=[RunTag("stage", "second")], batch_id=_new_id())
    # The replay carries another timestamp: written again, it would add points.
    replay = store.log_batch(
        run_id,
        metrics=[Metric("loss", 1.0, 99, 0), Metric("loss", 0.5, 99, 1)],
        params=[Param("alpha", "1")],
        tags=[RunTag("stage", "first")],
        batch_id=batch,
    )
    assert replay == batch_ids.BatchOutcome(4, replayed=True)
    history = store.get_metric_history(run_id, "loss").items
    assert [(m.step, m.timestamp) for m in history] == [(0, 10), (1, 11)]
    # A late replay does not overwrite what a later batch set.
    assert store.get_run(run_id).tags["stage"] == "second"


def test_without_batch_id_every_request_is_written(store: SqlTrackingStore, run_id: str) -> None:
    for timestamp in (1, 2):
        outcome = store.log_batch(run_id, metrics=[Metric("m", 1.0, timestamp, 0)])
        assert outcome == batch_ids.BatchOutcome(1, replayed=False)
    assert len(store.get_metric_history(run_id, "m").items) == 2


def test_batch_id_of_another_run_is_invalid(store: SqlTrackingStore, run_id: str) -> None:
    batch = _new_id()
    store.log_batch(run_id, metrics=[Metric("m", 1.0, 1, 0)], batch_id=batch)
    other = store.create_run(store.get_run(run_id).info.experiment_id).info.run_id
    with pytest.raises(InvalidArgument) as caught:
        store.log_batch(other, metrics=[Metric("m", 1.0, 1, 0)], batch_id=batch)
    assert caught.value.field == "batch_id"
    assert store.get_metric_history(other, "m").items == []


@pytest.mark.parametrize("bad", ["x" * 65, "new\nline", "é" * 10])
def test_malformed_batch_id_is_invalid(store: SqlTrackingStore, run_id: str, bad: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        store.log_batch(run_id, metrics=[Metric("m", 1.0, 1, 0)], batch_id=bad)
    assert caught.value.field == "batch_id"


def test_batch_to_missing_or_deleted_run_records_no_id(
    store: SqlTrackingStore, run_id: str
) -> None:
    with pytest.raises(NotFound):
        store.log_batch("f" * 32, metrics=[Metric("m", 1.0, 1, 0)], batch_id=_new_id())
    batch = _new_id()
    store.delete_run(run_id)
    with pytest.raises(FailedPrecondition):
        store.log_batch(run_id, metrics=[Metric("m", 1.0, 1, 0)], batch_id=batch)
    store.restore_run(run_id)
    # The failed attempt rolled back with its id: the same id now writes.
    outcome = store.log_batch(run_id, metrics=[Metric("m", 1.0, 1, 0)], batch_id=batch)
    assert outcome.replayed is False
    assert len(store.get_metric_history(run_id, "m").items) == 1


def test_concurrent_retries_of_one_batch_write_it_once(
    store: SqlTrackingStore, run_id: str
) -> None:
    batch = _new_id()
    outcomes: list[batch_ids.BatchOutcome] = []
    errors: list[BaseException] = []
    start = threading.Barrier(6)

    def retry(offset: int) -> None:
        start.wait()
        try:
            metrics = [Metric("c", float(i), 1000 + offset, i) for i in range(200)]
            outcomes.append(store.log_batch(run_id, metrics=metrics, batch_id=batch))
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=retry, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert sorted(o.replayed for o in outcomes) == [False] + [True] * 5
    assert {o.rows_written for o in outcomes} == {200}
    assert len(store.get_metric_history(run_id, "c").items) == 200


def test_expired_batch_ids_are_deleted(store: SqlTrackingStore, run_id: str) -> None:
    batch = _new_id()
    store.log_batch(run_id, metrics=[Metric("e", 1.0, 1, 0)], batch_id=batch)
    assert batch_ids.delete_expired(store.engine, older_than_ms=0) == 0
    assert batch_ids.delete_expired(store.engine, older_than_ms=2**62) >= 1
    with store.engine.connect() as connection:
        left = connection.execute(
            sa.text("SELECT COUNT(*) FROM applied_batches WHERE batch_id = :id"), {"id": batch}
        ).scalar_one()
    assert left == 0


# ---- over gRPC --------------------------------------------------------------------------------


@pytest.fixture
def stub(tracking_server: str) -> Iterator[pb_grpc.TrackingServiceStub]:
    with grpc.insecure_channel(tracking_server) as channel:
        yield pb_grpc.TrackingServiceStub(channel)


def _rpc_run(stub: pb_grpc.TrackingServiceStub) -> str:
    return stub.CreateRun(pb.CreateRunRequest(experiment_id="0")).run.info.run_id


def test_log_batch_rpc_says_replayed(stub: pb_grpc.TrackingServiceStub) -> None:
    run_id = _rpc_run(stub)
    request = pb.LogBatchRequest(
        run_id=run_id, metrics=[pb.Metric(key="m", value=1, timestamp=1)], batch_id=_new_id()
    )
    assert stub.LogBatch(request).replayed is False
    assert stub.LogBatch(request).replayed is True
    history = stub.GetMetricHistory(pb.GetMetricHistoryRequest(run_id=run_id, metric_key="m"))
    assert len(history.metrics) == 1


def test_replayed_log_stream_counts_replays(stub: pb_grpc.TrackingServiceStub) -> None:
    run_id = _rpc_run(stub)
    batches = [
        pb.LogStreamRequest(
            run_id=run_id,
            metrics=[pb.Metric(key="s", value=i, timestamp=1, step=i)],
            batch_id=_new_id(),
        )
        for i in range(5)
    ]
    first = stub.LogStream(iter(batches[:3]))
    assert (first.batches_written, first.batches_replayed) == (3, 0)
    # The client replays the whole stream after a break: the first three are skipped.
    again = stub.LogStream(iter(batches))
    assert (again.batches_written, again.batches_replayed, again.metrics_written) == (5, 3, 5)
    history = stub.GetMetricHistory(pb.GetMetricHistoryRequest(run_id=run_id, metric_key="s"))
    assert [m.step for m in history.metrics] == [0, 1, 2, 3, 4]


def test_malformed_batch_id_is_invalid_argument_over_grpc(tracking_server: str) -> None:
    client = mlgrpc.MlgrpcClient(f"grpc://{tracking_server}")
    run_id = client.create_run("0").info.run_id
    stub = pb_grpc.TrackingServiceStub(grpc.insecure_channel(tracking_server))
    with pytest.raises(grpc.RpcError) as caught:
        stub.LogBatch(pb.LogBatchRequest(run_id=run_id, batch_id="x" * 100))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "batch_id" in (caught.value.details() or "")


# ---- client retries ---------------------------------------------------------------------------


def test_send_batch_retries_unavailable_then_succeeds() -> None:
    attempts: list[float] = []

    def call() -> str:
        attempts.append(time.monotonic())
        if len(attempts) < 3:
            raise UnavailableError("down")
        return "ok"

    assert _batch_retry.send_batch(call, what="test", budget=10) == "ok"
    assert len(attempts) == 3


def test_send_batch_never_retries_other_errors() -> None:
    calls = []

    def call() -> None:
        calls.append(1)
        raise InvalidArgumentError("bad")

    with pytest.raises(InvalidArgumentError):
        _batch_retry.send_batch(call, what="test", budget=10)
    assert calls == [1]


def test_overwriting_writes_are_not_retried_after_a_deadline() -> None:
    # The first attempt may still commit on a live service, after a later write of the key.
    calls = []

    def call() -> None:
        calls.append(1)
        raise DeadlineExceededError("slow")

    with pytest.raises(DeadlineExceededError):
        _batch_retry.retry_write(
            call, what="test", budget=10, retryable=_batch_retry.is_retryable_overwrite
        )
    assert calls == [1]


def test_retry_budget_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLGRPC_LOG_RETRY_SECONDS", "7.5")
    assert _batch_retry.retry_seconds() == 7.5
    monkeypatch.setenv("MLGRPC_LOG_RETRY_SECONDS", "0")
    assert _batch_retry.retry_seconds() == 0
    monkeypatch.delenv("MLGRPC_LOG_RETRY_SECONDS")
    assert _batch_retry.retry_seconds() == _batch_retry.DEFAULT_RETRY_SECONDS


def test_async_error_surfaces_at_flush_after_the_retry_budget(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("MLGRPC_LOG_RETRY_SECONDS", "1.5")
    monkeypatch.setenv("MLGRPC_SPOOL_DIR", str(tmp_path))
    client = mlgrpc.MlgrpcClient(f"grpc://127.0.0.1:{free_port()}")  # nobody listens
    client.log_metric("a" * 32, "m", 1.0, synchronous=False)
    started = time.monotonic()
    with pytest.raises(UnavailableError) as raised:
        client.flush()
    waited = time.monotonic() - started
    assert 1.0 < waited < 15
    assert isinstance(raised.value, mlgrpc.UnsentLogsError) and raised.value.count == 1
    assert [path.name for path in client.spool_dir.iterdir()] == ["a" * 32 + ".jsonl"]


# ---- migration --------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["sqlite", "mysql"])
def test_batch_id_migration_upgrades_and_downgrades(
    backend: str, new_database: Callable[[str], str]
) -> None:
    from alembic import command

    from mlgrpc_server import schema
    from mlgrpc_server.db import create_db_engine

    engine = create_db_engine(new_database(backend))
    try:
        schema.upgrade(engine, "0003_idempotent_batches")
        inspector = sa.inspect(engine)
        assert "applied_batches" in inspector.get_table_names()
        assert inspector.get_pk_constraint("applied_batches")["constrained_columns"] == ["batch_id"]
        config = schema._config()
        with engine.connect() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "0002_registry")
            connection.commit()
        tables = set(sa.inspect(engine).get_table_names())
        assert "applied_batches" not in tables
        assert {"runs", "registered_models"} <= tables
        schema.upgrade(engine, "0003_idempotent_batches")
        assert "applied_batches" in sa.inspect(engine).get_table_names()
    finally:
        engine.dispose()
