"""The gateway's ASGI app: MLflow's routes, the request decoding they share, and one place
where every failure becomes MLflow's error body (never a stack trace)."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

import mlgrpc
from gateway import artifact_proxy, errors, logged_model_routes
from gateway.tracking_calls import TrackingCalls
from gateway.tracking_routes import ROUTES as TRACKING_ROUTES
from mlgrpc.exceptions import MlgrpcException
from mlgrpc.tls import ClientTls

logger = logging.getLogger(__name__)

API_PREFIX = "/api/2.0/mlflow/"
ARTIFACTS_PREFIX = "/api/2.0/mlflow-artifacts/artifacts"
ROUTES = {**TRACKING_ROUTES, **logged_model_routes.ROUTES}
_ROUTED_PATHS = {path for _, path in ROUTES}


def create_app(tracking_address: str, tls: ClientTls | None = None) -> Starlette:
    """The gateway in front of the tracking service at `tracking_address` (any form the client
    takes: `host:port`, `grpc://…`, `grpcs://…` with `tls`)."""
    tracking = TrackingCalls(tracking_address, tls)

    async def mlflow_endpoint(request: Request) -> Response:
        path = request.path_params["path"]
        handler = ROUTES.get((request.method, path))
        path_fields: dict[str, str] = {}
        if handler is None and (found := logged_model_routes.match(request.method, path)):
            handler, path_fields = found  # logged-models/{model_id}…
        if handler is None:
            return _unrouted(request.method, path)

        async def answer() -> Response:
            calls = tracking.as_caller(request.headers.get("authorization"))
            body = {**await _request_fields(request), **path_fields}
            # The gRPC stub blocks: run it off the event loop.
            return _json(await run_in_threadpool(handler, calls, body))

        return await _answer_or_error(request, answer)

    async def proxied_file(request: Request) -> Response:
        async def answer() -> Response:
            calls = tracking.as_caller(request.headers.get("authorization"))
            path = request.path_params["path"]
            artifact = await run_in_threadpool(artifact_proxy.resolve, calls, path)
            if request.method == "PUT":
                await artifact_proxy.upload(calls, artifact, request)
                return _json({})
            return await run_in_threadpool(artifact_proxy.open_download, calls, artifact)

        return await _answer_or_error(request, answer)

    async def proxied_listing(request: Request) -> Response:
        async def answer() -> Response:
            calls = tracking.as_caller(request.headers.get("authorization"))
            path = request.query_params.get("path", "")
            return _json(await run_in_threadpool(artifact_proxy.list_files, calls, path))

        return await _answer_or_error(request, answer)

    async def health(_: Request) -> Response:
        return PlainTextResponse("OK")

    async def version(_: Request) -> Response:
        return PlainTextResponse(mlgrpc.__version__)

    async def not_found(request: Request, exc: Exception) -> Response:
        if isinstance(exc, HTTPException) and exc.status_code == 405:
            return _method_not_allowed(request.method, request.url.path)
        return _endpoint_not_found(request.url.path)

    methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
    routes = [
        Route("/health", health, methods=["GET"]),
        Route("/version", version, methods=["GET"]),
        Route(API_PREFIX + "{path:path}", mlflow_endpoint, methods=methods),
        Route(ARTIFACTS_PREFIX, proxied_listing, methods=["GET"]),
        Route(ARTIFACTS_PREFIX + "/{path:path}", proxied_file, methods=["GET", "PUT"]),
    ]
    return Starlette(routes=routes, exception_handlers={404: not_found, 405: not_found})


async def _answer_or_error(request: Request, answer: Callable[[], Awaitable[Response]]) -> Response:
    """`answer()`, or MLflow's error body for whatever it raised (never a stack trace)."""
    try:
        return await answer()
    except errors.RequestError as error:
        return errors.request_error_response(error)
    except MlgrpcException as error:
        return errors.service_error_response(error)
    except Exception:
        logger.exception("%s %s failed", request.method, request.url.path)
        return errors.error_response("INTERNAL_ERROR", "Internal error in the gateway", 500)


async def _request_fields(request: Request) -> Mapping[str, Any]:
    """A GET's query (a key given twice is a list, as MLflow reads repeated fields) or the JSON
    object of the body; an empty body is an empty object, as MLflow's server takes it."""
    if request.method == "GET":
        fields: dict[str, Any] = {}
        for key in request.query_params:
            values = request.query_params.getlist(key)
            fields[key] = values if len(values) > 1 else values[0]
        return fields
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise errors.RequestError("The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise errors.RequestError("The request body must be a JSON object.")
    return body


def _json(body: Mapping[str, Any]) -> Response:
    # allow_nan=False: NaN/±inf are already the strings protobuf's JSON mapping uses.
    content = json.dumps(body, allow_nan=False, separators=(",", ":"))
    return Response(content, media_type="application/json")


def _unrouted(method: str, path: str) -> JSONResponse:
    if path in _ROUTED_PATHS or logged_model_routes.is_model_path(path):
        return _method_not_allowed(method, API_PREFIX + path)
    return _endpoint_not_found(API_PREFIX + path)


def _endpoint_not_found(path: str) -> JSONResponse:
    message = (
        f"No API endpoint {path} here: the gateway serves MLflow's tracking API and artifact "
        "proxy only so far."
    )
    return errors.error_response(errors.ENDPOINT_NOT_FOUND, message, 404)


def _method_not_allowed(method: str, path: str) -> JSONResponse:
    message = f"The method {method} is not allowed for {path}."
    return errors.error_response(errors.BAD_REQUEST, message, 405)
