"""MariaDB restarted (cleanly, or after a crash) under a light load of the tracking service.

The database is a private mariadbd started by the test (own datadir, port and socket), never the
shared one. While it is down, calls answer UNAVAILABLE with a clear message (never INTERNAL); when
it is back, the same service process answers again, with no restart; every write that was
acknowledged is in the database; a client with batch retries rides the outage out unharmed.
"""

from __future__ import annotations

import json
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import pytest
import sqlalchemy as sa

import mlgrpc
from mlgrpc.entities import Metric
from mlgrpc.tracking.v1 import tracking_service_pb2 as pb
from mlgrpc.tracking.v1 import tracking_service_pb2_grpc as pb_grpc

from .processes import PrivateMariaDB

_WHY_NOT = PrivateMariaDB.unavailable_reason()
pytestmark = pytest.mark.skipif(_WHY_NOT is not None, reason=f"no private mariadbd: {_WHY_NOT}")

OUTAGE_SECONDS = 2.0


@pytest.fixture
def private_mariadb(tmp_path: Path) -> Iterator[PrivateMariaDB]:
    database = PrivateMariaDB()
    database.install()
    database.start()
    yield database
    database.remove()


@dataclass
class Load:
    """One LogBatch (one metric, its own batch id) every 20 ms on a raw stub: no client retry,
    so that the statuses of the outage are seen as they are."""

    stub: pb_grpc.TrackingServiceStub
    run_id: str
    acknowledged: list[tuple[int, float]] = field(default_factory=list)
    errors: list[tuple[grpc.StatusCode, str, float]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        step = 0
        while not self.stop.is_set():
            step += 1
            metric = pb.Metric(key="load", value=float(step), timestamp=1, step=step)
            request = pb.LogBatchRequest(
                run_id=self.run_id, metrics=[metric], batch_id=str(uuid.uuid4())
            )
            try:
                self.stub.LogBatch(request, timeout=10)
                self.acknowledged.append((step, time.monotonic()))
            except grpc.RpcError as error:
                self.errors.append((error.code(), error.details() or "", time.monotonic()))
            time.sleep(0.02)


@dataclass
class RetryingClient:
    """`MlgrpcClient.log_batch` in a loop: batch ids and retries through the outage."""

    client: mlgrpc.MlgrpcClient
    run_id: str
    acknowledged: list[int] = field(default_factory=list)
    failures: list[BaseException] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        step = 0
        while not self.stop.is_set():
            step += 1
            try:
                self.client.log_batch(self.run_id, metrics=[Metric("ride", 1.0, 1, step)])
                self.acknowledged.append(step)
            except BaseException as error:  # noqa: BLE001 - reported by the test
                self.failures.append(error)
                return
            time.sleep(0.05)


def _wait_for(condition: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGKILL], ids=["shutdown", "crash"])
def test_service_rides_out_a_mariadb_restart(
    private_mariadb: PrivateMariaDB, tmp_path: Path, signum: int
) -> None:
    from tracking_service.server import create_server

    admin = sa.create_engine(private_mariadb.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text("CREATE DATABASE mlgrpc CHARACTER SET utf8mb4"))
    admin.dispose()
    uri = f"{private_mariadb.url}/mlgrpc?charset=utf8mb4"
    running = create_server(
        backend_store_uri=uri, default_artifact_root=str(tmp_path / "artifacts"), port=0
    )
    address = f"127.0.0.1:{running.port}"
    channel = grpc.insecure_channel(address)
    stub = pb_grpc.TrackingServiceStub(channel)
    experiment_id = stub.CreateExperiment(pb.CreateExperimentRequest(name="restart")).experiment_id
    load_run, ride_run = (
        stub.CreateRun(pb.CreateRunRequest(experiment_id=experiment_id)).run.info.run_id
        for _ in range(2)
    )
    load = Load(stub, load_run)
    rider = RetryingClient(mlgrpc.MlgrpcClient(f"grpc://{address}"), ride_run)
    threads = [threading.Thread(target=load.run), threading.Thread(target=rider.run)]
    for thread in threads:
        thread.start()
    try:
        _wait_for(lambda: len(load.acknowledged) >= 20, 30, "the load to start")
        stop_seconds = private_mariadb.stop(signum)
        stopped_at = time.monotonic()
        _wait_for(lambda: len(load.errors) >= 5, 30, "calls to fail during the outage")
        with pytest.raises(grpc.RpcError) as caught:
            stub.GetRun(pb.GetRunRequest(run_id=load_run), timeout=10)
        assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
        assert "database is unavailable" in (caught.value.details() or "")
        time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - stopped_at)))
        restart_seconds = private_mariadb.start()
        restarted_at = time.monotonic()
        _wait_for(
            lambda: load.acknowledged and load.acknowledged[-1][1] > restarted_at,
            60,
            "the service to answer again without a restart",
        )
        recovery = load.acknowledged[-1][1] - restarted_at
        stub.GetRun(pb.GetRunRequest(run_id=load_run), timeout=10)
        time.sleep(0.5)
    finally:
        load.stop.set()
        rider.stop.set()
        for thread in threads:
            thread.join(timeout=150)
    try:
        assert rider.failures == []
        during = [e for e in load.errors if e[2] >= stopped_at]
        assert {code for code, _, _ in load.errors} == {grpc.StatusCode.UNAVAILABLE}, load.errors
        assert all("database is unavailable" in message for _, message, _ in load.errors)
        engine = sa.create_engine(uri)
        with engine.connect() as connection:
            stored = {
                key: dict(rows)
                for key, rows in (
                    (
                        key,
                        connection.execute(
                            sa.text(
                                "SELECT step, COUNT(*) FROM metrics WHERE run_uuid = :run "
                                "AND `key` = :key GROUP BY step"
                            ),
                            {"run": run, "key": key},
                        ).all(),
                    )
                    for key, run in (("load", load_run), ("ride", ride_run))
                )
            }
        engine.dispose()
        acknowledged = [step for step, _ in load.acknowledged]
        missing = [step for step in acknowledged if step not in stored["load"]]
        assert missing == [], f"acknowledged but lost: {missing}"
        assert sorted(stored["ride"]) == rider.acknowledged
        assert set(stored["ride"].values()) == {1}
        print(
            f"mariadb {signal.Signals(signum).name} figures:",
            json.dumps(
                {
                    "mariadb_stop_s": round(stop_seconds, 2),
                    "mariadb_start_s": round(restart_seconds, 2),
                    "outage_s": round(restarted_at - stopped_at, 2),
                    "recovery_after_restart_s": round(recovery, 2),
                    "load_acknowledged": len(acknowledged),
                    "load_found": len(stored["load"]),
                    "load_unavailable": len(during),
                    "retrying_client_acknowledged": len(rider.acknowledged),
                    "retrying_client_found": len(stored["ride"]),
                }
            ),
        )
    finally:
        channel.close()
        running.stop(grace=1)
