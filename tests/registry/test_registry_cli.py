"""`python -m registry_service` serves until SIGTERM, then exits 0."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from mlgrpc.registry.v1 import registry_service_pb2 as pb
from mlgrpc.registry.v1 import registry_service_pb2_grpc as pb_grpc


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_registry_cli_serves_health_and_drains_on_sigterm(db_uri, tracking_server) -> None:
    port = _free_port()
    env = {
        **os.environ,
        "MLGRPC_BACKEND_STORE_URI": db_uri,
        "MLGRPC_TRACKING_ADDRESS": tracking_server,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "registry_service", "--port", str(port), "--log-level", "WARNING"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            grpc.channel_ready_future(channel).result(timeout=60)
            health = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service="mlgrpc.registry.v1.ModelRegistryService")
            )
            assert health.status == health_pb2.HealthCheckResponse.SERVING
            models = pb_grpc.ModelRegistryServiceStub(channel).SearchRegisteredModels(
                pb.SearchRegisteredModelsRequest()
            )
            assert models.next_page_token == ""
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0, process.stderr.read() if process.stderr else ""
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
