"""The UI's routes: `/` (the page), `/ui/static/…` (its modules, styles and vendored uPlot, from
this package, so the UI works offline and from a wheel) and `/ui/api/…`."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles

from gateway import convert as c
from gateway.errors import RequestError
from gateway.scoring_calls import ScoringCalls
from gateway.tracking_calls import TrackingCalls
from gateway.ui import channel, handlers, logged_models
from mlgrpc.tracking.v1 import tracking_service_pb2 as pb

STATIC = Path(__file__).parent / "static"
#: How often a live stream asks the tracking service for the run: a logged metric shows within
#: this plus the page's redraw, well inside the 2 s the UI promises.
POLL_SECONDS = 0.5
#: A stream ends after this long and the page reconnects: a stream is never older than this,
#: whatever happens to the connection.
STREAM_SECONDS = 60.0
#: A comment line this often keeps proxies from closing an idle stream.
KEEPALIVE_SECONDS = 10.0

AnswerOrError = Callable[[Request, Callable[[], Awaitable[Response]]], Awaitable[Response]]


def ui_routes(
    tracking: TrackingCalls, answer_or_error: AnswerOrError, scoring: ScoringCalls | None = None
) -> list[BaseRoute]:
    """The routes to add to the gateway; `answer_or_error` shapes failures as the gateway's
    MLflow error bodies. (The registry page calls MLflow's registry REST endpoints, and
    /ui/api/served-models asks the scoring service at `scoring`, when given, what it serves.)"""

    def caller(request: Request) -> TrackingCalls:
        return tracking.as_caller(request.headers.get("authorization"))

    async def index(_: Request) -> Response:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    async def experiment_summary(request: Request) -> Response:
        async def answer() -> Response:
            experiment_id = request.path_params["experiment_id"]
            calls = caller(request)
            return _json(await run_in_threadpool(handlers.experiment_summary, calls, experiment_id))

        return await answer_or_error(request, answer)

    async def runs_page(request: Request) -> Response:
        async def answer() -> Response:
            body = await _json_object(request)
            # The call awaited on the loop and its answer shaped there (about a millisecond of
            # work): the table's first page waits for no thread of the pool.
            search = handlers.search_runs_request(body)
            response = await caller(request).call_async("SearchRuns", search)
            return _json(handlers.lean_runs_page(response))

        return await answer_or_error(request, answer)

    async def metric_history(request: Request) -> Response:
        async def answer() -> Response:
            query = dict(request.query_params)
            return _json(await run_in_threadpool(handlers.metric_history, caller(request), query))

        return await answer_or_error(request, answer)

    async def served_models(request: Request) -> Response:
        async def answer() -> Response:
            if scoring is None:
                return _json({"address": "", "models": []})
            calls = scoring.as_caller(request.headers.get("authorization"))
            return _json(await run_in_threadpool(calls.served_models))

        return await answer_or_error(request, answer)

    async def run_logged_models(request: Request) -> Response:
        async def answer() -> Response:
            run_id = request.path_params["run_id"]
            calls = caller(request)
            return _json(await run_in_threadpool(logged_models.logged_models, calls, run_id))

        return await answer_or_error(request, answer)

    async def run_events(request: Request) -> Response:
        async def answer() -> Response:
            calls = caller(request)
            run_id = request.path_params["run_id"]
            # The first read answers an unknown run or a missing token as an error body.
            run = await run_in_threadpool(_get_run, calls, run_id)
            return StreamingResponse(
                _run_stream(calls, run_id, run),
                media_type="text/event-stream",
                headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
            )

        return await answer_or_error(request, answer)

    return [
        Route("/", index, methods=["GET"]),
        Route("/ui/api/experiments/{experiment_id}/summary", experiment_summary, methods=["GET"]),
        Route("/ui/api/runs/search", runs_page, methods=["POST"]),
        Route("/ui/api/metric-history", metric_history, methods=["GET"]),
        Route("/ui/api/served-models", served_models, methods=["GET"]),
        Route("/ui/api/runs/{run_id}/events", run_events, methods=["GET"]),
        Route("/ui/api/runs/{run_id}/logged-models", run_logged_models, methods=["GET"]),
        WebSocketRoute(channel.PATH, channel.serve),
        Mount("/ui/static", app=StaticFiles(directory=STATIC), name="ui-static"),
    ]


def _get_run(calls: TrackingCalls, run_id: str) -> pb.Run:
    return calls.call("GetRun", pb.GetRunRequest(run_id=run_id)).run


async def _run_stream(calls: TrackingCalls, run_id: str, run: pb.Run) -> AsyncIterator[str]:
    """Server-sent events: `run` with MLflow's run JSON each time the run's status or latest
    metrics change, `end` once it is no longer RUNNING; the stream also ends when the server
    shuts down or after STREAM_SECONDS (the page then reconnects)."""
    state = handlers.run_state(run)
    yield _event("run", c.run_json(run))
    started = last_sent = time.monotonic()
    while run.info.status == pb.RUN_STATUS_RUNNING:
        await asyncio.sleep(POLL_SECONDS)
        now = time.monotonic()
        if _server_exiting() or now - started > STREAM_SECONDS:
            return
        try:
            run = await run_in_threadpool(_get_run, calls, run_id)
        except Exception as error:  # a service down: say so, the page retries
            yield _event("problem", {"message": str(error)})
            return
        new_state = handlers.run_state(run)
        if new_state != state:
            state, last_sent = new_state, now
            yield _event("run", c.run_json(run))
        elif now - last_sent > KEEPALIVE_SECONDS:
            last_sent = now
            yield ": keep-alive\n\n"
    yield _event("end", {"status": c.RUN_STATUS_NAMES.get(run.info.status, "")})


def _server_exiting() -> bool:
    """Whether uvicorn is shutting down. It waits for open responses before it exits, so a
    stream must end by itself; while serving, uvicorn's own SIGTERM handler is a method of its
    Server, whose `should_exit` says so (in a non-main-thread server this finds nothing, and
    STREAM_SECONDS bounds the wait)."""
    handler: Any = signal.getsignal(signal.SIGTERM)
    server = getattr(handler, "__self__", None)
    return bool(getattr(server, "should_exit", False))


def _event(name: str, data: Any) -> str:
    return f"event: {name}\ndata: {json.dumps(data, allow_nan=False, separators=(',', ':'))}\n\n"


async def _json_object(request: Request) -> dict[str, Any]:
    """The request's body as a JSON object; an empty body is an empty object."""
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise RequestError("The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise RequestError("The request body must be a JSON object.")
    return body


def _json(body: Any) -> Response:
    # orjson, as the gateway's MLflow routes (gateway/app.py): the runs page of 50 runs × 20
    # metrics in 0.05 ms instead of 0.5. Non-finite floats are already strings (json_double).
    return Response(orjson.dumps(body), media_type="application/json")
