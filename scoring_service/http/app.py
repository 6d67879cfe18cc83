"""The scoring service's HTTP adapter: an ASGI app beside the gRPC servicers, on the same models.

Routes (MLflow's scoring server, then the Open Inference Protocol's REST form):
  GET /ping, GET /health, GET /version, POST /invocations
  GET /v2, /v2/health/live, /v2/health/ready, /v2/models/{name}[/versions/{v}][/ready]
  POST /v2/models/{name}[/versions/{v}]/infer

Each route decodes, asks the same registry and `predict` as the gRPC servicers, and encodes;
errors are the `ServiceError` family, answered in the protocol's own shape with the status of
`mlgrpc_server.http_status` (`{"error_code", "message"}` for MLflow's routes, `{"error"}` for
the V2 ones). The app is plain ASGI rather than a framework's: routing is a dict and a split,
and every microsecond a framework adds is paid on each prediction.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

import grpc

from mlgrpc.inference import grpc_predict_v2_pb2 as oip_pb
from mlgrpc.scoring.v1 import scoring_service_pb2
from mlgrpc_server.errors import NotFound, ResourceExhausted, ServiceError
from mlgrpc_server.http_status import http_status
from scoring_service.codecs import oip_payload
from scoring_service.http import invocations, json_codec, oip_rest
from scoring_service.models.loaded import LoadedModel
from scoring_service.models.manager import ModelManager
from scoring_service.models.predict import predict, predict_matrix
from scoring_service.oip_servicer import SERVER_NAME, SERVER_VERSION, InferenceServicer

if TYPE_CHECKING:
    from mlgrpc_server.observability.metrics import GrpcMetrics

logger = logging.getLogger(__name__)

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

#: Requests of at most this many rows are predicted on the event loop itself: a hop to a
#: thread costs more than they do. Larger ones, and models that wait (adaptive batching, the
#: early stand-in waiting for the full model), run in the thread pool.
INLINE_ROWS = 64

#: The gRPC method whose permission rule an HTTP route follows (`--require-token`).
_PREDICT = f"/{scoring_service_pb2.DESCRIPTOR.services_by_name['ScoringService'].full_name}/Predict"
_V2 = oip_pb.DESCRIPTOR.services_by_name["GRPCInferenceService"].full_name
_MODEL_INFER, _MODEL_METADATA, _SERVER_METADATA = (
    f"/{_V2}/{rpc}" for rpc in ("ModelInfer", "ModelMetadata", "ServerMetadata")
)
#: Checks a call's token against the rule of a gRPC method (`AuthInterceptor.check_call`).
CheckCall = Callable[[str, list[tuple[str, str]]], None]

_JSON = [(b"content-type", b"application/json")]
#: A body over the limit is still read (and dropped) up to this many times the limit.
_DRAIN_FACTOR = 16
_MLFLOW_ERROR_CODE = {
    400: "BAD_REQUEST",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "RESOURCE_DOES_NOT_EXIST",
    405: "BAD_REQUEST",
    409: "RESOURCE_CONFLICT",
    413: "RESOURCE_LIMIT_EXCEEDED",
    415: "BAD_REQUEST",
    503: "TEMPORARILY_UNAVAILABLE",
}


@dataclass
class _Exchange:
    """What one request's metrics need: its route template, the model that answered, the
    status code of its error (OK: none)."""

    route: str = "other"
    model: LoadedModel | None = None
    code: grpc.StatusCode = grpc.StatusCode.OK


class Answer(Exception):
    """A finished HTTP answer raised from inside a route (405 and the like)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


