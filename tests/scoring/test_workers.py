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
