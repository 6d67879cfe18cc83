"""Differential conformance: the scenario of conformance_scenario.py replayed against MLflow's
own `mlflow server` 3.17 (peer venv, SQLite, `--serve-artifacts`) and against the gateway
(tracking + registry services); statuses and JSON bodies compared field by field once ids,
times, user names and page tokens are normalised. Errors compare by `error_code` and status.
The only differences allowed are ALLOWED's, each a row of docs/gateway.md's table."""

from __future__ import annotations

import fnmatch
import os
import re
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conformance_scenario import SCENARIO, Call
from gateway_helpers import Gateway

DOCS = Path(__file__).resolve().parents[2] / "docs" / "gateway.md"
#: Fields either server fills from its clock.
TIME_FIELDS = {
    "creation_time",
    "last_update_time",
    "creation_timestamp",
    "last_updated_timestamp",
    "creation_timestamp_ms",
    "last_updated_timestamp_ms",
}
USER_FIELDS = {"user_id"}


@dataclass(frozen=True)
class Allowed:
    """A known difference: calls matching `endpoint` (fnmatch of "METHOD path"), at JSON paths
    matching `field`; `doc` is the text of its row in docs/gateway.md."""

    endpoint: str
    field: str
    doc: str


ALLOWED: list[Allowed] = [
    # No workspaces here yet.
    Allowed("* experiments/*", "*workspace", "| `experiment.workspace` |"),
    # The contract's Run always has outputs; runs/get answers both the same.
    Allowed("POST runs/create", "run.outputs", "| `runs/create` answer |"),
    # MLflow answers a SQL IntegrityError as BAD_REQUEST (same 400); ours names the conflict.
    Allowed("POST experiments/update (name in use)", "error_code", "| `experiments/update` to"),
    # MLflow ignores an enum value it does not know and updates the rest; we refuse it.
    Allowed("POST runs/update (bad status)", "*", "| `runs/update` with an unknown `status`"),
    # MLflow wants a JSON string; the gateway reads a number as its decimal text.
    Allowed("POST experiments/create (number for a string)", "*", "| a JSON number for a"),
    # The download URI goes through the artifact proxy, not the store's URI.
    Allowed(
        "GET model-versions/get-download-uri",
        "artifact_uri",
        "| `model-versions/get-download-uri` of a `runs:/` version |",
    ),
    Allowed("* registered-models/*", "*latest_versions[[]*", "| order of `latest_versions`"),
]


@dataclass(frozen=True)
class Difference:
    index: int
    endpoint: str
    field: str
    mlflow: Any
    gateway: Any

    def allowed(self) -> bool:
        return any(
            fnmatch.fnmatchcase(self.endpoint, a.endpoint)
            and fnmatch.fnmatchcase(self.field, a.field)
            for a in ALLOWED
        )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def mlflow_server(mlflow_python: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`http://127.0.0.1:PORT` of MLflow's own server on SQLite, serving artifacts (its
    default) from a temporary folder."""
    home = tmp_path_factory.mktemp("mlflow-server")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    command = [
        str(mlflow_python),
        "-m",
        "mlflow",
        "server",
        "--backend-store-uri",
        f"sqlite:///{home / 'mlflow.db'}",
        "--artifacts-destination",
        str(home / "artifacts"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
    ]
    log = (home / "server.log").open("w")
    process = subprocess.Popen(command, cwd=home, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(url + "/health", timeout=2):
                break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail("mlflow server did not start:\n" + (home / "server.log").read_text())
            time.sleep(0.3)
    yield url
    process.terminate()
    process.wait(timeout=30)
    log.close()


def _fill(value: Any, saved: dict[str, str]) -> Any:
    """`value` with `{name}` placeholders replaced by this server's saved ids."""
    if isinstance(value, str):
        return re.sub(r"\{(\w+)\}", lambda m: saved.get(m.group(1), m.group(0)), value)
    if isinstance(value, list):
        return [_fill(v, saved) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, saved) for k, v in value.items()}
    return value


def _dig(body: Any, keys: tuple[str, ...]) -> Any:
    for key in keys:
        body = body.get(key) if isinstance(body, dict) else None
    return body


def replay(server: Gateway) -> list[tuple[int, Any]]:
    """Each call's status and normalised body, in order."""
    saved: dict[str, str] = {}
    answers = []
    for call in SCENARIO:
        query = _fill(call.query, saved)
        query = {k: v for k, v in query.items()} if query else None
        path = _fill(call.path, saved)
        path = path if path.startswith("/") else "/api/2.0/mlflow/" + path
        answer = server.call(call.method, path, _fill(call.body, saved), query)
        for name, keys in call.save.items():
            found = _dig(answer.body, keys)
            if isinstance(found, str) and found:
                saved[name] = found
        answers.append((answer.status, normalise(answer.body, saved)))
    return answers


def normalise(body: Any, saved: dict[str, str]) -> Any:
    """Ids as their placeholder names, times and users as markers; an error as its code."""
    if isinstance(body, dict) and "error_code" in body:
        return {"error_code": body["error_code"]}
    names = {v: f"<{k}>" for k, v in saved.items()}
    return _normalise(body, names)


