"""The tracking service with a metrics port: per-RPC counters and histograms, request ids."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from observability_helpers import free_port

from mlgrpc.tracking.v1 import tracking_service_pb2 as pb
from mlgrpc.tracking.v1 import tracking_service_pb2_grpc as pb_grpc

SERVICE = "mlgrpc.tracking.v1.TrackingService"


@pytest.fixture(scope="module")
def tracking(
    new_database: Callable[[str], str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[pb_grpc.TrackingServiceStub, int]]:
    """A tracking service on SQLite (metrics do not depend on the backend) and its metrics port."""
    from tracking_service.server import create_server

    metrics_port = free_port()
    running = create_server(
        backend_store_uri=new_database("sqlite"),
        default_artifact_root=str(tmp_path_factory.mktemp("artifacts")),
        metrics_port=metrics_port,
    )
    with grpc.insecure_channel(f"127.0.0.1:{running.port}") as channel:
        yield pb_grpc.TrackingServiceStub(channel), metrics_port
    running.stop(grace=1)


def _trailer(metadata: Any, key: str = "x-request-id") -> str | None:
    return dict(metadata or ()).get(key)


def test_unary_calls_are_counted_per_method_and_status_code(tracking: Any, scrape: Any) -> None:
    stub, port = tracking
    before = scrape(port)
    stub.GetExperiment(pb.GetExperimentRequest(experiment_id="0"))
    stub.GetExperiment(pb.GetExperimentRequest(experiment_id="0"))
    with pytest.raises(grpc.RpcError) as error:
        stub.GetExperiment(pb.GetExperimentRequest(experiment_id="987654321"))
    assert error.value.code() == grpc.StatusCode.NOT_FOUND

    after = scrape(port)
    labels = {"grpc_service": SERVICE, "grpc_method": "GetExperiment", "grpc_type": "unary"}

    def delta(name: str, **more: str) -> float:
        return after.value(name, **labels, **more) - before.value(name, **labels, **more)

    assert delta("grpc_server_handled_total", grpc_code="OK") == 2
    assert delta("grpc_server_handled_total", grpc_code="NOT_FOUND") == 1
    assert delta("grpc_server_handling_seconds_count") == 3
    assert delta("grpc_server_handling_seconds_bucket", le="+Inf") == 3
    # The finest bucket (100 µs) exists, so that sub-millisecond calls are resolved.
    assert 'le="0.0001"' in after.text


def test_server_streaming_errors_are_counted_with_their_type(tracking: Any, scrape: Any) -> None:
    stub, port = tracking
    request = pb.DownloadArtifactRequest(run_id="0" * 32, path="model/MLmodel")
    with pytest.raises(grpc.RpcError) as error:
        list(stub.DownloadArtifact(request))
    code = error.value.code().name
    assert code != "OK"
    scraped = scrape(port)
    assert (
        scraped.value(
            "grpc_server_handled_total",
            grpc_method="DownloadArtifact",
            grpc_type="server_stream",
            grpc_code=code,
        )
        >= 1
    )


def test_a_generated_request_id_comes_back_in_the_trailers(tracking: Any) -> None:
    stub, _ = tracking
    _, call = stub.GetExperiment.with_call(pb.GetExperimentRequest(experiment_id="0"))
    request_id = _trailer(call.trailing_metadata())
    assert request_id is not None and re.fullmatch(r"[0-9a-f]{16}", request_id)
    _, again = stub.GetExperiment.with_call(pb.GetExperimentRequest(experiment_id="0"))
    assert _trailer(again.trailing_metadata()) != request_id


def test_a_client_sent_request_id_comes_back_on_success_and_on_error(tracking: Any) -> None:
    stub, _ = tracking
    request = pb.GetExperimentRequest(experiment_id="0")
    _, call = stub.GetExperiment.with_call(request, metadata=[("x-request-id", "client-id-1")])
    assert _trailer(call.trailing_metadata()) == "client-id-1"

    missing = pb.GetExperimentRequest(experiment_id="987654321")
    with pytest.raises(grpc.RpcError) as error:
        stub.GetExperiment(missing, metadata=[("x-request-id", "client-id-2")])
    assert error.value.code() == grpc.StatusCode.NOT_FOUND
    trailers = error.value.trailing_metadata()
    assert _trailer(trailers) == "client-id-2"
    # The error details (google.rpc.Status) are still there beside the request id.
    assert _trailer(trailers, "grpc-status-details-bin") is not None


def test_the_cli_serves_metrics_and_logs_json(tmp_path: Path, scrape: Any) -> None:
    import json
    import subprocess
    import sys
    import time

    grpc_port, metrics_port = free_port(), free_port()
    command = [
        sys.executable, "-m", "tracking_service",
        "--backend-store-uri", f"sqlite:///{tmp_path / 'mlgrpc.db'}",
        "--default-artifact-root", str(tmp_path / "artifacts"),
        "--port", str(grpc_port), "--metrics-port", str(metrics_port), "--log-format", "json",
    ]  # fmt: skip
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    try:
        with grpc.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
            grpc.channel_ready_future(channel).result(timeout=60)
            pb_grpc.TrackingServiceStub(channel).GetExperiment(
                pb.GetExperimentRequest(experiment_id="0"), wait_for_ready=True, timeout=30
            )
        deadline = time.monotonic() + 30
        while True:
            try:
                scraped = scrape(metrics_port)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        assert scraped.value("grpc_server_handled_total", grpc_method="GetExperiment") == 1
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=30)
    lines = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    assert lines, stderr
    assert {"time", "level", "logger", "message", "request_id"} <= set(lines[0])