class ScoringHttpApp:
    def __init__(
        self,
        manager: ModelManager,
        *,
        max_request_rows: int,
        max_body_bytes: int,
        threads: int = 8,
        check_call: CheckCall | None = None,
        metrics: GrpcMetrics | None = None,
    ) -> None:
        self._manager = manager
        self._registry = manager.registry
        self._max_rows = max_request_rows
        self._max_body = max_body_bytes
        self._oip = InferenceServicer(manager, max_request_rows=max_request_rows)
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="scoring-http")
        self._check_call = check_call
        self._metrics = metrics

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        started = time.perf_counter() if self._metrics is not None else 0.0
        path: str = scope["path"]
        v2 = path == "/v2" or path.startswith("/v2/")
        exchange = _Exchange()
        try:
            if v2:
                status, headers, body = await self._v2(scope, receive, path, exchange)
            else:
                status, headers, body = await self._mlflow(scope, receive, path, exchange)
        except Answer as answer:
            exchange.code = grpc.StatusCode.INVALID_ARGUMENT
            status, headers, body = _error(answer.status, answer.message, v2=v2)
        except ServiceError as error:
            exchange.code = error.code
            status = getattr(error, "http_status", None) or http_status(error.code)
            if status >= 500:
                logger.warning("%s %s: %s", scope["method"], path, error.message)
            status, headers, body = _error(status, error.message, v2=v2)
        except Exception:  # noqa: BLE001 - a bug of ours: logged with its traceback, not sent
            exchange.code = grpc.StatusCode.INTERNAL
            logger.exception("%s %s failed", scope["method"], path)
            status, headers, body = _error(500, "internal error; see the server's log", v2=v2)
        # A Content-Length spares the chunked framing uvicorn adds to a body of unknown length.
        headers = [*headers, (b"content-length", b"%d" % len(body))]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        if self._metrics is not None:
            self._observe(scope["method"], status, exchange, time.perf_counter() - started)

    def _observe(self, method: str, status: int, exchange: _Exchange, seconds: float) -> None:
        assert self._metrics is not None
        self._metrics.observe_http(method, exchange.route, status, seconds)
        model = exchange.model
        if model is not None:
            route = f"{method} {exchange.route}"
            self._metrics.observe_model(model.name, model.version, route, exchange.code, seconds)

    # MLflow's scoring server -------------------------------------------------------------------

    async def _mlflow(
        self, scope: Scope, receive: Receive, path: str, exchange: _Exchange
    ) -> _Response:
        method = scope["method"]
        if path in _MLFLOW_ROUTES:
            exchange.route = path
        if path == "/invocations":
            _allow(method, "POST")
            self._authorize(scope, _PREDICT)
            body = await self._body(scope, receive)
            model = exchange.model = self._registry.get()
            content_type = _header(scope, b"content-type")
            invocation = invocations.decode_invocation(content_type, body, model, self._max_rows)
            if invocation.matrix is not None:
                matrix, batch_of = invocation.matrix, invocation.batch_of
                output = await self._run(
                    model, len(matrix), partial(predict_matrix, model, matrix, batch_of)
                )
            else:
                output = await self._predict(model, invocation.batch_of())
            return 200, _JSON, invocations.encode_predictions(output, legacy=invocation.legacy)
        if path in ("/ping", "/health"):
            _allow(method, "GET")
            # MLflow answers 200 once its model is loaded, 404 before.
            status = 200 if self._manager.ready and self._registry.names() else 404
            return status, [(b"content-type", b"text/plain")], b"\n"
        if path == "/version":
            _allow(method, "GET")
            return 200, [(b"content-type", b"text/plain")], SERVER_VERSION.encode()
        raise NotFound(f"no route {path!r}; see /invocations, /ping, /health, /v2/…")

    # Open Inference Protocol, REST -------------------------------------------------------------

    async def _v2(
        self, scope: Scope, receive: Receive, path: str, exchange: _Exchange
    ) -> _Response:
        method = scope["method"]
        parts = path.rstrip("/").split("/")[2:]  # "/v2/models/m/infer" → ["models", "m", "infer"]
        exchange.route = _v2_route(parts)
        if not parts:
            _allow(method, "GET")
            self._authorize(scope, _SERVER_METADATA)
            meta = {"name": SERVER_NAME, "version": SERVER_VERSION, "extensions": []}
            return _json(200, meta)
        if parts[0] == "health" and len(parts) == 2 and parts[1] in ("live", "ready"):
            _allow(method, "GET")
            if parts[1] == "live":
                return _json(200, {"live": True})
            ready = self._manager.ready
            return _json(200 if ready else 503, {"ready": ready})
        if parts[0] != "models" or len(parts) < 2:
            raise NotFound(f"no route {path!r}")
        name, rest = parts[1], parts[2:]
        version = ""
        if len(rest) >= 2 and rest[0] == "versions":
            version, rest = rest[1], rest[2:]
        if not rest:
            _allow(method, "GET")
            self._authorize(scope, _MODEL_METADATA)
            request = oip_pb.ModelMetadataRequest(name=name, version=version)
            return _json(200, oip_rest.model_metadata(self._oip.ModelMetadata(request, None)))
        if rest == ["ready"]:
            _allow(method, "GET")
            ready = self._oip.ModelReady(oip_pb.ModelReadyRequest(name=name, version=version), None)
            return _json(200 if ready.ready else 503, {"name": name, "ready": ready.ready})
        if rest == ["infer"]:
            _allow(method, "POST")
            self._authorize(scope, _MODEL_INFER)
            body = await self._body(scope, receive)
            header_length = _header(scope, oip_rest.HEADER_LENGTH.encode())
            asked = oip_rest.decode_infer(body, header_length, name, version)
            model = exchange.model = self._registry.get(name, version)
            batch = oip_payload.decode_request(asked.request, model)
            output = await self._predict(model, batch)
            response = oip_payload.encode_response(output, model, asked.request)
            content, json_length = oip_rest.encode_infer(response, asked)
            if json_length is None:
                return 200, _JSON, content
            headers = [
                (b"content-type", b"application/octet-stream"),
                (oip_rest.HEADER_LENGTH.encode(), str(json_length).encode()),
            ]
            return 200, headers, content
        raise NotFound(f"no route {path!r}")

    # Shared ------------------------------------------------------------------------------------

    def _authorize(self, scope: Scope, method: str) -> None:
        if self._check_call is not None:
            token = _header(scope, b"authorization")
            self._check_call(method, [("authorization", token)] if token is not None else [])

    async def _predict(self, model: LoadedModel, batch: Any) -> Any:
        return await self._run(
            model, batch.n_rows, partial(predict, model, batch, max_rows=self._max_rows)
        )

    async def _run(self, model: LoadedModel, rows: int, prediction: Callable[[], Any]) -> Any:
        """`prediction()` on the event loop when it is small and cannot wait, else in a thread."""
        if rows <= INLINE_ROWS and "batcher" not in model.extra and "early" not in model.extra:
            return prediction()
        return await asyncio.get_running_loop().run_in_executor(self._pool, prediction)

    async def _body(self, scope: Scope, receive: Receive) -> bytes:
        message = await receive()
        if message["type"] == "http.request" and not message.get("more_body", False):
            body: bytes = message.get("body", b"")
            if len(body) <= self._max_body:
                return body  # the common case: a small body in one message
        return await self._body_in_parts(scope, receive, message)

    async def _body_in_parts(
        self, scope: Scope, receive: Receive, message: dict[str, Any]
    ) -> bytes:
        """The body from `message` (the first) and the ones after it, within the limit."""
        declared = _header(scope, b"content-length")
        chunks: list[bytes] = []
        size = 0
        while True:
            if message["type"] == "http.disconnect":
                raise Answer(400, "the client went away before sending the whole body")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size <= self._max_body:
                chunks.append(chunk)
            elif chunks:
                chunks.clear()  # over the limit: the rest is read and dropped
            more = message.get("more_body", False)
            if size > self._max_body and (not more or size > _DRAIN_FACTOR * self._max_body):
                # Read to the end first (up to a bound): a client still writing its body would
                # see a broken pipe instead of the 413.
                raise _too_large(
                    int(declared) if declared and declared.isdigit() else size, self._max_body
                )
            if not more:
                return chunks[0] if len(chunks) == 1 else b"".join(chunks)
            message = await receive()


