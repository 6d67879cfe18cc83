"""The registry endpoints side by side with `mlflow server` 3.17 (its peer venv, SQLite,
proxied artifacts): one scenario of good and bad calls replayed against both; statuses, error
codes and the JSON bodies compared field by field, ids, names and times aside. The differences
docs/gateway.md lists are left out of the scenario (or normalised below, with their reason)."""

# ruff: noqa: E501  (the scenario reads best one call per line)
from __future__ import annotations

import os
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gateway_helpers import Answer, Gateway

#: (method, endpoint, body): `{name}`, `{run_id}`, `{root}` (the run's artifact URI) filled in.
SCENARIO: list[tuple[str, str, dict[str, Any]]] = [
    ("POST", "registered-models/create", {"name": "{name}", "tags": [{"key": "a", "value": "b"}]}),
    ("POST", "registered-models/create", {"name": "{name}"}),
    ("POST", "registered-models/create", {}),
    ("GET", "registered-models/get", {"name": "{name}"}),
    ("GET", "registered-models/get", {"name": "{name}-missing"}),
    ("POST", "model-versions/create", {"name": "{name}", "source": "{root}/model", "run_id": "{run_id}"}),
    ("POST", "model-versions/create", {"name": "{name}", "source": "{root}/model", "run_id": "{run_id}",
                                      "tags": [{"key": "t", "value": "v"}], "description": "second"}),
    ("POST", "model-versions/create", {"name": "{name}"}),
    ("GET", "model-versions/get", {"name": "{name}", "version": "1"}),
    ("GET", "model-versions/get", {"name": "{name}", "version": "9"}),
    ("GET", "model-versions/get", {"name": "{name}", "version": "abc"}),
    ("GET", "model-versions/get", {"name": "{name}", "version": "0"}),
    ("GET", "model-versions/get", {"name": "{name}"}),
    ("POST", "registered-models/alias", {"name": "{name}", "alias": "champion", "version": "1"}),
    ("POST", "registered-models/alias", {"name": "{name}", "alias": "latest", "version": "1"}),
    ("POST", "registered-models/alias", {"name": "{name}", "alias": "x", "version": "7"}),
    ("GET", "registered-models/alias", {"name": "{name}", "alias": "champion"}),
    ("GET", "registered-models/alias", {"name": "{name}", "alias": "nobody"}),
    ("DELETE", "registered-models/alias", {"name": "{name}", "alias": "nobody"}),
    ("POST", "model-versions/transition-stage",
     {"name": "{name}", "version": "2", "stage": "production", "archive_existing_versions": True}),
    ("POST", "model-versions/transition-stage", {"name": "{name}", "version": "1", "stage": "bogus"}),
    ("POST", "model-versions/transition-stage", {"name": "{name}", "version": "9", "stage": "Staging"}),
    ("POST", "registered-models/get-latest-versions", {"name": "{name}"}),
    ("POST", "registered-models/get-latest-versions", {"name": "{name}", "stages": ["Production"]}),
    ("GET", "registered-models/get", {"name": "{name}"}),
    ("POST", "registered-models/set-tag", {"name": "{name}", "key": "team", "value": "wine"}),
    ("POST", "registered-models/set-tag", {"name": "{name}", "value": "x"}),
    ("DELETE", "registered-models/delete-tag", {"name": "{name}", "key": "never"}),
    ("DELETE", "registered-models/delete-tag", {"name": "{name}", "key": "team"}),
    ("POST", "model-versions/set-tag", {"name": "{name}", "version": "1", "key": "k", "value": "v"}),
    ("DELETE", "model-versions/delete-tag", {"name": "{name}", "version": "1", "key": "never"}),
    ("DELETE", "model-versions/delete-tag", {"name": "{name}", "version": "9", "key": "k"}),
    ("PATCH", "model-versions/update", {"name": "{name}", "version": "1", "description": "one"}),
    ("PATCH", "registered-models/update", {"name": "{name}", "description": "red"}),
    ("GET", "model-versions/search", {"filter": "name = '{name}'"}),
    ("GET", "model-versions/search", {"filter": "name = '{name}'", "max_results": "1"}),
    ("GET", "registered-models/search", {"filter": "name = '{name}'", "max_results": "10"}),
    ("GET", "registered-models/search", {"max_results": "5000"}),
    ("GET", "registered-models/search", {"filter": "bad filter"}),
    ("GET", "registered-models/search", {"page_token": "garbage"}),
    ("GET", "model-versions/get-download-uri", {"name": "{name}", "version": "9"}),
    ("POST", "registered-models/rename", {"name": "{name}", "new_name": "{name}-renamed"}),
    ("POST", "registered-models/rename", {"name": "{name}-renamed", "new_name": "{name}"}),
    ("DELETE", "model-versions/delete", {"name": "{name}", "version": "1"}),
    ("DELETE", "model-versions/delete", {"name": "{name}", "version": "1"}),
    ("DELETE", "registered-models/delete", {"name": "{name}"}),
    ("GET", "registered-models/get", {"name": "{name}"}),
]  # fmt: skip

