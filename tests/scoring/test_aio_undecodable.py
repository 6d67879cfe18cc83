"""The asyncio scoring server (`--server-kind aio`) refuses unparsable requests as the thread-pool
server does: INVALID_ARGUMENT naming `request`, not gRPC's own INTERNAL, and keeps serving; its
health service follows the served models as the thread-pool server's does."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from google.protobuf import struct_pb2
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_status import rpc_status

from mlgrpc.scoring.v1 import scoring_service_pb2 as pb
from mlgrpc.scoring.v1 import scoring_service_pb2_grpc as pb_grpc

from .conftest import SEED_COLUMNS, SEED_ROW


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def aio_address(wine_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = _free_port()
    tmp = tmp_path_factory.mktemp("aio")
    log = (tmp / "serve.log").open("w")
    command = [
        sys.executable, "-m", "scoring_service", "-m", f"wine={wine_model_dir}", "-p", str(port),
        "--server-kind", "aio", "--enable-model-control",
    ]  # fmt: skip
    env = {**os.environ, "MLGRPC_CACHE_DIR": str(tmp / "cache")}
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    address = f"127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        with grpc.insecure_channel(address) as channel:
            stub = pb_grpc.ScoringServiceStub(channel)
            while True:
                try:
                    if stub.ListModels(pb.ListModelsRequest(), timeout=5).models:
                        break
                except grpc.RpcError:
                    pass
                assert process.poll() is None, (tmp / "serve.log").read_text()
                assert time.monotonic() < deadline, "the aio scoring server did not come up"
                time.sleep(0.2)
        yield address
    finally:
        process.terminate()
        process.wait(timeout=30)


def _nested_list(depth: int) -> struct_pb2.Value:
    root = struct_pb2.Value()
    inner = root
    for _ in range(depth):
        inner = inner.list_value.values.add()
    inner.number_value = 1.0
    return root


def _too_deep() -> bytes:
    request = pb.PredictRequest(model_name="wine")
    request.instances.CopyFrom(_nested_list(60))
    return request.SerializeToString()


@pytest.mark.parametrize("kind", ["garbage", "nested-too-deep"])
def test_aio_server_answers_an_unparsable_request_with_invalid_argument(
    aio_address: str, kind: str
) -> None:
    # Not a protobuf message at all, or nested deeper than protobuf parses.
    payload = b"\xff\xff\xff\xff" if kind == "garbage" else _too_deep()
    with grpc.insecure_channel(aio_address) as channel:
        predict = channel.unary_unary("/mlgrpc.scoring.v1.ScoringService/Predict")
        with pytest.raises(grpc.RpcError) as caught:
            predict(payload, timeout=10)
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT, caught.value.details()
        status = rpc_status.from_call(caught.value)  # type: ignore[arg-type]
        assert status is not None
        info = error_details_pb2.ErrorInfo()
        assert status.details[0].Unpack(info) and info.metadata["field"] == "request"
        assert "Traceback" not in caught.value.details()
        # Still serving.
        assert pb_grpc.ScoringServiceStub(channel).ListModels(pb.ListModelsRequest()).models


def test_aio_server_answers_a_list_in_a_cell_with_invalid_argument(aio_address: str) -> None:
    # The same servicers and mapping as the thread-pool server: the caller's value, not INTERNAL.
    request = pb.PredictRequest(model_name="wine")
    request.dataframe_split.columns.extend(SEED_COLUMNS)
    row = request.dataframe_split.data.add()
    for column, value in zip(SEED_COLUMNS, SEED_ROW, strict=True):
        cell = row.values.add()
        if column == "pH":
            cell.list_value.values.add().number_value = value
        else:
            cell.number_value = value
    with grpc.insecure_channel(aio_address) as channel:
        with pytest.raises(grpc.RpcError) as caught:
            pb_grpc.ScoringServiceStub(channel).Predict(request, timeout=10)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT, caught.value.details()
    assert caught.value.details().startswith("column 'pH' row 0 holds a list")


def _health_becomes(channel: grpc.Channel, expected: dict[str, int]) -> None:
    """The asyncio health servicer is updated on the event loop just after the admin call."""
    stub = health_pb2_grpc.HealthStub(channel)
    deadline = time.monotonic() + 10
    while True:
        got = {
            name: stub.Check(health_pb2.HealthCheckRequest(service=name), timeout=5).status
            for name in expected
        }
        if got == expected or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert got == expected


def test_aio_server_health_follows_unload_and_load(aio_address: str, wine_model_dir: Path) -> None:
    serving, not_serving = (
        health_pb2.HealthCheckResponse.SERVING,
        health_pb2.HealthCheckResponse.NOT_SERVING,
    )
    with grpc.insecure_channel(aio_address) as channel:
        stub = pb_grpc.ScoringServiceStub(channel)
        _health_becomes(channel, {"": serving, "wine": serving})
        stub.UnloadModel(pb.UnloadModelRequest(model_name="wine"), timeout=10)
        _health_becomes(channel, {"": not_serving, "wine": not_serving})
        request = pb.LoadModelRequest(model_name="wine", model_uri=str(wine_model_dir))
        stub.LoadModel(request, timeout=60)
        _health_becomes(channel, {"": serving, "wine": serving})
