"""What the gateway does not serve answers in MLflow's shape: every endpoint of MLflow 3.17's
server (its own list, `mlflow.server.handlers.get_endpoints()`, read in the peer venv) is either
served or answered with MLflow's JSON `ENDPOINT_NOT_FOUND` 404 (`BAD_REQUEST` 405 for a served
path with another method) — never a 5xx, a page or a stack trace. And MLflow's multipart-upload
endpoints answer as `mlflow server` does with an artifact store without multipart support."""

from __future__ import annotations

import json
import re
import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from gateway_helpers import Gateway

import mlgrpc

RunScript = Callable[..., subprocess.CompletedProcess[str]]

LIST_ENDPOINTS = """
import json
from mlflow.server.handlers import get_endpoints
print(json.dumps(sorted({(m, p) for p, _, methods in get_endpoints() for m in methods})))
"""

UNSUPPORTED = "Multipart upload is not supported for the current artifact repository"


def _template(path: str) -> str:
    """`<model_id>`, `<path:artifact_path>` (Flask) and `{name}` (OpenAPI) alike as `{}`."""
    return re.sub(r"<[^>]+>|\{[^}]+\}", "{}", path)


def _concrete(path: str) -> str:
    return re.sub(r"<path:[^>]+>", "0/a/b", re.sub(r"<[^>:]+>", "x1", path))


@pytest.fixture(scope="module")
def mlflow_endpoints(run_in_mlflow_venv: RunScript) -> list[tuple[str, str]]:
    result = run_in_mlflow_venv(LIST_ENDPOINTS)
    endpoints = [tuple(pair) for pair in json.loads(result.stdout.strip().splitlines()[-1])]
    assert len(endpoints) > 100
    return endpoints  # type: ignore[return-value]


@pytest.fixture(scope="module")
def served(registry_gateway: Gateway) -> dict[str, set[str]]:
    """Path template → methods the gateway's OpenAPI description lists."""
    paths = registry_gateway.call("GET", "/openapi.json").body["paths"]
    return {
        _template(path): {m.upper() for m in item if m != "parameters"}
        for path, item in paths.items()
    }


def test_every_mlflow_endpoint_is_served_or_mlflows_not_found(
    registry_gateway: Gateway,
    mlflow_endpoints: list[tuple[str, str]],
    served: dict[str, set[str]],
) -> None:
    unserved = 0
    for method, path in mlflow_endpoints:
        if path.startswith("/ajax-api/"):
            continue  # the same endpoints again, for MLflow's own UI
        answer = registry_gateway.call(method, _concrete(path), {} if method != "GET" else None)
        assert answer.status < 500, (method, path, answer)
        assert (
            isinstance(answer.body, dict) and "error_code" in answer.body or (answer.status < 400)
        ), (method, path, answer)
        methods = served.get(_template(path))
        if methods is None:
            unserved += 1
            assert (answer.status, answer.body["error_code"]) == (404, "ENDPOINT_NOT_FOUND"), (
                method,
                path,
                answer,
            )
        elif method not in methods:
            assert (answer.status, answer.body["error_code"]) == (405, "BAD_REQUEST"), (
                method,
                path,
                answer,
            )
    assert unserved > 50  # traces, prompts, scorers, webhooks, gateway endpoints, …


@pytest.mark.parametrize(
    "path",
    [
        "/api/2.0/mlflow/traces",
        "/api/3.0/mlflow/traces/search",
        "/api/2.0/mlflow/registered-models/nonsense",
        "/ajax-api/2.0/mlflow/runs/search",
        "/api/2.0/mlflow-artifacts/mpu/resume/0/a/b",
        "/no/such/thing",
    ],
)
def test_unserved_paths_answer_endpoint_not_found(registry_gateway: Gateway, path: str) -> None:
    answer = registry_gateway.call("POST", path, {})
    assert answer.status == 404, answer
    assert answer.body["error_code"] == "ENDPOINT_NOT_FOUND"
    assert answer.body["error_class"] == "RESOURCE_NOT_FOUND"


MPU = "/api/2.0/mlflow-artifacts/mpu/"


@pytest.mark.parametrize(
    ("operation", "body"),
    [
        ("create", {"path": "model.bin", "num_parts": 2}),
        ("complete", {"path": "model.bin", "upload_id": "u", "parts": [{"part_number": 1}]}),
        ("abort", {"path": "model.bin", "upload_id": "u"}),
    ],
)
def test_multipart_answers_not_implemented_as_mlflow_server(
    registry_gateway: Gateway, operation: str, body: dict
) -> None:
    answer = registry_gateway.call("POST", MPU + operation + "/0/abc/artifacts/model.bin", body)
    assert answer.status == 501
    assert answer.body == {"error_code": "NOT_IMPLEMENTED", "message": UNSUPPORTED}


@pytest.mark.parametrize(
    ("operation", "body", "field"),
    [("create", {}, "path"), ("complete", {"path": "m"}, "parts"), ("abort", {}, "path")],
)
def test_multipart_missing_fields_are_400_naming_them(
    registry_gateway: Gateway, operation: str, body: dict, field: str
) -> None:
    answer = registry_gateway.call("POST", MPU + operation + "/0/abc/artifacts/m", body)
    assert answer.status == 400
    assert answer.body["error_code"] == "INVALID_PARAMETER_VALUE"
    assert f"'{field}'" in answer.body["message"]


def test_multipart_path_escaping_the_root_is_400(registry_gateway: Gateway) -> None:
    answer = registry_gateway.call("POST", MPU + "create/0/../../etc/passwd", {"path": "x"})
    assert answer.status in (400, 404)  # a client may normalise `..` away before sending
    answer = registry_gateway.call("POST", MPU + "create/0/a%23b", {"path": "x"})
    assert (answer.status, answer.body["message"]) == (400, "Invalid path")


#: Runs in the MLflow venv with multipart uploads enabled: argv = URI, experiment, scratch.
MULTIPART_FALLBACK = """
import json, os, sys
import mlflow
mlflow.set_tracking_uri(sys.argv[1])
mlflow.set_experiment(sys.argv[2])
path = os.path.join(sys.argv[3], "weights.bin")
with open(path, "wb") as out:
    out.write(bytes(range(256)) * 4096)
with mlflow.start_run() as run:
    mlflow.log_artifact(path, artifact_path="model")
print(json.dumps({"run_id": run.info.run_id}))
"""


def test_mlflow_client_with_multipart_enabled_falls_back_to_one_put(
    registry_gateway_url: str,
    tracking_server: str,
    run_in_mlflow_venv: RunScript,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The script's environment is this process's, read when it starts.
    monkeypatch.setenv("MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD", "true")
    monkeypatch.setenv("MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE", "1024")
    monkeypatch.setenv("MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE", str(256 * 1024))
    name = f"mpu-{uuid.uuid4().hex[:8]}"
    result = run_in_mlflow_venv(MULTIPART_FALLBACK, registry_gateway_url, name, str(tmp_path))
    run_id = json.loads(result.stdout.strip().splitlines()[-1])["run_id"]
    ours = mlgrpc.MlgrpcClient(f"grpc://{tracking_server}")
    local = ours.download_artifacts(run_id, "model/weights.bin", str(tmp_path / "ours"))
    assert Path(local).read_bytes() == bytes(range(256)) * 4096
