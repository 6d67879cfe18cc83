"""A client's writes ride out kill -9 of the tracking service, and nothing acknowledged is lost.

- Synchronous logging: kill -9 of the service mid-loop, restarted on the same port and database
  within the retry window → the loop sees no exception; every value is stored exactly once.
- Asynchronous logging with the service down past the retry window at `end_run`: end_run raises
  with the count, the values and the run's end wait in the spool, and `mlgrpc runs sync` (a real
  CLI process) sends every one once the service is back, once each, and ends the run as asked.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

import mlgrpc
from mlgrpc import spool
from mlgrpc._batch_retry import send_batch
from mlgrpc._spool_replay import batch_request

from .processes import ServiceProcess, wait_serving

SYNC_CLIENT = Path(__file__).with_name("sync_logging_client.py")
SYNC_STEPS = 1500
#: Async values logged while the service is up, then while it is down (2.5 batches' worth).
SENT_STEPS = 500
UNSENT_STEPS = 2500


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


@pytest.fixture
def spool_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "spool"
    monkeypatch.setenv("MLGRPC_SPOOL_DIR", str(directory))
    return directory


def test_async_values_unsent_at_end_run_are_spooled_and_synced_once(
    tracking: ServiceProcess, mariadb_uri: str, spool_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLGRPC_LOG_RETRY_SECONDS", "2")
    uri = f"grpc://{tracking.address}"
    mlgrpc.set_tracking_uri(uri)
    client = mlgrpc.MlgrpcClient(uri)
    mlgrpc.set_experiment(experiment_id=client.create_experiment("async-spool"))
    run_id = mlgrpc.start_run().info.run_id
    for step in range(SENT_STEPS):
        mlgrpc.log_metric("loss", step * 0.5, step=step, synchronous=False)
    mlgrpc.flush()

    tracking.signal(signal.SIGKILL)
    assert tracking.wait(10) == -signal.SIGKILL
    for step in range(SENT_STEPS, SENT_STEPS + UNSENT_STEPS):
        mlgrpc.log_metric("loss", step * 0.5, step=step, synchronous=False)
    mlgrpc.log_param("alpha", "0.5", synchronous=False)
    mlgrpc.set_tag("phase", "outage", synchronous=False)
    with pytest.raises(mlgrpc.UnsentLogsError) as raised:
        mlgrpc.end_run("FAILED")
    unsent = UNSENT_STEPS + 2
    assert raised.value.count == unsent
    assert raised.value.unsent == {run_id: unsent}
    assert raised.value.ended == {run_id: "FAILED"}
    assert "mlgrpc runs sync" in str(raised.value)

    run_spool = spool.RunSpool(client.spool_dir, run_id)
    records, _ = run_spool.read()
    assert spool.count_values(records) == unsent
    assert records[-1] == spool.SpooledEnd("FAILED", records[-1].end_time)  # type: ignore[union-attr]

    tracking.start()
    wait_serving(tracking.address)
    # A batch the service wrote before its reply was lost: the sync must not write it again.
    first = records[0]
    assert isinstance(first, spool.SpooledBatch)
    request = batch_request(run_id, first)
    send_batch(lambda: client._call("LogBatch", request), what="the lost reply", budget=60)

    sync = subprocess.run(
        [sys.executable, "-m", "mlgrpc.cli.main", "runs", "sync", "--tracking-uri", uri,
         "--output", "json"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "MLGRPC_SPOOL_DIR": str(spool_dir)},
    )  # fmt: skip
    assert sync.returncode == 0, sync.stderr
    (report,) = json.loads(sync.stdout)
    assert report == {
        "run_id": run_id, "sent": True, "batches": report["batches"], "values": unsent,
        "ended": "FAILED",
    }  # fmt: skip
    assert not run_spool.exists()

    history = client.get_metric_history(run_id, "loss")
    assert sorted(m.step for m in history) == list(range(SENT_STEPS + UNSENT_STEPS))
    run = client.get_run(run_id)
    assert run.data.params == {"alpha": "0.5"}
    assert run.data.tags["phase"] == "outage"
    assert run.info.status == "FAILED"
    assert run.info.end_time == records[-1].end_time  # type: ignore[union-attr]
    engine = sa.create_engine(mariadb_uri)
    try:
        duplicated = _count(
            engine,
            "SELECT COUNT(*) FROM (SELECT step FROM metrics WHERE run_uuid = :run "
            "GROUP BY step HAVING COUNT(*) > 1) AS twice",
            run=run_id,
        )
    finally:
        engine.dispose()
    assert duplicated == 0
