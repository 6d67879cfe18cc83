"""`mlgrpc health ADDRESS`: the containers' health check (Docker HEALTHCHECK, compose)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from observability_helpers import free_port

from mlgrpc.cli.main import main as mlgrpc


@pytest.fixture(scope="module")
def tracking_address(
    new_database: Callable[[str], str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    from tracking_service.server import create_server

    running = create_server(
        backend_store_uri=new_database("sqlite"),
        default_artifact_root=str(tmp_path_factory.mktemp("artifacts")),
    )
    yield f"127.0.0.1:{running.port}"
    running.stop(grace=1)


def test_a_serving_server_is_healthy(tracking_address: str, capsys: pytest.CaptureFixture) -> None:
    assert mlgrpc(["health", tracking_address]) == 0
    assert (
        mlgrpc(["health", tracking_address, "--service", "mlgrpc.tracking.v1.TrackingService"]) == 0
    )
    assert "SERVING" in capsys.readouterr().out


def test_an_unknown_service_or_a_closed_port_is_unhealthy(
    tracking_address: str, capsys: pytest.CaptureFixture
) -> None:
    assert mlgrpc(["health", tracking_address, "--service", "no.such.Service"]) == 1
    assert "NOT_FOUND" in capsys.readouterr().err
    assert mlgrpc(["health", f"127.0.0.1:{free_port()}", "--timeout", "1"]) == 1
    assert "UNAVAILABLE" in capsys.readouterr().err


@pytest.mark.parametrize("form", ["grpc://{}", "http://{}", "{}"])
def test_every_address_form_of_the_client_is_accepted(
    tracking_address: str, form: str, capsys: pytest.CaptureFixture
) -> None:
    assert mlgrpc(["health", form.format(tracking_address)]) == 0
    assert "SERVING" in capsys.readouterr().out


def test_a_malformed_address_is_one_line_and_unhealthy(capsys: pytest.CaptureFixture) -> None:
    assert mlgrpc(["health", "grpc://no port here"]) == 1
    err = capsys.readouterr().err
    assert "not a gRPC address" in err and len(err.strip().splitlines()) == 1


def test_wait_asks_again_until_the_server_is_serving(capsys: pytest.CaptureFixture) -> None:
    import threading
    from concurrent import futures

    import grpc
    from grpc_health.v1 import health, health_pb2, health_pb2_grpc

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    servicer = health.HealthServicer()
    servicer.set("", health_pb2.HealthCheckResponse.NOT_SERVING)
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        address = f"127.0.0.1:{port}"
        assert mlgrpc(["health", address]) == 1
        assert "NOT_SERVING" in capsys.readouterr().out
        # Still starting (a model loading): SERVING a moment later, well within the wait.
        ready = threading.Timer(0.5, servicer.set, ("", health_pb2.HealthCheckResponse.SERVING))
        ready.start()
        assert mlgrpc(["health", address, "--wait", "120"]) == 0
        assert capsys.readouterr().out.strip() == f"{address}: SERVING"
        ready.join()
    finally:
        server.stop(grace=None)
