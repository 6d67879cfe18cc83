"""`mlgrpc models serve --workers 2`: two processes on one port, stopped cleanly by SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import grpc
import pytest

from mlgrpc.scoring.v1 import scoring_service_pb2 as pb
from mlgrpc.scoring.v1 import scoring_service_pb2_grpc as pb_grpc

from .conftest import SEED_COLUMNS, SEED_ROW


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _pid_of_answering_process(address: str) -> int | None:
    # A new channel is a new connection, which the kernel may hand to either worker.
    with grpc.insecure_channel(address, options=[("grpc.use_local_subchannel_pool", 1)]) as ch:
        try:
            reply = pb_grpc.ScoringServiceStub(ch).GetModelMetadata(
                pb.GetModelMetadataRequest(), timeout=5, wait_for_ready=True
            )
        except grpc.RpcError:
            return None
        return int(reply.server_pid)


def _null_cell_status(address: str) -> tuple[grpc.StatusCode, str]:
    request = pb.PredictRequest()
    request.dataframe_split.columns.extend(SEED_COLUMNS)
    row = request.dataframe_split.data.add()
    for column, value in zip(SEED_COLUMNS, SEED_ROW, strict=True):
        if column == "alcohol":
            row.values.add().null_value = 0
        else:
            row.values.add().number_value = value
    with grpc.insecure_channel(address, options=[("grpc.use_local_subchannel_pool", 1)]) as ch:
        try:
            pb_grpc.ScoringServiceStub(ch).Predict(request, timeout=5, wait_for_ready=True)
        except grpc.RpcError as error:
            return error.code(), error.details() or ""
    return grpc.StatusCode.OK, ""


def test_two_workers_serve_from_two_processes_and_stop_on_sigterm(
    wine_model_dir: Path, tmp_path: Path
) -> None:
    port = _free_port()
    log = (tmp_path / "serve.log").open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "scoring_service",
            "-m",
            str(wine_model_dir),
            "-p",
            str(port),
            "--workers",
            "2",
        ],  # fmt: skip
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "MLGRPC_CACHE_DIR": str(tmp_path / "cache")},
    )
    try:
        pids: set[int] = set()
        deadline = time.monotonic() + 120
        while len(pids) < 2 and time.monotonic() < deadline:
            pid = _pid_of_answering_process(f"127.0.0.1:{port}")
            if pid is not None:
                pids.add(pid)
        assert len(pids) == 2, (tmp_path / "serve.log").read_text()
        assert process.pid not in pids
        # Each worker decodes and predicts itself (no error crosses a process boundary): a
        # value the model cannot take is the caller's mistake in every one of them.
        for _ in range(6):
            assert _null_cell_status(f"127.0.0.1:{port}") == (
                grpc.StatusCode.INVALID_ARGUMENT,
                "column 'alcohol' row 0 is null; this model takes no missing values",
            )
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
        for pid in pids:
            with pytest.raises(ProcessLookupError):
                os.kill(pid, 0)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        log.close()


def test_two_workers_answer_http_too(wine_model_dir: Path, tmp_path: Path) -> None:
    """Each worker binds the HTTP port as it binds the gRPC one (SO_REUSEPORT); a worker that
    could not would stop the pool."""
    import json
    import urllib.error
    import urllib.request

    port, http_port = _free_port(), _free_port()
    log = (tmp_path / "serve.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "scoring_service", "-m", str(wine_model_dir), "-p", str(port),
         "--http-port", str(http_port), "--workers", "2"],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "MLGRPC_CACHE_DIR": str(tmp_path / "cache")},
    )  # fmt: skip
    body = json.dumps({"instances": [[12.8, 0.029, 0.48, 0.98, 6.2, 29, 3.33, 1.2, 0.39, 75,
                                      0.66]]}).encode()  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/ping", timeout=5):
                    break
            except (urllib.error.URLError, ConnectionError):
                assert process.poll() is None, (tmp_path / "serve.log").read_text()
                time.sleep(0.1)
        answers = []
        for _ in range(20):  # a new connection each: the kernel spreads them over the workers
            request = urllib.request.Request(
                f"http://127.0.0.1:{http_port}/invocations",
                data=body,
                headers={"Content-Type": "application/json"},
            )
            with urllib.request.urlopen(request, timeout=30) as response:
                answers.append(len(json.loads(response.read())["predictions"]))
        assert answers == [1] * 20
        # gRPC from a worker too: a worker binds gRPC before its models load (it answers
        # UNAVAILABLE then), so the other one may still be loading when HTTP already answers.
        grpc_pid = None
        while grpc_pid is None and time.monotonic() < deadline + 60:
            grpc_pid = _pid_of_answering_process(f"127.0.0.1:{port}")
        assert grpc_pid not in (None, process.pid)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        log.close()
