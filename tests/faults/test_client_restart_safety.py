"""A client's writes ride out kill -9 of the tracking service, and nothing acknowledged is lost.

- Synchronous logging: kill -9 of the service mid-loop, restarted on the same port and database
  within the retry window → the loop sees no exception; every value is stored exactly once.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

import mlgrpc

from .processes import ServiceProcess, free_port, wait_serving

SYNC_CLIENT = Path(__file__).with_name("sync_logging_client.py")
SYNC_STEPS = 1500


@pytest.fixture
def mariadb_uri(new_database: Callable[[str], str]) -> str:
    return new_database("mysql")


@pytest.fixture
def tracking(mariadb_uri: str, tmp_path: Path) -> Iterator[ServiceProcess]:
    port = free_port()
    service = ServiceProcess(
        "tracking_service",
        [
            "--port", str(port),
            "--backend-store-uri", mariadb_uri,
            "--default-artifact-root", str(tmp_path / "artifacts"),
            "--log-level", "WARNING",
        ],
        tmp_path / "tracking.log",
        port,
    )  # fmt: skip
    service.start()
    wait_serving(service.address)
    yield service
    service.stop()


def _count(engine: sa.Engine, sql: str, **params: object) -> int:
    with engine.connect() as connection:
        return int(connection.execute(sa.text(sql), params).scalar_one())


def _kill_and_restart(tracking: ServiceProcess, outage_seconds: float) -> None:
    tracking.signal(signal.SIGKILL)
    assert tracking.wait(10) == -signal.SIGKILL
    time.sleep(outage_seconds)
    tracking.start()
    wait_serving(tracking.address)


def test_sync_loop_rides_out_kill_9_without_loss_or_duplicates(
    tracking: ServiceProcess, mariadb_uri: str
) -> None:
    client = mlgrpc.MlgrpcClient(f"grpc://{tracking.address}")
    run_id = client.create_run(client.create_experiment("sync-kill-9")).info.run_id
    loop = subprocess.Popen(
        [sys.executable, str(SYNC_CLIENT), "--uri", f"grpc://{tracking.address}",
         "--run-id", run_id, "--count", str(SYNC_STEPS)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "MLGRPC_LOG_RETRY_SECONDS": "90"},
    )  # fmt: skip
    engine = sa.create_engine(mariadb_uri)
    try:
        deadline = time.monotonic() + 120
        while _count(engine, "SELECT COUNT(*) FROM metrics") < SYNC_STEPS // 4:
            assert loop.poll() is None, f"the loop ended early: {loop.communicate()[1][-3000:]}"
            assert time.monotonic() < deadline, "the loop never got going"
            time.sleep(0.05)
        _kill_and_restart(tracking, outage_seconds=2.0)
        out, err = loop.communicate(timeout=300)
    finally:
        if loop.poll() is None:
            loop.kill()
            loop.wait(5)
    assert loop.returncode == 0, f"the loop saw an exception: {err[-3000:]}"
    report = json.loads(out.strip().splitlines()[-1])
    assert report["retries"] > 0, "the kill happened while no write was in flight"

    history = client.get_metric_history(run_id, "loss")
    assert sorted(m.step for m in history) == list(range(SYNC_STEPS))
    acc = client.get_metric_history(run_id, "acc")
    assert sorted(m.step for m in acc) == list(range(SYNC_STEPS))
    run = client.get_run(run_id)
    assert run.data.params == {f"p{step}": str(step) for step in range(SYNC_STEPS)}
    assert run.data.tags["last_step"] == str(SYNC_STEPS - 1)
    assert run.info.status == "FINISHED"
    duplicated = _count(
        engine,
        "SELECT COUNT(*) FROM (SELECT `key`, step FROM metrics WHERE run_uuid = :run "
        "GROUP BY `key`, step HAVING COUNT(*) > 1) AS twice",
        run=run_id,
    )
    assert duplicated == 0
    engine.dispose()
