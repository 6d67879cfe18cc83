"""The web UI's request channel (gateway/ui/channel.py): HTTP requests as messages on one
WebSocket, answered exactly as over HTTP; bad messages answered 400 naming the field, the channel
serving on; another site's page refused; the page falling back to fetch without WebSockets."""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gateway_helpers import serve_gateway
from websockets.exceptions import InvalidStatus
from websockets.sync.client import ClientConnection, connect

import mlgrpc

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "security"))
from auth_helpers import auth_tracking_server, issue_token  # noqa: E402


def _channel_url(ui_url: str) -> str:
    return ui_url.replace("http://", "ws://") + "/ui/api/channel"


@pytest.fixture
def channel(ui_url: str) -> Iterator[ClientConnection]:
    with connect(_channel_url(ui_url), open_timeout=30) as connection:
        yield connection


def _ask(channel: ClientConnection, **message: Any) -> dict[str, Any]:
    channel.send(json.dumps({"id": 1, **message}))
    return json.loads(channel.recv(timeout=30))


def _http(url: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.fixture(scope="module")
def experiment_id(tracking_server: str) -> str:
    client = mlgrpc.MlgrpcClient(f"grpc://{tracking_server}")
    experiment_id = client.create_experiment("over-the-channel")
    for i in range(3):
        run = client.create_run(experiment_id, run_name=f"ch-{i}", params={"alpha": i})
        client.log_metric(run.info.run_id, "rmse", i / 10, synchronous=True)
    return experiment_id


def test_a_page_of_runs_is_the_same_as_over_http(
    channel: ClientConnection, ui_url: str, experiment_id: str
) -> None:
    body = {"experiment_ids": [experiment_id], "max_results": 2, "order_by": ["params.alpha"]}
    reply = _ask(channel, method="POST", path="/ui/api/runs/search", body=body)
    status, over_http = _http(ui_url + "/ui/api/runs/search", body)
    assert (reply["id"], reply["status"], status) == (1, 200, 200)
    assert reply["body"] == over_http
    assert [r["info"]["run_name"] for r in reply["body"]["runs"]] == ["ch-0", "ch-1"]


def test_a_get_with_a_query_is_the_same_as_over_http(
    channel: ClientConnection, ui_url: str, experiment_id: str
) -> None:
    query = {"experiment_id": experiment_id}
    reply = _ask(channel, method="GET", path="/api/2.0/mlflow/experiments/get", query=query)
    url = f"{ui_url}/api/2.0/mlflow/experiments/get?experiment_id={experiment_id}"
    status, over_http = _http(url)
    assert (reply["status"], status) == (200, 200)
    assert reply["body"] == over_http
    assert reply["body"]["experiment"]["name"] == "over-the-channel"


def test_a_bad_filter_is_the_endpoints_own_error(
    channel: ClientConnection, ui_url: str, experiment_id: str
) -> None:
    body = {"experiment_ids": [experiment_id], "filter": "metrics.rmse <"}
    reply = _ask(channel, method="POST", path="/ui/api/runs/search", body=body)
    status, over_http = _http(ui_url + "/ui/api/runs/search", body)
    assert reply["status"] == status == 400
    assert reply["body"] == over_http
    assert reply["body"]["error_code"] == "INVALID_PARAMETER_VALUE"


def test_answers_carry_their_ids_and_requests_run_side_by_side(
    channel: ClientConnection, experiment_id: str
) -> None:
    for i, request_id in enumerate(("a", "b", "c")):
        body = {"experiment_ids": [experiment_id], "filter": f"run_name = 'ch-{i}'"}
        message = {"id": request_id, "method": "POST", "path": "/ui/api/runs/search", "body": body}
        channel.send(json.dumps(message))
    replies = {r["id"]: r for r in (json.loads(channel.recv(timeout=30)) for _ in range(3))}
    names = {k: [run["info"]["run_name"] for run in r["body"]["runs"]] for k, r in replies.items()}
    assert names == {"a": ["ch-0"], "b": ["ch-1"], "c": ["ch-2"]}


@pytest.mark.parametrize(
    ("message", "named"),
    [
        ("not json", "not valid JSON"),
        ("[1, 2]", "JSON object"),
        ({"method": "PUT", "path": "/ui/api/runs/search"}, "method"),
        ({"method": "GET", "path": "/api/2.0/mlflow-artifacts/artifacts/x"}, "path"),
        ({"method": "GET", "path": "/ui/api/runs/abc/events"}, "path"),
        ({"method": "GET", "path": "/ui/api/channel"}, "path"),
        ({"method": "GET", "path": 7}, "path"),
        ({"method": "GET", "path": "/ui/api/metric-history", "query": [1]}, "query"),
        ({"method": "GET", "path": "/health", "authorization": 5}, "path"),
        ({"method": "GET", "path": "/ui/api/metric-history", "authorization": 5}, "authorization"),
    ],
)
def test_a_bad_message_is_a_400_naming_it_and_the_channel_serves_on(
    channel: ClientConnection, experiment_id: str, message: Any, named: str
) -> None:
    channel.send(message if isinstance(message, str) else json.dumps({"id": 9, **message}))
    reply = json.loads(channel.recv(timeout=30))
    assert reply["status"] == 400
    assert reply["body"]["error_code"] == "INVALID_PARAMETER_VALUE"
    assert named in reply["body"]["message"]
    after = _ask(channel, method="GET", path="/api/2.0/mlflow/experiments/get",
                 query={"experiment_id": experiment_id})  # fmt: skip
    assert after["status"] == 200


def test_another_sites_page_cannot_open_it(ui_url: str) -> None:
    with pytest.raises(InvalidStatus):
        connect(_channel_url(ui_url), origin="http://elsewhere.example", open_timeout=30)
    host = ui_url.removeprefix("http://")
    with connect(_channel_url(ui_url), origin=f"http://{host}", open_timeout=30) as same_site:
        assert _ask(same_site, method="GET", path="/ui/api/served-models")["status"] == 200


def test_the_token_of_each_message_is_the_one_the_services_check(
    db_uri: str, artifact_root: Path
) -> None:
    with (
        auth_tracking_server(db_uri, artifact_root) as address,
        serve_gateway(address) as url,
        connect(_channel_url(url), open_timeout=30) as channel,
    ):
        search = {"method": "POST", "path": "/api/2.0/mlflow/experiments/search", "body": {}}
        refused = _ask(channel, **search)
        token = issue_token(db_uri, "read")
        allowed = _ask(channel, **search, authorization=f"Bearer {token}")
    assert refused["status"] == 401 and refused["body"]["error_code"] == "UNAUTHENTICATED"
    assert allowed["status"] == 200
    assert "Default" in [e["name"] for e in allowed["body"]["experiments"]]


def test_the_page_uses_the_channel_and_draws_without_it(
    page: Any, ui_url: str, experiment_id: str
) -> None:
    sockets: list[str] = []
    page.on("websocket", lambda socket: sockets.append(socket.url))
    page.goto(f"{ui_url}/#/experiments/{experiment_id}")
    page.locator("#runs[data-complete] tbody tr").first.wait_for()
    assert sockets == [_channel_url(ui_url)]

    # A browser (or a proxy) without WebSockets: the same page over fetch.
    page.add_init_script("delete window.WebSocket")
    page.goto("about:blank")
    page.goto(f"{ui_url}/#/experiments/{experiment_id}?filter=params.alpha%20%3D%20'2'")
    page.locator("#runs[data-complete] tbody tr").first.wait_for()
    assert page.locator("#runs tbody tr").count() == 1
    assert sockets == [_channel_url(ui_url)]


def test_answers_go_uncompressed_though_the_client_offers_deflate(
    channel: ClientConnection,
) -> None:
    # websockets' client offers permessage-deflate; the gateway declines it (gateway.cli).
    assert "permessage-deflate" in (channel.request.headers.get("Sec-WebSocket-Extensions") or "")
    assert channel.response.headers.get("Sec-WebSocket-Extensions") is None
