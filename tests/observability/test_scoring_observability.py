"""The scoring service with a metrics port: per RPC, and per model name and version; one
thread-pool server in process, then the multi-worker and asyncio servers as real commands."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import json_format
from observability_helpers import Scrape, free_port

from mlgrpc.inference import grpc_predict_v2_pb2 as oip
from mlgrpc.inference import grpc_predict_v2_pb2_grpc as oip_grpc
from mlgrpc.scoring.v1 import scoring_service_pb2 as pb
from mlgrpc.scoring.v1 import scoring_service_pb2_grpc as pb_grpc

SEED_COLUMNS = [
    "alcohol", "chlorides", "citric acid", "density", "fixed acidity", "free sulfur dioxide",
    "pH", "residual sugar", "sulphates", "total sulfur dioxide", "volatile acidity",
]  # fmt: skip
SEED_ROW = [12.8, 0.029, 0.48, 0.98, 6.2, 29, 3.33, 1.2, 0.39, 75, 0.66]


def predict_request(columns: list[str] = SEED_COLUMNS, model: str = "") -> pb.PredictRequest:
    payload = {"dataframe_split": {"columns": columns, "data": [SEED_ROW[: len(columns)]]}}
    request = json_format.ParseDict(payload, pb.PredictRequest())
    request.model_name = model
    return request


def infer_request() -> oip.ModelInferRequest:
    request = oip.ModelInferRequest(model_name="wine")
    for name, value in zip(SEED_COLUMNS, SEED_ROW, strict=True):
        request.inputs.add(name=name, datatype="FP64", shape=[1]).contents.fp64_contents.append(
            value
        )
    return request


@pytest.fixture(scope="module")
def scoring(wine_model_dir: Path) -> Iterator[tuple[grpc.Channel, int, str]]:
    from scoring_service.config import ModelSpec, ServeConfig
    from scoring_service.server import create_server

    metrics_port = free_port()
    config = ServeConfig(
        models=(ModelSpec(str(wine_model_dir), "wine"),), port=0, metrics_port=metrics_port
    )
    server = create_server(config)
    version = server.manager.registry.get("wine").version
    with grpc.insecure_channel(server.address) as channel:
        yield channel, metrics_port, version
    server.stop(grace=0)


def test_predict_and_model_infer_are_counted_per_model_and_version(
    scoring: Any, scrape: Any
) -> None:
    channel, port, version = scoring
    stub = pb_grpc.ScoringServiceStub(channel)
    for _ in range(2):
        reply = stub.Predict(predict_request(), timeout=10)
        assert reply.model_version == version
    with pytest.raises(grpc.RpcError) as bad_input:
        stub.Predict(predict_request(SEED_COLUMNS[:3]), timeout=10)
    assert bad_input.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.RpcError) as no_model:
        stub.Predict(predict_request(model="no-such-model"), timeout=10)
    assert no_model.value.code() == grpc.StatusCode.NOT_FOUND
    oip_grpc.GRPCInferenceServiceStub(channel).ModelInfer(infer_request(), timeout=10)

    scraped = scrape(port)
    wine = {"model_name": "wine", "model_version": version}
    predict = {**wine, "grpc_method": "Predict"}
    assert scraped.value("mlgrpc_model_requests_total", **predict, grpc_code="OK") == 2
    assert (
        scraped.value("mlgrpc_model_requests_total", **predict, grpc_code="INVALID_ARGUMENT") == 1
    )
    assert scraped.value("mlgrpc_model_request_seconds_count", **predict) == 3
    infer = {**wine, "grpc_method": "ModelInfer"}
    assert scraped.value("mlgrpc_model_requests_total", **infer, grpc_code="OK") == 1
    assert scraped.value("mlgrpc_model_request_seconds_bucket", **infer, le="+Inf") == 1
    # An unknown model answers before any model is chosen: counted per RPC only.
    assert scraped.value("mlgrpc_model_requests_total", model_name="no-such-model") == 0
    per_rpc = {"grpc_service": "mlgrpc.scoring.v1.ScoringService", "grpc_method": "Predict"}
    assert scraped.value("grpc_server_handled_total", **per_rpc, grpc_code="NOT_FOUND") == 1
    assert scraped.value("grpc_server_handled_total", **per_rpc) == 4


def test_http_requests_are_counted_per_route_and_per_model(
    wine_model_dir: Path, scrape: Any
) -> None:
    import json
    import urllib.error
    import urllib.request

    from scoring_service.config import ModelSpec, ServeConfig
    from scoring_service.server import create_server

    metrics_port = free_port()
    server = create_server(
        ServeConfig(
            models=(ModelSpec(str(wine_model_dir), "wine"),),
            port=0,
            http_port=0,
            metrics_port=metrics_port,
        )
    )

    def post(path: str, payload: Any) -> int:
        request = urllib.request.Request(
            server.http_url + path,
            data=json.dumps(payload).encode(),
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code

    good = {"dataframe_split": {"columns": SEED_COLUMNS, "data": [SEED_ROW]}}
    bad = {"dataframe_split": {"columns": SEED_COLUMNS[:3], "data": [SEED_ROW[:3]]}}
    tensors = [
        {"name": n, "datatype": "FP64", "shape": [1], "data": [v]}
        for n, v in zip(SEED_COLUMNS, SEED_ROW, strict=True)
    ]
    try:
        assert [post("/invocations", good), post("/invocations", good)] == [200, 200]
        assert post("/invocations", bad) == 400
        assert post("/v2/models/wine/infer", {"inputs": tensors}) == 200
        assert post("/v2/models/other-model/infer", {"inputs": tensors}) == 404
        scraped = scrape(metrics_port)
    finally:
        server.stop(grace=0)
    version = "1"
    invocations = {"method": "POST", "route": "/invocations"}
    assert scraped.value("http_server_requests_total", **invocations, status="200") == 2
    assert scraped.value("http_server_requests_total", **invocations, status="400") == 1
    assert scraped.value("http_server_request_duration_seconds_count", **invocations) == 3
    infer = {"method": "POST", "route": "/v2/models/{name}/infer"}
    assert scraped.value("http_server_requests_total", **infer, status="404") == 1
    wine = {"model_name": "wine", "model_version": version}
    by_model = {**wine, "grpc_method": "POST /invocations"}
    assert scraped.value("mlgrpc_model_requests_total", **by_model, grpc_code="OK") == 2
    assert (
        scraped.value("mlgrpc_model_requests_total", **by_model, grpc_code="INVALID_ARGUMENT") == 1
    )
    by_route = {**wine, "grpc_method": "POST /v2/models/{name}/infer"}
    assert scraped.value("mlgrpc_model_requests_total", **by_route, grpc_code="OK") == 1
    assert scraped.value("mlgrpc_model_requests_total", model_name="other-model") == 0


def _serve(model_dir: Path, tmp_path: Path, *flags: str) -> tuple[subprocess.Popen[str], int, int]:
    port, metrics_port = free_port(), free_port()
    command = [
        sys.executable, "-m", "scoring_service", "-m", f"wine={model_dir}", "-p", str(port),
        "--metrics-port", str(metrics_port), "--log-format", "json", *flags,
    ]  # fmt: skip
    log = (tmp_path / "serve.log").open("w")
    env = {**os.environ, "MLGRPC_CACHE_DIR": str(tmp_path / "cache")}
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, text=True, env=env)
    return process, port, metrics_port


def _scrape_when_up(port: int, process: subprocess.Popen[str]) -> Scrape:
    deadline = time.monotonic() + 60
    while True:
        try:
            return Scrape(port)
        except OSError:
            assert process.poll() is None, "the scoring command exited"
            assert time.monotonic() < deadline, "no metrics endpoint"
            time.sleep(0.2)


def _predict_on_new_connections(address: str, count: int) -> None:
    """`count` successful Predicts, each on a new connection (which the kernel may hand to any
    worker); UNAVAILABLE while a worker still loads its model is retried."""
    deadline = time.monotonic() + 60
    done = 0
    while done < count:
        options = [("grpc.use_local_subchannel_pool", 1)]
        with grpc.insecure_channel(address, options=options) as channel:
            try:
                pb_grpc.ScoringServiceStub(channel).Predict(
                    predict_request(), timeout=30, wait_for_ready=True
                )
                done += 1
            except grpc.RpcError as error:
                assert error.code() == grpc.StatusCode.UNAVAILABLE, error
                assert time.monotonic() < deadline, "the models never loaded"
                time.sleep(0.1)


def _stop(process: subprocess.Popen[str]) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def test_two_workers_are_summed_by_one_endpoint(wine_model_dir: Path, tmp_path: Path) -> None:
    process, port, metrics_port = _serve(wine_model_dir, tmp_path, "--workers", "2")
    try:
        _predict_on_new_connections(f"127.0.0.1:{port}", 6)
        scraped = _scrape_when_up(metrics_port, process)
        predict = {"grpc_method": "Predict", "grpc_code": "OK"}
        assert scraped.value("grpc_server_handled_total", **predict) == 6
        assert scraped.value("mlgrpc_model_requests_total", model_name="wine", **predict) == 6
    finally:
        _stop(process)
    assert process.returncode == 0, (tmp_path / "serve.log").read_text()


def test_the_asyncio_server_records_the_same_metrics(wine_model_dir: Path, tmp_path: Path) -> None:
    process, port, metrics_port = _serve(wine_model_dir, tmp_path, "--server-kind", "aio")
    try:
        _predict_on_new_connections(f"127.0.0.1:{port}", 2)
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = pb_grpc.ScoringServiceStub(channel)
            with pytest.raises(grpc.RpcError) as error:
                stub.Predict(
                    predict_request(model="nope"), timeout=10, metadata=[("x-request-id", "aio-1")]
                )
        assert error.value.code() == grpc.StatusCode.NOT_FOUND
        assert dict(error.value.trailing_metadata())["x-request-id"] == "aio-1"
        scraped = _scrape_when_up(metrics_port, process)
        assert (
            scraped.value("grpc_server_handled_total", grpc_method="Predict", grpc_code="OK") == 2
        )
        assert (
            scraped.value("grpc_server_handled_total", grpc_method="Predict", grpc_code="NOT_FOUND")
            == 1
        )
        assert scraped.value("mlgrpc_model_requests_total", model_name="wine") == 2
    finally:
        _stop(process)
