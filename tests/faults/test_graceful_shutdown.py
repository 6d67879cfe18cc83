"""SIGTERM drains: a call in flight completes, new calls are refused, the process exits 0 within
the grace period. For the three services, each a real `python -m …` process.

What keeps a call in flight long enough to send the signal in the middle of it:
- tracking: a LogStream whose client keeps sending batches for a second after the signal;
- registry: CreateRegisteredModel waiting for the SQLite write lock, held by the test;
- scoring: a Predict waiting for adaptive batching to fill a batch (`--max-batch-time`), with
  one process and with two workers (the parent forwards the signal to them).
"""

from __future__ import annotations

import json
import signal
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from mlgrpc.registry.v1 import registry_service_pb2 as rpb
from mlgrpc.registry.v1 import registry_service_pb2_grpc as rpb_grpc
from mlgrpc.scoring.v1 import scoring_service_pb2 as spb
from mlgrpc.scoring.v1 import scoring_service_pb2_grpc as spb_grpc
from mlgrpc.tracking.v1 import tracking_service_pb2 as pb
from mlgrpc.tracking.v1 import tracking_service_pb2_grpc as pb_grpc

from .conftest import SEED_COLUMNS, SEED_ROW
from .processes import ServiceProcess, free_port, wait_serving

#: The grace periods of the command lines (serve_until_signalled: 10 s; scoring: 5 s), plus
#: the slack of a loaded machine.
TRACKING_GRACE, SCORING_GRACE, SLACK = 10.0, 5.0, 10.0


def _start(module: str, args: list[str], tmp_path: Path) -> ServiceProcess:
    port = free_port()
    service = ServiceProcess(module, ["--port", str(port), *args], tmp_path / f"{module}.log", port)
    service.start()
    try:
        wait_serving(service.address, timeout=90)
    except TimeoutError:
        service.stop()
        raise AssertionError(f"{module} did not start:\n{service.log()[-3000:]}") from None
    return service


def _new_call_is_refused(address: str, call: Callable[[grpc.Channel], Any]) -> grpc.StatusCode:
    """The status of a call on a new channel; `options` make it a channel of its own (channels
    of one process otherwise share their connections)."""
    with grpc.insecure_channel(address, options=[("grpc.use_local_subchannel_pool", 1)]) as ch:
        try:
            call(ch)
        except grpc.RpcError as error:
            return error.code()
    return grpc.StatusCode.OK


@pytest.fixture
def sqlite_uri(tmp_path: Path) -> Iterator[str]:
    yield f"sqlite:///{tmp_path / 'mlgrpc.db'}"


def test_tracking_sigterm_lets_a_log_stream_finish(sqlite_uri: str, tmp_path: Path) -> None:
    service = _start(
        "tracking_service",
        ["--backend-store-uri", sqlite_uri, "--default-artifact-root", str(tmp_path / "a")],
        tmp_path,
    )
    try:
        channel = grpc.insecure_channel(service.address)
        stub = pb_grpc.TrackingServiceStub(channel)
        run_id = stub.CreateRun(pb.CreateRunRequest(experiment_id="0")).run.info.run_id
        signalled = threading.Event()
        first_sent = threading.Event()

        def batches() -> Iterator[pb.LogStreamRequest]:
            for step in range(11):
                metric = pb.Metric(key="m", value=1.0, timestamp=1, step=step)
                yield pb.LogStreamRequest(run_id=run_id, metrics=[metric])
                first_sent.set()
                if step == 0:
                    signalled.wait(10)
                time.sleep(0.1)  # ten more batches over a second after the signal

        result: dict[str, Any] = {}

        def stream() -> None:
            try:
                result["summary"] = stub.LogStream(batches(), timeout=30)
            except grpc.RpcError as error:
                result["error"] = f"{error.code()}: {error.details()}"

        thread = threading.Thread(target=stream)
        thread.start()
        assert first_sent.wait(10)
        time.sleep(0.2)
        service.signal(signal.SIGTERM)
        signalled_at = time.monotonic()
        signalled.set()
        time.sleep(0.3)
        refused = _new_call_is_refused(
            service.address,
            lambda ch: pb_grpc.TrackingServiceStub(ch).GetRun(
                pb.GetRunRequest(run_id=run_id), timeout=5
            ),
        )
        thread.join(30)
        exit_code = service.wait(TRACKING_GRACE + SLACK)
        exited_after = time.monotonic() - signalled_at
        channel.close()
    finally:
        service.stop()
    assert "error" not in result, result
    assert result["summary"].batches_written == 11
    assert refused == grpc.StatusCode.UNAVAILABLE
    assert exit_code == 0, service.log()[-3000:]
    assert exited_after < TRACKING_GRACE + SLACK
    print("tracking drain:", json.dumps({"exit_after_sigterm_s": round(exited_after, 2)}))