def _normalise(value: Any, names: dict[str, str], key: str = "") -> Any:
    if isinstance(value, dict):
        return {k: _normalise(v, names, k) for k, v in value.items()}
    if isinstance(value, list):
        items = [_normalise(v, names, key) for v in value]
        # Keyed entries (metrics, params, tags) compare as sets: see docs/gateway.md's
        # "order of data.metrics…" row; a client reads them into dicts.
        if items and all(isinstance(i, dict) and "key" in i for i in items):
            items.sort(key=lambda i: (str(i["key"]), str(i)))
        return items
    if key in TIME_FIELDS and isinstance(value, (int, str)):
        return "<time>"
    if key in USER_FIELDS:
        return "<user>"
    if key in {"next_page_token", "page_token"}:
        return "<token>" if value else value
    if isinstance(value, str):
        # Only where an id can be: short ids ("1") are also values of params and versions.
        if value in names and (key.endswith(("id", "_ids")) or key == "run_uuid"):
            return names[value]
        if "/" in value:
            return "/".join(names.get(part, part) for part in value.split("/"))
    return value


def differences(index: int, call: Call, mlflow: Any, gateway: Any, at: str = "") -> list:
    found = []
    if isinstance(mlflow, dict) and isinstance(gateway, dict):
        for key in sorted(set(mlflow) | set(gateway), key=str):
            where = f"{at}.{key}" if at else str(key)
            if key not in gateway:
                found.append(Difference(index, call.endpoint, where, mlflow[key], "<absent>"))
            elif key not in mlflow:
                found.append(Difference(index, call.endpoint, where, "<absent>", gateway[key]))
            else:
                found += differences(index, call, mlflow[key], gateway[key], where)
    elif isinstance(mlflow, list) and isinstance(gateway, list) and len(mlflow) == len(gateway):
        for i, (m, g) in enumerate(zip(mlflow, gateway, strict=True)):
            found += differences(index, call, m, g, f"{at}[{i}]")
    elif mlflow != gateway:
        found.append(Difference(index, call.endpoint, at or "<body>", mlflow, gateway))
    return found


@pytest.fixture(scope="module")
def mlflow_answers(mlflow_server: str) -> list[tuple[int, Any]]:
    """MLflow's answers, once: the scenario needs an empty server, and the gateway's backends
    (SQLite, MariaDB) are compared with the same answers."""
    return replay(Gateway(mlflow_server))


@pytest.fixture(scope="module")
def compared(mlflow_answers: list[tuple[int, Any]], registry_gateway_url: str) -> list[Difference]:
    theirs = mlflow_answers
    ours = replay(Gateway(registry_gateway_url))
    found = []
    for index, (call, mine, other) in enumerate(zip(SCENARIO, theirs, ours, strict=True)):
        if mine[0] != other[0]:
            found.append(Difference(index, call.endpoint, "<status>", mine[0], other[0]))
        found += differences(index, call, mine[1], other[1])
    return found


def test_scenario_covers_every_endpoint_family_with_good_and_bad_inputs() -> None:
    assert len(SCENARIO) >= 60
    families = {c.path.split("/")[0] if not c.path.startswith("/") else "proxy" for c in SCENARIO}
    assert families >= {
        "experiments",
        "runs",
        "metrics",
        "registered-models",
        "model-versions",
        "logged-models",
        "artifacts",
        "proxy",
    }


def test_comparison_sees_a_changed_value_but_not_ids_or_times() -> None:
    """The normalisation hides what differs by nature, nothing else."""
    call = SCENARIO[0]
    mlflow = {"run_id": "a1", "params": [{"key": "p", "value": "1"}], "creation_time": 5}
    gateway = {"run_id": "b2", "params": [{"key": "p", "value": "2"}], "creation_time": 6}
    theirs, ours = normalise(mlflow, {"run": "a1"}), normalise(gateway, {"run": "b2"})
    assert [d.field for d in differences(0, call, theirs, ours)] == ["params[0].value"]


def test_gateway_answers_as_mlflow_server_but_for_documented_differences(
    compared: list[Difference],
) -> None:
    unexpected = [d for d in compared if not d.allowed()]
    report = "\n".join(
        f"#{d.index} {d.endpoint} {d.field}: mlflow={d.mlflow!r} gateway={d.gateway!r}"
        for d in unexpected
    )
    assert not unexpected, f"{len(unexpected)} differences:\n{report}"


def test_every_allowed_difference_is_seen_and_documented(compared: list[Difference]) -> None:
    docs = DOCS.read_text()
    for allowed in ALLOWED:
        assert allowed.doc in docs, allowed
        assert any(
            fnmatch.fnmatchcase(d.endpoint, allowed.endpoint)
            and fnmatch.fnmatchcase(d.field, allowed.field)
            for d in compared
        ), f"stale allow-list entry: {allowed}"