#: Fields whose values differ by design (times, tokens), or by docs/gateway.md (a version's
#: `source` given as a proxied run URI is kept as `runs:/…`).
IGNORED_VALUES = {"creation_timestamp", "last_updated_timestamp", "next_page_token", "source"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def mlflow_server(mlflow_python: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`mlflow server` of the peer venv on SQLite, serving artifacts (its default)."""
    directory = tmp_path_factory.mktemp("mlflow-server")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    process = subprocess.Popen(
        [str(mlflow_python), "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port),
         "--backend-store-uri", f"sqlite:///{directory}/mlflow.db",
         "--artifacts-destination", str(directory / "artifacts"), "--workers", "1"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            if Gateway(url).call("GET", "/health").status == 200:
                break
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail("mlflow server did not start")
        time.sleep(0.3)
    yield url
    process.terminate()
    process.wait(timeout=30)


def _fill(value: Any, names: dict[str, str]) -> Any:
    if isinstance(value, str):
        for key, replacement in names.items():
            value = value.replace("{" + key + "}", replacement)
        return value
    if isinstance(value, list):
        return [_fill(item, names) for item in value]
    if isinstance(value, dict):
        return {key: _fill(item, names) for key, item in value.items()}
    return value


def _normalised(body: Any, names: dict[str, str]) -> Any:
    if isinstance(body, dict):
        if "error_code" in body:
            return {"error_code": body["error_code"]}  # messages are ours (docs/gateway.md)
        return {
            key: "…" if key in IGNORED_VALUES else _normalised(value, names)
            for key, value in body.items()
        }
    if isinstance(body, list):
        return [_normalised(item, names) for item in body]
    if isinstance(body, str):
        for key, value in names.items():
            body = body.replace(value, "{" + key + "}")
    return body


def _call(server: Gateway, method: str, endpoint: str, body: dict[str, Any]) -> Answer:
    """One call; a 503 (a service briefly unreachable on a loaded machine) is retried, as
    MLflow's client retries it."""
    for attempt in range(5):
        if method == "GET":
            answer = server.call("GET", "/api/2.0/mlflow/" + endpoint, query=body)
        else:
            answer = server.call(method, "/api/2.0/mlflow/" + endpoint, body)
        if answer.status != 503:
            break
        time.sleep(0.5 * (attempt + 1))
    return answer


def _replay(url: str) -> list[tuple[int, Any]]:
    server = Gateway(url)
    experiment = server.post("experiments/create", {"name": f"conf-{uuid.uuid4().hex[:8]}"})
    run = server.post("runs/create", {"experiment_id": experiment.body["experiment_id"]})
    info = run.body["run"]["info"]
    names = {
        "name": f"wine-{uuid.uuid4().hex[:8]}",
        "run_id": info["run_id"],
        "root": info["artifact_uri"],
    }
    answers = []
    for method, endpoint, body in SCENARIO:
        filled = _fill(body, names)
        answer = _call(server, method, endpoint, filled)
        answers.append((answer.status, _normalised(answer.body, names)))
    return answers


def test_the_gateway_answers_the_scenario_as_mlflow_server(
    mlflow_server: str, registry_gateway_url: str
) -> None:
    theirs = _replay(mlflow_server)
    ours = _replay(registry_gateway_url)
    differences = [
        (method, endpoint, body, their, our)
        for (method, endpoint, body), their, our in zip(SCENARIO, theirs, ours, strict=True)
        if their != our
    ]
    assert not differences, "\n".join(map(repr, differences))