def test_registry_sigterm_lets_a_waiting_write_finish(sqlite_uri: str, tmp_path: Path) -> None:
    tracking_port = free_port()  # never started: creating a registered model does not need it
    service = _start(
        "registry_service",
        ["--backend-store-uri", sqlite_uri, "--tracking-address", f"127.0.0.1:{tracking_port}"],
        tmp_path,
    )
    lock = sqlite3.connect(sqlite_uri.removeprefix("sqlite:///"), isolation_level=None)
    try:
        channel = grpc.insecure_channel(service.address)
        stub = rpb_grpc.ModelRegistryServiceStub(channel)
        lock.execute("BEGIN IMMEDIATE")  # the registry's write now waits for this lock
        result: dict[str, Any] = {}

        def create() -> None:
            started = time.monotonic()
            try:
                request = rpb.CreateRegisteredModelRequest(name="drained")
                result["model"] = stub.CreateRegisteredModel(request, timeout=30)
            except grpc.RpcError as error:
                result["error"] = f"{error.code()}: {error.details()}"
            result["seconds"] = time.monotonic() - started

        thread = threading.Thread(target=create)
        thread.start()
        time.sleep(0.5)
        service.signal(signal.SIGTERM)
        signalled_at = time.monotonic()
        time.sleep(0.5)
        refused = _new_call_is_refused(
            service.address,
            lambda ch: rpb_grpc.ModelRegistryServiceStub(ch).GetRegisteredModel(
                rpb.GetRegisteredModelRequest(name="drained"), timeout=5
            ),
        )
        time.sleep(0.5)
        lock.execute("ROLLBACK")
        thread.join(30)
        exit_code = service.wait(TRACKING_GRACE + SLACK)
        exited_after = time.monotonic() - signalled_at
        channel.close()
    finally:
        lock.close()
        service.stop()
    assert "error" not in result, result
    assert result["model"].registered_model.name == "drained"
    assert result["seconds"] > 1.0  # it was in flight when the signal came
    assert refused == grpc.StatusCode.UNAVAILABLE
    assert exit_code == 0, service.log()[-3000:]
    assert exited_after < TRACKING_GRACE + SLACK
    print("registry drain:", json.dumps({"exit_after_sigterm_s": round(exited_after, 2)}))


def _own_prediction(model_dir: Path) -> list[float]:
    """The seed row predicted in this process by the model saved in `model_dir`."""
    import pandas as pd

    from mlgrpc import pyfunc

    model = pyfunc.load_model_from_dir(model_dir, allow_pickle=False)
    frame = pd.DataFrame([SEED_ROW], columns=SEED_COLUMNS)
    return [float(v) for v in model.predict(frame)]


@pytest.mark.parametrize("workers", [1, 2])
def test_scoring_sigterm_lets_a_predict_finish(
    model_dirs: tuple[Path, Path], tmp_path: Path, workers: int
) -> None:
    service = _start(
        "scoring_service",
        [
            "-m", f"wine={model_dirs[0]}",
            "--workers", str(workers),
            "--max-batch-size", "100000",
            "--max-batch-time", "1500",
            "--cache-dir", str(tmp_path / "cache"),
        ],
        tmp_path,
    )  # fmt: skip
    request = spb.PredictRequest(model_name="wine")
    request.dataframe_split.columns.extend(SEED_COLUMNS)
    request.dataframe_split.data.add().extend(SEED_ROW)
    try:
        channel = grpc.insecure_channel(service.address)
        stub = spb_grpc.ScoringServiceStub(channel)
        # Warm: this channel's connection is up, and its worker (one of several sharing the port
        # with SO_REUSEPORT, each answering health for itself) has loaded the model.
        deadline = time.monotonic() + 60
        while True:
            try:
                stub.Predict(request, timeout=30)
                break
            except grpc.RpcError as error:
                assert error.code() == grpc.StatusCode.UNAVAILABLE, error
                assert time.monotonic() < deadline, "the model never loaded"
                time.sleep(0.1)
        result: dict[str, Any] = {}

        def predict() -> None:
            try:
                result["reply"] = stub.Predict(request, timeout=30)
            except grpc.RpcError as error:
                result["error"] = f"{error.code()}: {error.details()}"
            result["finished_at"] = time.monotonic()

        thread = threading.Thread(target=predict)
        thread.start()
        time.sleep(0.3)
        service.signal(signal.SIGTERM)
        signalled_at = time.monotonic()
        time.sleep(0.3)
        refused = _new_call_is_refused(
            service.address,
            lambda ch: spb_grpc.ScoringServiceStub(ch).Predict(request, timeout=5),
        )
        thread.join(30)
        exit_code = service.wait(SCORING_GRACE + SLACK)
        exited_after = time.monotonic() - signalled_at
        channel.close()
    finally:
        service.stop()
    assert "error" not in result, result
    # In flight when the signal came: admitted before it (a call after it is refused), held
    # by its batch window (which a model swap does not shorten: batching/adaptive.py), and
    # answered after it, by the model it was sent to.
    assert result["finished_at"] > signalled_at
    assert list(result["reply"].predictions) == pytest.approx(
        _own_prediction(model_dirs[0]), abs=1e-9
    )
    assert refused == grpc.StatusCode.UNAVAILABLE
    assert exit_code == 0, service.log()[-3000:]
    assert exited_after < SCORING_GRACE + SLACK
    print(
        f"scoring ({workers} worker(s)) drain:",
        json.dumps({"exit_after_sigterm_s": round(exited_after, 2)}),
    )
