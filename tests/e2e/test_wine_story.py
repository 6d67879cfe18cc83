"""The user's story end to end, all three services on MariaDB, then on PostgreSQL.

`examples/wine/train.py` trains and logs the seed's ElasticNet and registers it; alias
`champion` points at it; `mlgrpc models serve -m models:/<name>@champion` serves it; grpcurl with
the seed's JSON row answers what the model predicts in-process. Then a second training run, the
alias moves, and the running scoring service follows to the new version.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pandas as pd
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

import mlgrpc
import mlgrpc.pyfunc
from mlgrpc.registry_client import RegistryClient

ROOT = Path(__file__).resolve().parents[2]
TRAIN = ROOT / "examples" / "wine" / "train.py"
GRPCURL = shutil.which("grpcurl") or str(Path(sys.executable).parent / "grpcurl")
SEED_REQUEST = {
    "dataframe_split": {
        "columns": ["alcohol", "chlorides", "citric acid", "density", "fixed acidity",
                    "free sulfur dioxide", "pH", "residual sugar", "sulphates",
                    "total sulfur dioxide", "volatile acidity"],
        "data": [[12.8, 0.029, 0.48, 0.98, 6.2, 29, 3.33, 1.2, 0.39, 75, 0.66]],
    }
}  # fmt: skip
#: The seed blog's curl body, character for character.
SEED_CURL_DATA = (
    '{"columns":["alcohol", "chlorides", "citric acid", "density", "fixed acidity", "free sulfur '
    'dioxide", "pH", "residual sugar", "sulphates", "total sulfur dioxide", "volatile acidity"],'
    '"data":[[12.8, 0.029, 0.48, 0.98, 6.2, 29, 3.33, 1.2, 0.39, 75, 0.66]]}'
)
PREDICT = "mlgrpc.scoring.v1.ScoringService/Predict"


@pytest.fixture(scope="module", params=["mysql", "postgresql"])
def db_uri(request: pytest.FixtureRequest, new_database: Callable[[str], str]) -> str:
    """The story runs on each production store (SQLite is covered by `mlgrpc demo`)."""
    return new_database(request.param)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _train(tracking: str, registry: str, model_name: str, *args: str) -> str:
    env = {
        **os.environ,
        "MLGRPC_TRACKING_URI": f"grpc://{tracking}",
        "MLGRPC_REGISTRY_URI": registry,
        "WINE_REGISTERED_MODEL_NAME": model_name,
    }
    result = subprocess.run(
        [sys.executable, str(TRAIN), *args], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    match = re.search(r"run_id: ([0-9a-f]{32})", result.stdout)
    assert match, result.stdout
    return match.group(1)


def _in_process_prediction(run_id: str) -> float:
    model = mlgrpc.pyfunc.load_model(f"runs:/{run_id}/model")
    split = SEED_REQUEST["dataframe_split"]
    frame = pd.DataFrame(split["data"], columns=split["columns"])
    return float(model.predict(frame)[0])


def _grpcurl_predict(address: str) -> dict[str, Any]:
    result = subprocess.run(
        [GRPCURL, "-plaintext", "-d", json.dumps(SEED_REQUEST), address, PREDICT],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture
def scoring(tracking_server: str, registry_server: str, tmp_path: Path) -> Iterator[Any]:
    processes: list[subprocess.Popen[str]] = []

    def start(model_uri: str) -> tuple[str, int]:
        port, http_port = _free_port(), _free_port()
        process = subprocess.Popen(
            [sys.executable, "-m", "scoring_service", "-m", model_uri, "--port", str(port),
             "--http-port", str(http_port),
             "--registry-address", registry_server, "--tracking-address", tracking_server,
             "--cache-dir", str(tmp_path / "cache")],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )  # fmt: skip
        processes.append(process)
        address = f"127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        with grpc.insecure_channel(address) as channel:
            health = health_pb2_grpc.HealthStub(channel)
            while time.monotonic() < deadline:
                assert process.poll() is None, process.stdout.read() if process.stdout else ""
                try:
                    status = health.Check(health_pb2.HealthCheckRequest(), timeout=1).status
                    if status == health_pb2.HealthCheckResponse.SERVING:
                        return address, http_port
                except grpc.RpcError:
                    pass
                time.sleep(0.2)
        raise AssertionError(f"the scoring service did not become SERVING on {address}")

    yield start
    for process in processes:
        process.send_signal(signal.SIGTERM)
        try:
            assert process.wait(timeout=30) == 0
        finally:
            if process.poll() is None:
                process.kill()


def _seed_curl(http_port: int) -> list[float]:
    """The seed's last step, verbatim: MLflow 1.x's pandas-split curl, answered a bare list."""
    result = subprocess.run(
        ["curl", "-s", "-X", "POST", "-H", "Content-Type:application/json; format=pandas-split",
         "--data", SEED_CURL_DATA, f"http://127.0.0.1:{http_port}/invocations"],
        capture_output=True, text=True, timeout=30, check=True,
    )  # fmt: skip
    return json.loads(result.stdout)


def test_seed_story_on_mariadb_and_the_served_version_follows_the_alias(
    tracking_server: str, registry_server: str, scoring: Callable[[str], tuple[str, int]]
) -> None:
    name = f"wine-{uuid.uuid4().hex[:8]}"
    registry = RegistryClient(registry_server)
    mlgrpc.set_tracking_uri(tracking_server)  # for the in-process loads of runs:/ URIs

    first_run = _train(tracking_server, registry_server, name, "0.5", "0.5")
    first = registry.get_latest_versions(name)[0]
    assert first.version == 1 and first.run_id == first_run
    registry.set_registered_model_alias(name, "champion", 1)

    address, http_port = scoring(f"models:/{name}@champion")
    reply = _grpcurl_predict(address)
    assert reply["model_name"] == name and reply["model_version"] == "1"
    assert reply["predictions"][0] == pytest.approx(_in_process_prediction(first_run), abs=1e-9)
    assert _seed_curl(http_port) == pytest.approx(reply["predictions"], abs=1e-9)

    second_run = _train(tracking_server, registry_server, name, "0.1", "0.9")
    registry.set_registered_model_alias(name, "champion", 2)
    expected = _in_process_prediction(second_run)
    assert expected != pytest.approx(reply["predictions"][0], abs=1e-6)

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        reply = _grpcurl_predict(address)
        if reply["model_version"] == "2":
            break
        time.sleep(0.2)
    assert reply["model_version"] == "2"
    assert reply["predictions"][0] == pytest.approx(expected, abs=1e-9)
    assert _seed_curl(http_port) == pytest.approx([expected], abs=1e-9)
