"""The UI's own routes over HTTP: downsampled metric histories, the run event stream (it ends
when the run does, and when the gateway is stopped), the page and its files from the package."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from typing import Any

import pytest

import mlgrpc
from gateway.ui.downsample import Series, min_max_buckets, within_steps


def _get(url: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=30) as reply:
            body = reply.read()
            kind = reply.headers.get("content-type", "")
            return reply.status, json.loads(body) if "json" in kind else body.decode()
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_buckets_keep_each_buckets_extremes() -> None:
    values: list[float | None] = [0.0] * 1000
    values[123], values[777] = 50.0, -50.0  # outliers must survive
    series = Series(list(range(1000)), list(range(1000)), values)
    shown = min_max_buckets(series, 100)
    assert len(shown) <= 100
    assert 50.0 in shown.values and -50.0 in shown.values
    assert shown.steps == sorted(shown.steps)


def test_a_short_series_is_not_downsampled() -> None:
    series = Series([1, 2], [10, 20], [0.5, None])
    assert min_max_buckets(series, 100) == series


def test_step_range_is_inclusive() -> None:
    series = Series(list(range(10)), list(range(10)), [float(i) for i in range(10)])
    assert within_steps(series, 3, 5).steps == [3, 4, 5]
    assert within_steps(series, None, 1).steps == [0, 1]


@pytest.fixture(scope="module")
def client(tracking_server: str) -> mlgrpc.MlgrpcClient:
    return mlgrpc.MlgrpcClient(f"grpc://{tracking_server}")


def test_metric_history_is_downsampled_on_the_server(
    client: mlgrpc.MlgrpcClient, ui_url: str
) -> None:
    run = client.create_run(client.create_experiment("downsample"))
    client.log_batch(
        run.info.run_id,
        metrics=[mlgrpc.entities.Metric("loss", float(i % 7), 1000 + i, i) for i in range(5000)],
        synchronous=True,
    )
    query = f"run_id={run.info.run_id}&key=loss&points=200"
    status, body = _get(f"{ui_url}/ui/api/metric-history?{query}")
    assert status == 200
    assert body["total"] == 5000 and len(body["steps"]) <= 200
    assert min(body["values"]) == 0.0 and max(body["values"]) == 6.0
    status, body = _get(f"{ui_url}/ui/api/metric-history?{query}&min_step=100&max_step=149")
    assert (body["total"], body["steps"][0], body["steps"][-1]) == (50, 100, 149)


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("key=loss", "run_id"),
        ("run_id=x&key=loss&points=1", "points"),
        ("run_id=x&key=a&points=z", "points"),
    ],
)
def test_metric_history_bad_query_is_400_naming_the_field(
    ui_url: str, query: str, named: str
) -> None:
    status, body = _get(f"{ui_url}/ui/api/metric-history?{query}")
    assert status == 400 and body["error_code"] == "INVALID_PARAMETER_VALUE"
    assert named in body["message"]


def _post(url: str, body: bytes) -> tuple[int, Any]:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_runs_page_is_mlflows_search_in_the_tables_lean_shape(
    client: mlgrpc.MlgrpcClient, ui_url: str
) -> None:
    experiment_id = client.create_experiment("lean-page")
    for i in range(3):
        run = client.create_run(experiment_id, run_name=f"lean-{i}", params={"alpha": i})
        client.log_metric(run.info.run_id, "rmse", i / 10, synchronous=True)
    client.set_terminated(run.info.run_id)
    body = {"experiment_ids": [experiment_id], "max_results": 2, "order_by": ["params.alpha"]}
    status, page = _post(f"{ui_url}/ui/api/runs/search", json.dumps(body).encode())
    assert status == 200 and page["next_page_token"]
    assert [r["info"]["run_name"] for r in page["runs"]] == ["lean-0", "lean-1"]
    assert page["runs"][0]["metrics"] == {"rmse": 0.0}
    assert page["runs"][1]["params"] == {"alpha": "1"}
    assert page["runs"][0]["tags"]["mlflow.runName"] == "lean-0"
    body["page_token"] = page["next_page_token"]
    status, rest = _post(f"{ui_url}/ui/api/runs/search", json.dumps(body).encode())
    last = rest["runs"][0]["info"]
    assert (last["run_name"], last["status"], last["end_time"] > 0) == ("lean-2", "FINISHED", True)
    assert "next_page_token" in rest and not rest["next_page_token"]


@pytest.mark.parametrize(
    ("body", "named"),
    [
        (b"[1]", "JSON object"),
        (b"{", "not valid JSON"),
        (b'{"experiment_ids": ["0"], "max_results": "many"}', "max_results"),
        (b'{"experiment_ids": ["0"], "filter": "metrics.rmse <"}', "filter"),
    ],
)
def test_runs_page_bad_body_is_400(ui_url: str, body: bytes, named: str) -> None:
    status, answer = _post(f"{ui_url}/ui/api/runs/search", body)
    assert status == 400 and answer["error_code"] == "INVALID_PARAMETER_VALUE"
    assert named in answer["message"]


def test_unknown_run_events_is_404(ui_url: str) -> None:
    status, body = _get(f"{ui_url}/ui/api/runs/{'0' * 32}/events")
    assert (status, body["error_code"]) == (404, "RESOURCE_DOES_NOT_EXIST")


def test_events_of_a_finished_run_end_at_once(client: mlgrpc.MlgrpcClient, ui_url: str) -> None:
    run = client.create_run(client.create_experiment("finished-events"))
    client.set_terminated(run.info.run_id)
    status, text = _get(f"{ui_url}/ui/api/runs/{run.info.run_id}/events")
    events = [block.split("\n")[0] for block in text.strip().split("\n\n")]
    assert (status, events) == (200, ["event: run", "event: end"])


def test_the_page_and_its_files_are_served(ui_url: str) -> None:
    status, html = _get(ui_url + "/")
    assert status == 200 and "/ui/static/app.js" in html
    for path in ["app.js", "views/runs.js", "vendor/uPlot.esm.js", "style.css"]:
        assert _get(f"{ui_url}/ui/static/{path}")[0] == 200


def test_sigterm_ends_open_event_streams(client: mlgrpc.MlgrpcClient, tracking_server: str) -> None:
    """uvicorn waits for open responses on shutdown: a live stream must end by itself."""
    run = client.create_run(client.create_experiment("sigterm-events"))  # stays RUNNING
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    gateway = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gateway",
            "--tracking-address",
            tracking_server,
            "--port",
            str(port),
        ],
        env={**os.environ, "MLGRPC_LOG_LEVEL": "WARNING"},
    )
    try:
        url = f"http://127.0.0.1:{port}/ui/api/runs/{run.info.run_id}/events"
        deadline = time.monotonic() + 30
        while True:
            try:
                stream = urllib.request.urlopen(url, timeout=30)
                break
            except OSError:
                assert time.monotonic() < deadline, "the gateway did not start"
                time.sleep(0.1)
        assert stream.readline() == b"event: run\n"
        gateway.send_signal(signal.SIGTERM)
        # Without the stream ending it would stay open for STREAM_SECONDS (60 s).
        assert gateway.wait(timeout=20) == 0
        stream.close()
    finally:
        gateway.kill()
        gateway.wait()


def test_every_static_file_is_package_data() -> None:
    """A wheel install serves the same files as the checkout (pyproject's package-data)."""
    import tomllib
    from pathlib import Path

    import gateway.ui

    root = Path(gateway.ui.__file__).parent
    pyproject = tomllib.loads((root.parents[1] / "pyproject.toml").read_text())
    patterns = pyproject["tool"]["setuptools"]["package-data"]["gateway.ui"]
    files = {p for p in (root / "static").rglob("*") if p.is_file()}
    packaged = {p for pattern in patterns for p in root.glob(pattern)}  # setuptools' globbing
    assert files and sorted(map(str, files - packaged)) == []


def test_buckets_of_gaps_stay_gaps_and_infinite_values_are_skipped() -> None:
    values: list[float | None] = [None] * 10 + [float(i) for i in range(90)]
    series = Series(list(range(100)), list(range(100)), values)
    shown = min_max_buckets(series, 20)
    assert shown.steps[0] == 0 and shown.values[0] is None  # the first bucket is all gaps
    assert 89.0 in shown.values and 0.0 in shown.values
    assert len(shown) <= 20
