"""The gateway's ASGI app: MLflow's routes, the request decoding they share, and one place
where every failure becomes MLflow's error body (never a stack trace)."""

from __future__ import annotations

import inspect
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

import mlgrpc
from gateway import (
    artifact_proxy,
    errors,
    logged_model_routes,
    metric_history_routes,
    multipart,
    openapi,
    registry_routes,
    tracking_routes,
)
from gateway.registry_calls import RegistryCalls
from gateway.scoring_calls import ScoringCalls
from gateway.service_calls import ServiceCalls
from gateway.tracking_calls import TrackingCalls
from gateway.ui.routes import ui_routes
from mlgrpc.exceptions import MlgrpcException
from mlgrpc.tls import ClientTls

logger = logging.getLogger(__name__)

API_PREFIX = "/api/2.0/mlflow/"
ARTIFACTS_PREFIX = "/api/2.0/mlflow-artifacts/artifacts"
MULTIPART_PREFIX = "/api/2.0/mlflow-artifacts/mpu/"
Endpoints = dict[tuple[str, str], tuple[Callable[[Any, Mapping[str, Any]], Any], ServiceCalls]]


def create_app(
    tracking_address: str,
    tls: ClientTls | None = None,
    registry_address: str | None = None,
    scoring_address: str | None = None,
) -> Starlette:
    """The gateway in front of the tracking service at `tracking_address` and, when given, the
    registry service at `registry_address` (any form the client takes: `host:port`, `grpc://…`,
    `grpcs://…` with `tls`). Without a registry its endpoints are not served
    (nor the web UI's registry page). The web UI asks the scoring service at `scoring_address`,
    when given, which versions it serves."""
    tracking = TrackingCalls(tracking_address, tls)
    # Each route table with the calls its handlers take.
    endpoints: Endpoints = {
        key: (handler, tracking)
        for table in (
            tracking_routes.ROUTES,
            metric_history_routes.ROUTES,
            logged_model_routes.ROUTES,
        )
        for key, handler in table.items()
    }
    if registry_address:
        registry = RegistryCalls(registry_address, tracking, tls)
        endpoints |= {key: (handler, registry) for key, handler in registry_routes.ROUTES.items()}
    routed_paths = {path for _, path in endpoints}

    async def mlflow_endpoint(request: Request) -> Response:
        path = request.path_params["path"]
        endpoint = endpoints.get((request.method, path))
        path_fields: dict[str, str] = {}
        if endpoint is None and (found := logged_model_routes.match(request.method, path)):
            handler, path_fields = found  # logged-models/{model_id}…
            endpoint = (handler, tracking)
        if endpoint is None:
            if path in routed_paths or logged_model_routes.is_model_path(path):
                return _method_not_allowed(request.method, API_PREFIX + path)
            return _endpoint_not_found(API_PREFIX + path)
        handler, service = endpoint

        async def answer() -> Response:
            calls = service.as_caller(request.headers.get("authorization"))
            body = {**await _request_fields(request), **path_fields}
            if inspect.iscoroutinefunction(handler):  # its calls awaited on the loop
                return _json(await handler(calls, body))
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
                return Response()  # MLflow's server answers an upload with an empty body
            if request.method == "DELETE":
                await run_in_threadpool(artifact_proxy.delete, calls, artifact)
                return _json({})
            return await run_in_threadpool(artifact_proxy.open_download, calls, artifact)

        return await _answer_or_error(request, answer)

    async def proxied_listing(request: Request) -> Response:
        async def answer() -> Response:
            calls = tracking.as_caller(request.headers.get("authorization"))
            path = request.query_params.get("path", "")
            return _json(await run_in_threadpool(artifact_proxy.list_files, calls, path))

        return await _answer_or_error(request, answer)

    async def multipart_upload(request: Request) -> Response:
        operation = request.path_params["operation"]
        if operation not in multipart.REQUIRED_FIELDS:
            return _endpoint_not_found(request.url.path)

        async def answer() -> Response:
            body = await _request_fields(request)
            raise multipart.refusal(operation, request.path_params["path"], body)

        return await _answer_or_error(request, answer)

    async def health(_: Request) -> Response:
        """Liveness: `OK` while the gateway answers."""
        return PlainTextResponse("OK")

    async def version(_: Request) -> Response:
        """The mlgrpc version of the gateway."""
        return PlainTextResponse(mlgrpc.__version__)

    document = openapi.openapi_document(
        [(method, API_PREFIX + path, handler) for (method, path), (handler, _) in endpoints.items()]
        + [
            (method, API_PREFIX + path, handler)
            for method, path, handler in logged_model_routes.TEMPLATED
        ]
        + [
            ("GET", "/health", health),
            ("GET", "/version", version),
            ("GET", ARTIFACTS_PREFIX, artifact_proxy.list_files),
            ("GET", ARTIFACTS_PREFIX + "/{path}", artifact_proxy.open_download),
            ("PUT", ARTIFACTS_PREFIX + "/{path}", artifact_proxy.upload),
            ("DELETE", ARTIFACTS_PREFIX + "/{path}", artifact_proxy.delete),
        ]
        + [
            ("POST", MULTIPART_PREFIX + operation + "/{path}", multipart.refusal)
            for operation in multipart.REQUIRED_FIELDS
        ],
        mlgrpc.__version__,
    )
    openapi_body = json.dumps(document, separators=(",", ":"))

    async def openapi_json(_: Request) -> Response:
        return Response(openapi_body, media_type="application/json")

    async def not_found(request: Request, exc: Exception) -> Response:
        if isinstance(exc, HTTPException) and exc.status_code == 405:
            return _method_not_allowed(request.method, request.url.path)
        return _endpoint_not_found(request.url.path)

    methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
    routes = [
        Route("/health", health, methods=["GET"]),
        Route("/version", version, methods=["GET"]),
        Route("/openapi.json", openapi_json, methods=["GET"]),
        Route(API_PREFIX + "{path:path}", mlflow_endpoint, methods=methods),
        Route(ARTIFACTS_PREFIX, proxied_listing, methods=["GET"]),
        Route(ARTIFACTS_PREFIX + "/{path:path}", proxied_file, methods=["GET", "PUT", "DELETE"]),
        Route(MULTIPART_PREFIX + "{operation}/{path:path}", multipart_upload, methods=["POST"]),
    ]
    # the web UI at / (docs/webui.md)
    scoring = ScoringCalls(scoring_address, tls) if scoring_address else None
    routes += ui_routes(tracking, _answer_or_error, scoring)
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
    # orjson: a page of 1,000 runs in 0.6 ms instead of the standard library's ~10 ms (most of a
    # search's time in the gateway; bench/gateway_bench.py). NaN/±inf are already the strings
    # protobuf's JSON mapping uses (convert.json_double); its UTF-8 is not \u-escaped.
    return Response(orjson.dumps(body), media_type="application/json")


def _endpoint_not_found(path: str) -> JSONResponse:
    message = (
        f"No API endpoint {path} here: the gateway serves MLflow's tracking and model-registry "
        "APIs and its artifact proxy."
    )
    return errors.error_response(errors.ENDPOINT_NOT_FOUND, message, 404)


def _method_not_allowed(method: str, path: str) -> JSONResponse:
    message = f"The method {method} is not allowed for {path}."
    return errors.error_response(errors.BAD_REQUEST, message, 405)
