"""What the gateway tests share: a small JSON-over-HTTP caller, and the gateway served in a
thread of the test process (a module of its own: `conftest` names clash across test folders)."""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any


class Gateway:
    """Calls the gateway as MLflow's client does: JSON bodies for POST, a query for GET."""

    def __init__(self, url: str) -> None:
        self.url = url

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        query: Any = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        url = self.url + path
        if query:
            url += "?" + urllib.parse.urlencode(query, doseq=True)
        data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
        request = urllib.request.Request(url, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return Answer(response.status, _decode(response.read()))
        except urllib.error.HTTPError as error:
            return Answer(error.code, _decode(error.read()))

    def raw(self, method: str, path: str) -> bytes:
        """The body of a successful call, undecoded."""
        with urllib.request.urlopen(urllib.request.Request(self.url + path, method=method)) as r:
            return bytes(r.read())

    def get(self, endpoint: str, **query: Any) -> Answer:
        return self.call("GET", "/api/2.0/mlflow/" + endpoint, query=query)

    def post(self, endpoint: str, body: Any = None) -> Answer:
        return self.call("POST", "/api/2.0/mlflow/" + endpoint, body if body is not None else {})


def _decode(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode(errors="replace")


@contextmanager
def serve_gateway(
    tracking_address: str, registry_address: str | None = None, scoring_address: str | None = None
) -> Iterator[str]:
    """A gateway before `tracking_address` (and `registry_address`; the web UI asks
    `scoring_address` what it serves), in a thread of this process; its URL."""
    import uvicorn

    from gateway.app import create_app
    from gateway.cli import uvicorn_config

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    app = create_app(
        tracking_address, registry_address=registry_address, scoring_address=scoring_address
    )
    config = uvicorn_config(app, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the gateway did not start")
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()
