"""The same servicers on a `grpc.aio` server (`--server-kind aio`), for comparison with the
default thread-pool server.

The servicers' methods are synchronous and CPU-bound (decode → predict → encode, ~0.1 ms for
the seed model), so each runs inline on the event loop; errors map through the same
`status_for_exception` as the sync interceptor.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from mlgrpc import error_reasons as reasons
from mlgrpc.inference import grpc_predict_v2_pb2_grpc
from mlgrpc.scoring.v1 import scoring_service_pb2_grpc
from mlgrpc_server.bootstrap import bind_port
from mlgrpc_server.interceptors import status_for_exception
from mlgrpc_server.observability.setup import observe_server
from mlgrpc_server.request_decoding import AioUndecodableInterceptor
from scoring_service.config import ServeConfig
from scoring_service.health import ModelHealth
from scoring_service.models.manager import ModelManager
from scoring_service.oip_servicer import InferenceServicer
from scoring_service.server import INFERENCE_SERVICE, SCORING_SERVICE, server_options
from scoring_service.servicer import ScoringServicer

logger = logging.getLogger(__name__)


def _async_method(name: str, method: Callable[[Any, Any], Any]) -> Callable[..., Any]:
    async def call(request: Any, context: grpc.aio.ServicerContext) -> Any:
        try:
            return method(request, context)
        except Exception as exc:  # noqa: BLE001 - the mapping point, as in the interceptor
            await context.abort_with_status(status_for_exception(exc, reasons.SCORING_DOMAIN, name))

    return call


def _as_async(servicer: Any, base: type) -> Any:
    """An instance of `base` whose RPC methods call `servicer`'s synchronously."""
    methods = {
        name: staticmethod(_async_method(name, getattr(servicer, name)))
        for name in vars(base)
        if not name.startswith("_") and callable(getattr(servicer, name, None))
    }
    return type(f"Async{type(servicer).__name__}", (base,), methods)()


async def serve(config: ServeConfig, *, reuse_port: bool = False) -> None:
    manager = ModelManager(config)
    observability = observe_server(metrics_port=config.metrics_port, host=config.host, aio=True)
    server = grpc.aio.server(
        options=server_options(reuse_port),
        interceptors=[observability.interceptor, AioUndecodableInterceptor(reasons.SCORING_DOMAIN)],
    )
    scoring_service_pb2_grpc.add_ScoringServiceServicer_to_server(
        _as_async(
            ScoringServicer(manager, max_request_rows=config.max_request_rows),
            scoring_service_pb2_grpc.ScoringServiceServicer,
        ),
        server,
    )
    grpc_predict_v2_pb2_grpc.add_GRPCInferenceServiceServicer_to_server(
        _as_async(
            InferenceServicer(manager, max_request_rows=config.max_request_rows),
            grpc_predict_v2_pb2_grpc.GRPCInferenceServiceServicer,
        ),
        server,
    )
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    names = [SCORING_SERVICE, INFERENCE_SERVICE]
    reflection.enable_server_reflection(
        (*names, health.SERVICE_NAME, reflection.SERVICE_NAME), server
    )
    port = bind_port(server, config.host, config.port, config.tls)
    loop = asyncio.get_running_loop()

    def set_status(name: str, status: int) -> None:
        # Called from the loop (LoadModel) and from the executor (the start-up load): the
        # asyncio servicer's `set` is a coroutine of this loop.
        asyncio.run_coroutine_threadsafe(health_servicer.set(name, status), loop)

    ModelHealth(manager, set_status, names).watch()
    stop = asyncio.Event()  # handled before SERVING: a signal from then on drains, never kills
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await server.start()
    await loop.run_in_executor(None, manager.load_all, config.models)
    manager.set_ready(True)
    logger.info("aio scoring service listening on %s:%d", config.host, port)
    await stop.wait()
    await server.stop(5)
    manager.close()
    observability.close()


def run(config: ServeConfig, *, reuse_port: bool = False) -> int:
    asyncio.run(serve(config, reuse_port=reuse_port))
    return 0
