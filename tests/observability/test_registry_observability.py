"""The registry with a metrics port: counts per status, and log lines carrying the request id."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import grpc
import pytest
from observability_helpers import free_port

from mlgrpc.registry.v1 import registry_service_pb2 as pb
from mlgrpc.registry.v1 import registry_service_pb2_grpc as pb_grpc

SERVICE = "mlgrpc.registry.v1.ModelRegistryService"


@pytest.fixture(scope="module")
def registry(
    new_database: Callable[[str], str],
) -> Iterator[tuple[pb_grpc.ModelRegistryServiceStub, int]]:
    """A registry whose tracking service is down (nothing listens on its address)."""
    from registry_service.server import create_server

    metrics_port = free_port()
    running = create_server(
        backend_store_uri=new_database("sqlite"),
        tracking_address=f"127.0.0.1:{free_port()}",
        metrics_port=metrics_port,
    )
    with grpc.insecure_channel(f"127.0.0.1:{running.port}") as channel:
        yield pb_grpc.ModelRegistryServiceStub(channel), metrics_port
    running.stop(grace=1)


def test_calls_are_counted_per_method_and_status_code(registry: Any, scrape: Any) -> None:
    stub, port = registry
    name = f"obs-{uuid.uuid4().hex[:8]}"
    stub.CreateRegisteredModel(pb.CreateRegisteredModelRequest(name=name))
    with pytest.raises(grpc.RpcError) as error:
        stub.CreateRegisteredModel(pb.CreateRegisteredModelRequest(name=name))
    assert error.value.code() == grpc.StatusCode.ALREADY_EXISTS
    with pytest.raises(grpc.RpcError):
        stub.GetRegisteredModel(pb.GetRegisteredModelRequest(name=f"{name}-missing"))

    scraped = scrape(port)
    create = {"grpc_service": SERVICE, "grpc_method": "CreateRegisteredModel"}
    assert scraped.value("grpc_server_handled_total", **create, grpc_code="OK") == 1
    assert scraped.value("grpc_server_handled_total", **create, grpc_code="ALREADY_EXISTS") == 1
    assert scraped.value("grpc_server_handling_seconds_count", **create) == 2
    get = {"grpc_service": SERVICE, "grpc_method": "GetRegisteredModel"}
    assert scraped.value("grpc_server_handled_total", **get, grpc_code="NOT_FOUND") == 1
    # No scoring call here: the per-model series exist but hold no sample.
    assert scraped.value("mlgrpc_model_requests_total") == 0


def test_a_logged_failure_carries_the_client_request_id(
    registry: Any, scrape: Any, json_log_lines: Callable[[], list[dict[str, Any]]]
) -> None:
    stub, port = registry
    name = f"obs-{uuid.uuid4().hex[:8]}"
    stub.CreateRegisteredModel(pb.CreateRegisteredModelRequest(name=name))
    request = pb.CreateModelVersionRequest(name=name, source=f"runs:/{'a' * 32}/model")
    with pytest.raises(grpc.RpcError) as error:
        stub.CreateModelVersion(request, timeout=20, metadata=[("x-request-id", "trace-me-42")])
    assert error.value.code() == grpc.StatusCode.UNAVAILABLE
    assert dict(error.value.trailing_metadata())["x-request-id"] == "trace-me-42"

    # The interceptor logs UNAVAILABLE as a warning; the line names the call's request id.
    logged = [line for line in json_log_lines() if line.get("request_id") == "trace-me-42"]
    assert logged, json_log_lines()
    assert any(line["level"] == "WARNING" for line in logged)
    assert all(line["logger"] and line["message"] for line in logged)
    scraped = scrape(port)
    assert (
        scraped.value(
            "grpc_server_handled_total", grpc_method="CreateModelVersion", grpc_code="UNAVAILABLE"
        )
        == 1
    )
