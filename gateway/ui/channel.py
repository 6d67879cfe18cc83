"""The web UI's request channel: its JSON calls to the gateway as messages on one WebSocket.

A `fetch` from chromium costs 2–4 ms more than the same request from Python, most of it in the
browser's own network stack (a loader per request, its IPC between processes); a message on an
open WebSocket costs a third of that (bench/README.md, "Web UI"). The runs table's first page is
measured against the gRPC call behind it, so the page's calls go this way once the channel is
open (gateway/ui/static/api.js), and over fetch before and without it.

Each message is one HTTP request — `{"id", "method", "path", "query", "body", "authorization"}` —
answered by the gateway's own ASGI app in this process, exactly as if it had come over HTTP
(the same routes, token, validation and error bodies: one implementation of each endpoint), as
`{"id", "status", "body"}`. Requests on one channel run concurrently; answers carry their id.
Only JSON endpoints are served here: the artifact proxy's files and the live streams stay HTTP.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode, urlsplit

import orjson
from starlette.types import ASGIApp, Message, Scope
from starlette.websockets import WebSocket, WebSocketDisconnect

logger = logging.getLogger(__name__)

PATH = "/ui/api/channel"
#: The JSON endpoints a message may name (MLflow's REST API and the UI's own), by prefix.
SERVED_PREFIXES = ("/api/2.0/mlflow/", "/ui/api/")
#: …minus those that answer with a stream, or are this channel.
NOT_SERVED_SUFFIXES = ("/events",)
METHODS = frozenset({"GET", "POST", "PATCH", "DELETE"})
#: WebSocket close code for a handshake from another site's page (RFC 6455 "policy violation").
POLICY_VIOLATION = 1008
#: Requests one channel may have in flight; more wait (a page makes a handful at a time).
MAX_IN_FLIGHT = 32


class MessageError(ValueError):
    """A message that is not a request this channel serves (answered with status 400)."""


async def serve(websocket: WebSocket) -> None:
    """One page's channel, until the page closes it."""
    if not _same_origin(websocket.headers):
        # A WebSocket is not bound by CORS: without this, any site a person visits could call
        # the gateway from their browser.
        await websocket.close(code=POLICY_VIOLATION)
        return
    await websocket.accept()
    app: ASGIApp = websocket.scope["app"]
    sending = asyncio.Lock()
    slots = asyncio.Semaphore(MAX_IN_FLIGHT)
    in_flight: set[asyncio.Task[None]] = set()

    async def answer(text: str) -> None:
        try:
            reply = await _answer(app, websocket.scope, text)
        finally:
            slots.release()
        async with sending:
            await websocket.send_text(reply)

    try:
        while True:
            text = await websocket.receive_text()
            await slots.acquire()
            task = asyncio.create_task(answer(text))
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)
    except WebSocketDisconnect:
        pass
    finally:
        for task in in_flight:
            task.cancel()


async def _answer(app: ASGIApp, channel_scope: Scope, text: str) -> str:
    """The reply to one message (never raises: a bad message is a 400 reply naming the field)."""
    request_id: Any = None
    try:
        message = orjson.loads(text)
        if not isinstance(message, dict):
            raise MessageError("A channel message must be a JSON object.")
        request_id = message.get("id")
        scope, body = _http_request(channel_scope, message)
    except (orjson.JSONDecodeError, MessageError) as error:
        reason = (
            "The channel message is not valid JSON."
            if isinstance(error, orjson.JSONDecodeError)
            else str(error)
        )
        return _reply(request_id, 400, _error_body("INVALID_PARAMETER_VALUE", reason))
    status, content_type, content = await _call(app, scope, body)
    if not content:
        return _reply(request_id, status, "null")
    if content_type.startswith("application/json"):
        # The endpoint's JSON as it is, not parsed and written again.
        return _reply(request_id, status, content.decode())
    return _reply(request_id, status, orjson.dumps(content.decode(errors="replace")).decode())


def _http_request(channel_scope: Scope, message: Mapping[str, Any]) -> tuple[Scope, bytes]:
    """The HTTP scope and body of `message`, on the channel's connection."""
    method = message.get("method")
    if method not in METHODS:
        raise MessageError(f"method must be one of {', '.join(sorted(METHODS))}, not {method!r}.")
    path = message.get("path")
    if (
        not isinstance(path, str)
        or not path.startswith(SERVED_PREFIXES)
        or path.endswith(NOT_SERVED_SUFFIXES)
        or path == PATH
    ):
        raise MessageError(f"path {path!r} is not a JSON endpoint this channel serves.")
    query = message.get("query") or {}
    if not isinstance(query, dict):
        raise MessageError("query must be an object of names to values.")
    authorization = message.get("authorization") or ""
    if not isinstance(authorization, str):
        raise MessageError("authorization must be a string.")
    body = b"" if message.get("body") is None else orjson.dumps(message["body"])
    headers = [(b"host", _header(channel_scope, b"host"))]
    if body:
        headers.append((b"content-type", b"application/json"))
    if authorization:
        headers.append((b"authorization", authorization.encode()))
    scope: Scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "https" if channel_scope.get("scheme") == "wss" else "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": channel_scope.get("root_path", ""),
        "query_string": urlencode(query, doseq=True).encode(),
        "headers": headers,
        "client": channel_scope.get("client"),
        "server": channel_scope.get("server"),
        "state": dict(channel_scope.get("state") or {}),
    }
    return scope, body


async def _call(app: ASGIApp, scope: Scope, body: bytes) -> tuple[int, str, bytes]:
    """The app's answer to one HTTP request: status, content type, body."""
    delivered = False
    status, content_type, chunks = 500, "", []

    async def receive() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # JSON endpoints read their body once; never disconnected
        raise AssertionError("unreachable")

    async def send(message: Message) -> None:
        nonlocal status, content_type
        if message["type"] == "http.response.start":
            status = message["status"]
            for name, value in message.get("headers", []):
                if name.lower() == b"content-type":
                    content_type = value.decode("latin-1")
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    try:
        await app(scope, receive, send)
    except Exception:  # the app's own error middleware answers first; this is its last resort
        logger.exception("%s %s over the UI channel failed", scope["method"], scope["path"])
        return (
            500,
            "application/json",
            _error_body("INTERNAL_ERROR", "Internal error in the gateway").encode(),
        )
    return status, content_type, b"".join(chunks)


def _reply(request_id: Any, status: int, body_json: str) -> str:
    return f'{{"id":{orjson.dumps(request_id).decode()},"status":{status},"body":{body_json}}}'


def _error_body(code: str, message: str) -> str:
    return orjson.dumps({"error_code": code, "message": message}).decode()


def _header(scope: Scope, name: bytes) -> bytes:
    return next((v for k, v in scope.get("headers", []) if k == name), b"")


def _same_origin(headers: Mapping[str, str]) -> bool:
    """Whether the handshake comes from a page of this gateway (Origin's host is Host), or from
    no browser at all (no Origin: scripts and tests)."""
    origin = headers.get("origin")
    if origin is None:
        return True
    return urlsplit(origin).netloc.lower() == headers.get("host", "").lower()
