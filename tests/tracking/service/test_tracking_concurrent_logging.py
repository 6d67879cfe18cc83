"""Eight clients logging at once into MariaDB: no row lost, latest_metrics right, no error."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from mlgrpc.tracking.v1 import tracking_service_pb2 as pb

pytestmark = pytest.mark.mysql

THREADS = 8
CALLS = 500
METRICS_PER_CALL = 100
KEYS = 10


@pytest.fixture(scope="module")
def db_uri(new_database: Callable[[str], str]) -> str:
    """Row-level concurrency is a MariaDB matter: this module runs on MariaDB only."""
    return new_database("mysql")


def _batch(run_id: str, thread: int, call: int) -> pb.LogBatchRequest:
    # Unique (key, step, timestamp) per point: timestamp encodes the thread and the point.
    return pb.LogBatchRequest(
        run_id=run_id,
        metrics=[
            pb.Metric(
                key=f"k{j % KEYS}",
                value=float(thread),
                timestamp=thread * 1000 + j // KEYS,
                step=call,
            )
            for j in range(METRICS_PER_CALL)
        ],
    )


def _log_concurrently(stub, run_for_thread: Callable[[int], str]) -> None:
    def work(thread: int) -> None:
        for call in range(CALLS):
            stub.LogBatch(_batch(run_for_thread(thread), thread, call), timeout=60)

    with ThreadPoolExecutor(THREADS) as pool:
        for future in [pool.submit(work, t) for t in range(THREADS)]:
            future.result()  # re-raises any RpcError a client saw


def _count(db_uri: str, run_id: str) -> int:
    engine = sa.create_engine(db_uri)
    try:
        with engine.connect() as connection:
            return connection.execute(
                sa.text("SELECT COUNT(*) FROM metrics WHERE run_uuid = :r"), {"r": run_id}
            ).scalar_one()
    finally:
        engine.dispose()


def _latest(stub, run_id: str) -> dict[str, tuple[int, int, float]]:
    run = stub.GetRun(pb.GetRunRequest(run_id=run_id)).run
    return {m.key: (m.step, m.timestamp, m.value) for m in run.data.metrics}


def test_eight_clients_into_one_run_lose_nothing(stub, experiment_id, db_uri) -> None:
    run_id = stub.CreateRun(pb.CreateRunRequest(experiment_id=experiment_id)).run.info.run_id
    _log_concurrently(stub, lambda _thread: run_id)
    assert _count(db_uri, run_id) == THREADS * CALLS * METRICS_PER_CALL
    last_thread = THREADS - 1
    expected = (CALLS - 1, last_thread * 1000 + METRICS_PER_CALL // KEYS - 1, float(last_thread))
    assert _latest(stub, run_id) == {f"k{k}": expected for k in range(KEYS)}


def test_eight_clients_into_eight_runs_lose_nothing(stub, experiment_id, db_uri) -> None:
    run_ids = [
        stub.CreateRun(pb.CreateRunRequest(experiment_id=experiment_id)).run.info.run_id
        for _ in range(THREADS)
    ]
    _log_concurrently(stub, lambda thread: run_ids[thread])
    for thread, run_id in enumerate(run_ids):
        assert _count(db_uri, run_id) == CALLS * METRICS_PER_CALL
        expected = (CALLS - 1, thread * 1000 + METRICS_PER_CALL // KEYS - 1, float(thread))
        assert _latest(stub, run_id) == {f"k{k}": expected for k in range(KEYS)}