_Response = tuple[int, list[tuple[bytes, bytes]], bytes]


_MLFLOW_ROUTES = frozenset({"/invocations", "/ping", "/health", "/version"})


def _v2_route(parts: list[str]) -> str:
    """The route template of a V2 path (never a model name: metric labels stay bounded)."""
    if not parts:
        return "/v2"
    if parts[0] == "health" and len(parts) == 2 and parts[1] in ("live", "ready"):
        return f"/v2/health/{parts[1]}"
    if parts[0] != "models" or len(parts) < 2:
        return "other"
    rest = parts[2:]
    template = "/v2/models/{name}"
    if len(rest) >= 2 and rest[0] == "versions":
        template, rest = template + "/versions/{version}", rest[2:]
    if rest in ([], ["ready"], ["infer"]):
        return template + "".join(f"/{part}" for part in rest)
    return "other"


def _too_large(size: int, limit: int) -> ResourceExhausted:
    return ResourceExhausted(
        f"the body has {size:,} bytes; this server takes at most {limit:,}",
        field="body",
    )


def _allow(method: str, allowed: str) -> None:
    if method != allowed and not (allowed == "GET" and method == "HEAD"):
        raise Answer(405, f"method {method} is not allowed here; use {allowed}")


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return None


def _json(status: int, payload: Any) -> _Response:
    return status, _JSON, json_codec.dumps(payload)


def _error(status: int, message: str, *, v2: bool) -> _Response:
    if v2:
        return _json(status, {"error": message})
    code = _MLFLOW_ERROR_CODE.get(status, "INTERNAL_ERROR")
    return _json(status, {"error_code": code, "message": message})


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
