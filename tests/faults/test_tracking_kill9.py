"""kill -9 of the tracking service while 4 client processes stream asynchronous metrics.

The clients tag every LogBatch with a batch id and retry it through the outage; the service,
restarted on the same port, writes a replayed batch once. Every value the clients were told is
written (their flush returned) must be in MariaDB exactly once, and the clients end cleanly.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import sqlalchemy as sa

import mlgrpc

from .processes import ServiceProcess, wait_serving

CLIENTS = 4
METRICS_PER_CLIENT = 20_000
CLIENT_SCRIPT = Path(__file__).with_name("async_logging_client.py")


def _metric_rows(engine: sa.Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(sa.text("SELECT COUNT(*) FROM metrics")).scalar_one())


def test_kill_9_mid_stream_loses_and_duplicates_nothing(
    tracking: ServiceProcess, mariadb_uri: str
) -> None:
    address = tracking.address
    client = mlgrpc.MlgrpcClient(f"grpc://{address}")
    experiment_id = client.create_experiment("kill-9")
    run_ids = [client.create_run(experiment_id).info.run_id for _ in range(CLIENTS)]
    clients = [
        subprocess.Popen(
            [
                sys.executable,
                str(CLIENT_SCRIPT),
                "--uri",
                f"grpc://{address}",
                "--run-id",
                run_id,
                "--count",
                str(METRICS_PER_CLIENT),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "MLGRPC_LOG_RETRY_SECONDS": "90"},
        )  # fmt: skip
        for run_id in run_ids
    ]
    engine = sa.create_engine(mariadb_uri)
    try:
        # Kill once the clients are well into their stream, not before they started.
        deadline = time.monotonic() + 60
        while _metric_rows(engine) < CLIENTS * METRICS_PER_CLIENT // 4:
            assert time.monotonic() < deadline, "the clients never got going"
            time.sleep(0.05)
        rows_at_kill = _metric_rows(engine)
        tracking.signal(signal.SIGKILL)
        assert tracking.wait(10) == -signal.SIGKILL
        killed_at = time.monotonic()
        time.sleep(1.0)  # an outage the clients must ride out
        tracking.start()
        ready_after = wait_serving(address)
        outage = time.monotonic() - killed_at
        reports = []
        for process in clients:
            out, err = process.communicate(timeout=180)
            assert process.returncode == 0, f"a client failed: {err[-3000:]}"
            reports.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        for process in clients:
            if process.poll() is None:
                process.kill()
                process.wait(5)

    with engine.connect() as connection:
        per_point = connection.execute(
            sa.text(
                "SELECT run_uuid, COUNT(*), COUNT(DISTINCT step), MIN(step), MAX(step), "
                "MAX(c) FROM (SELECT run_uuid, step, COUNT(*) AS c FROM metrics "
                "WHERE `key` = 'loss' GROUP BY run_uuid, step) AS points GROUP BY run_uuid"
            )
        ).all()
        statuses = {
            run_id: status
            for run_id, status in connection.execute(sa.text("SELECT run_uuid, status FROM runs"))
        }
        batch_ids = int(
            connection.execute(sa.text("SELECT COUNT(*) FROM applied_batches")).scalar_one()
        )
    engine.dispose()
    found = {row[0]: row[1:] for row in per_point}
    assert set(found) == set(run_ids)
    for run_id in run_ids:
        points, distinct_steps, low, high, most_per_step = found[run_id]
        assert (points, distinct_steps, low, high) == (
            METRICS_PER_CLIENT, METRICS_PER_CLIENT, 0, METRICS_PER_CLIENT - 1
        ), f"run {run_id}: every step exactly once"  # fmt: skip
        assert most_per_step == 1
        assert statuses[run_id] == "FINISHED"
    figures = {
        "acknowledged": sum(r["logged"] for r in reports),
        "found": sum(f[0] for f in found.values()),
        "rows_at_kill": rows_at_kill,
        "outage_s": round(outage, 2),
        "restart_ready_s": round(ready_after, 2),
        "client_retries": sum(r["retries"] for r in reports),
        "client_replays": sum(r["replays"] for r in reports),
        "batch_ids": batch_ids,
        "client_seconds": [r["seconds_total"] for r in reports],
    }
    print("kill -9 figures:", json.dumps(figures))
    assert figures["acknowledged"] == figures["found"] == CLIENTS * METRICS_PER_CLIENT
    assert figures["client_retries"] > 0, "the kill happened while no batch was in flight"
