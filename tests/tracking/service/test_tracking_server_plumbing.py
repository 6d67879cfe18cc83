"""Health, reflection and grpcurl against the running tracking service."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

SERVICE = "mlgrpc.tracking.v1.TrackingService"
GRPCURL = str(Path(sys.executable).parent / "grpcurl")


def test_health_reports_serving_overall_and_for_the_service(channel) -> None:
    health = health_pb2_grpc.HealthStub(channel)
    for name in ("", SERVICE):
        response = health.Check(health_pb2.HealthCheckRequest(service=name))
        assert response.status == health_pb2.HealthCheckResponse.SERVING


def test_reflection_lists_the_service(channel) -> None:
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    request = reflection_pb2.ServerReflectionRequest(list_services="")
    (response,) = list(stub.ServerReflectionInfo(iter([request])))
    names = {s.name for s in response.list_services_response.service}
    assert SERVICE in names


def _grpcurl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [GRPCURL, "-plaintext", *args], capture_output=True, text=True, timeout=30
    )


def test_grpcurl_lists_the_service(tracking_server) -> None:
    result = _grpcurl(tracking_server, "list")
    assert result.returncode == 0, result.stderr
    assert SERVICE in result.stdout.split()


def test_grpcurl_creates_and_gets_an_experiment_in_json(tracking_server) -> None:
    name = f"grpcurl-{uuid.uuid4().hex[:8]}"
    created = _grpcurl(
        "-d", json.dumps({"name": name}), tracking_server, f"{SERVICE}/CreateExperiment"
    )
    assert created.returncode == 0, created.stderr
    body = json.loads(created.stdout)
    experiment_id = body.get("experiment_id") or body["experimentId"]
    got = _grpcurl(
        "-d",
        json.dumps({"experiment_id": experiment_id}),
        tracking_server,
        f"{SERVICE}/GetExperiment",
    )
    assert got.returncode == 0, got.stderr
    assert json.loads(got.stdout)["experiment"]["name"] == name


def test_grpcurl_shows_not_found_with_its_exit_code(tracking_server) -> None:
    result = _grpcurl(
        "-d", '{"experiment_id": "987654321"}', tracking_server, f"{SERVICE}/GetExperiment"
    )
    assert result.returncode == 64 + 5  # NOT_FOUND
    assert "RESOURCE_DOES_NOT_EXIST" in result.stderr
