"""Building the scoring server: both servicers, health, reflection, the error interceptor.

Health starts NOT_SERVING and turns SERVING only once every model given at start is loaded (or,
with `early_start`, served by its numpy-only stand-in: see `models/early_linear.py`); each model
has its own health entry too (`health.py`).
A single process keeps `grpc.so_reuseport=0` (a second server on a busy port fails to bind);
worker processes (`workers/`) pass `reuse_port=True` to share one port.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent import futures
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import grpc
from grpc_health.v1 import health, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from mlgrpc import error_reasons as reasons
from mlgrpc.inference import grpc_predict_v2_pb2, grpc_predict_v2_pb2_grpc
from mlgrpc.scoring.v1 import scoring_service_pb2, scoring_service_pb2_grpc
from mlgrpc_server.bootstrap import MAX_MESSAGE_BYTES, RunningServer, bind_port
from mlgrpc_server.interceptors import ErrorMappingInterceptor
from mlgrpc_server.observability.setup import observe_server
from scoring_service.auth import auth_interceptors
from scoring_service.config import ServeConfig
from scoring_service.health import ModelHealth
from scoring_service.models.manager import ModelManager
from scoring_service.oip_servicer import InferenceServicer
from scoring_service.servicer import ScoringServicer

if TYPE_CHECKING:
    from mlgrpc_server.observability.metrics import GrpcMetrics
    from scoring_service.http.server import RunningHttp

logger = logging.getLogger(__name__)

SCORING_SERVICE = scoring_service_pb2.DESCRIPTOR.services_by_name["ScoringService"].full_name
INFERENCE_SERVICE = grpc_predict_v2_pb2.DESCRIPTOR.services_by_name[
    "GRPCInferenceService"
].full_name


def server_options(reuse_port: bool) -> list[tuple[str, int]]:
    return [
        ("grpc.so_reuseport", 1 if reuse_port else 0),
        ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
        ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    ]


@dataclass
class ScoringServer:
    """A started scoring server: the gRPC server plus the models it serves."""

    running: RunningServer
    manager: ModelManager
    followers: list[object] = field(default_factory=list)
    #: Set once the full models are loaded (or their load failed); see `load_models`.
    fully_loaded: threading.Event = field(default_factory=threading.Event)
    #: The HTTP listener (`--http-port`), if any.
    http: RunningHttp | None = None

    @property
    def port(self) -> int:
        return self.running.port

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.running.port}"

    @property
    def http_url(self) -> str:
        """`http(s)://127.0.0.1:PORT` of the HTTP protocols ("" when HTTP is off)."""
        if self.http is None:
            return ""
        scheme = "https" if self.manager.config.tls is not None else "http"
        return f"{scheme}://127.0.0.1:{self.http.port}"

    def load_models(
        self, *, early: bool = False, on_failure: Callable[[BaseException], None] | None = None
    ) -> None:
        """Load every model of the configuration, then report SERVING.

        With `early`, when every model is a linear one that `models/early_linear.py` reads
        without scikit-learn, SERVING comes at once and the full load finishes in a background
        thread (`fully_loaded` is set when it is done); if that load fails, the models are
        withdrawn (NOT_SERVING) and `on_failure` gets the error.
        """
        if early and self.manager.serve_early(self.manager.config.models):
            self.manager.set_ready(True)
            threading.Thread(
                target=self._finish_loading, args=(on_failure,), name="full-load", daemon=True
            ).start()
            return
        self._load_fully()

    def _load_fully(self) -> None:
        from scoring_service.follow import start_followers

        try:
            self.manager.load_all(self.manager.config.models)
            self.followers.extend(start_followers(self.manager))
            self.manager.set_ready(True)
        finally:
            self.fully_loaded.set()

    def _finish_loading(self, on_failure: Callable[[BaseException], None] | None) -> None:
        try:
            self._load_fully()
        except BaseException as exc:  # noqa: BLE001 - reported, then the caller decides
            logger.error("loading the models failed: %s", exc)
            self.manager.fail_early(exc)
            if on_failure is not None:
                on_failure(exc)

    def stop(self, grace: float | None = 5.0) -> None:
        for follower in self.followers:
            follower.stop()  # type: ignore[attr-defined]
        if self.http is not None:
            self.http.stop(grace or 0.0)
        self.running.stop(grace)
        self.manager.close()


def create_server(
    config: ServeConfig,
    *,
    reuse_port: bool = False,
    load: bool = True,
    early_start: bool = False,
    on_load_failure: Callable[[BaseException], None] | None = None,
) -> ScoringServer:
    """Bind `config.host:config.port` (0: any free port), then load the models unless told not.

    The port answers health checks (NOT_SERVING) while models load.
    """
    manager = ModelManager(config)
    # Request ids always; metrics per RPC and per model when a metrics port is given.
    observability = observe_server(metrics_port=config.metrics_port, host=config.host)
    auth, close_auth = auth_interceptors(config)  # [] unless --auth / --require-token
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=config.threads, thread_name_prefix="scoring"),
        interceptors=[
            ErrorMappingInterceptor(reasons.SCORING_DOMAIN),
            observability.interceptor,
            *auth,
        ],
        options=server_options(reuse_port),
    )
    scoring_service_pb2_grpc.add_ScoringServiceServicer_to_server(
        ScoringServicer(manager, max_request_rows=config.max_request_rows), server
    )
    grpc_predict_v2_pb2_grpc.add_GRPCInferenceServiceServicer_to_server(
        InferenceServicer(manager, max_request_rows=config.max_request_rows), server
    )
    health_servicer = health.HealthServicer(experimental_non_blocking=True)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    names = [SCORING_SERVICE, INFERENCE_SERVICE]
    reflection.enable_server_reflection(
        (*names, health.SERVICE_NAME, reflection.SERVICE_NAME), server
    )
    host = config.host
    port = bind_port(server, host, config.port, config.tls)
    server.start()
    running = RunningServer(server, port, health_servicer, names, [observability.close, close_auth])
    ModelHealth(manager, health_servicer.set, names).watch()
    logger.info("scoring service listening on %s:%d", host, port)
    scoring = ScoringServer(running, manager)
    # A single process listens for HTTP at once (/ping says 404 until its models are loaded,
    # as MLflow's does). A worker sharing the port listens only once loaded: the kernel would
    # hand a loading worker connections that its ready siblings could answer.
    http_first = config.http_port is not None and not reuse_port
    try:
        if http_first:
            scoring.http = _start_http(config, manager, auth, reuse_port, observability.metrics)
        if load:
            scoring.load_models(early=early_start, on_failure=on_load_failure)
        if config.http_port is not None and not http_first:
            scoring.http = _start_http(config, manager, auth, reuse_port, observability.metrics)
    except BaseException:
        scoring.stop(grace=0)
        raise
    return scoring


def _start_http(
    config: ServeConfig,
    manager: ModelManager,
    auth: list[grpc.ServerInterceptor],
    reuse_port: bool,
    metrics: GrpcMetrics | None,
) -> RunningHttp:
    """The HTTP protocols beside gRPC: the same models, token checks and TLS."""
    from mlgrpc_server.auth.interceptor import AuthInterceptor
    from scoring_service.http.app import ScoringHttpApp
    from scoring_service.http.server import start_http

    checker = next((i for i in auth if isinstance(i, AuthInterceptor)), None)
    app = ScoringHttpApp(
        manager,
        max_request_rows=config.max_request_rows,
        max_body_bytes=config.http_max_body_bytes,
        threads=config.threads,
        check_call=checker.check_call if checker is not None else None,
        metrics=metrics,
    )
    assert config.http_port is not None
    return start_http(app, config.host, config.http_port, tls=config.tls, reuse_port=reuse_port)
