"""`mlgrpc models serve` / `mlgrpc server scoring` / `python -m scoring_service`.

Every flag has an environment fallback (`MLGRPC_…`), read here and nowhere else.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from mlgrpc_server.observability.flags import add_observability_arguments
from mlgrpc_server.tls import TlsChannelConfig, TlsServerConfig, add_tls_arguments, tls_from_args
from scoring_service.config import (
    DEFAULT_MAX_REQUEST_ROWS,
    DEFAULT_PORT,
    ModelSpec,
    ServeConfig,
    default_cache_dir,
)

logger = logging.getLogger("scoring_service")


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").lower() in ("1", "true", "yes", "on")


def build_parser() -> argparse.ArgumentParser:
    env = os.environ.get
    parser = argparse.ArgumentParser(
        prog="mlgrpc models serve",
        description="Serve models over gRPC: mlgrpc.scoring.v1.ScoringService (MLflow-style "
        "Predict) and inference.GRPCInferenceService (Open Inference Protocol), one port.",
    )
    parser.add_argument(
        "-m",
        "--model-uri",
        action="append",
        default=[],
        metavar="[NAME=]URI",
        help="model to serve: a directory, file:, runs:/<run_id>/<path>, models:/<name>/<version>"
        ", models:/<name>@<alias> or models:/<name>/<stage> (alias and stage are followed); "
        "repeat for several models (env MLGRPC_MODEL_URI, comma-separated)",
    )
    parser.add_argument(
        "-p", "--port", type=int, default=int(env("MLGRPC_SCORING_PORT", DEFAULT_PORT))
    )
    parser.add_argument("--host", default=env("MLGRPC_HOST", "127.0.0.1"))
    parser.add_argument(
        "--http-port",
        type=int,
        default=int(env("MLGRPC_SCORING_HTTP_PORT")) if env("MLGRPC_SCORING_HTTP_PORT") else None,
        help="also answer HTTP on this port: MLflow's POST /invocations (and /ping, /health, "
        "/version) and the Open Inference Protocol's REST API (/v2/…), with the same models, "
        "tokens and TLS as the gRPC port (env MLGRPC_SCORING_HTTP_PORT; default: off)",
    )
    parser.add_argument(
        "-w",
        "--workers",
        type=int,
        default=int(env("MLGRPC_SCORING_WORKERS", "1")),
        help="server processes sharing the port (SO_REUSEPORT); default 1",
    )
    parser.add_argument(
        "--registry-address",
        default=env("MLGRPC_REGISTRY_ADDRESS", env("MLGRPC_REGISTRY_URI", "127.0.0.1:50052")),
        help="HOST:PORT of the registry, for models:/ URIs "
        "(env MLGRPC_REGISTRY_ADDRESS; default %(default)s)",
    )
    parser.add_argument(
        "--tracking-address",
        default=env("MLGRPC_TRACKING_ADDRESS", env("MLGRPC_TRACKING_URI", "127.0.0.1:50051")),
        help="HOST:PORT of the tracking service, for runs:/ model files "
        "(env MLGRPC_TRACKING_ADDRESS; default %(default)s)",
    )
    parser.add_argument(
        "--allow-pickle",
        action="store_true",
        default=_env_flag("MLGRPC_ALLOW_PICKLE"),
        help="allow pickle/cloudpickle models (loading them runs code from the file)",
    )
    parser.add_argument(
        "--max-batch-size", type=int, default=int(env("MLGRPC_MAX_BATCH_SIZE", "0"))
    )
    parser.add_argument(
        "--max-batch-time",
        type=float,
        default=float(env("MLGRPC_MAX_BATCH_TIME_MS", "0")),
        help="milliseconds to wait to fill a batch (adaptive batching; 0 = off)",
    )
    parser.add_argument(
        "--max-request-rows",
        type=int,
        default=int(env("MLGRPC_MAX_REQUEST_ROWS", str(DEFAULT_MAX_REQUEST_ROWS))),
        help="larger requests are RESOURCE_EXHAUSTED (default %(default)s)",
    )
    parser.add_argument("--cache-dir", type=Path, default=default_cache_dir())
    parser.add_argument("--threads", type=int, default=int(env("MLGRPC_SCORING_THREADS", "16")))
    parser.add_argument(
        "--server-kind",
        choices=("sync", "aio"),
        default=env("MLGRPC_SERVER_KIND", "sync"),
        help="thread-pool server (default) or grpc.aio event loop",
    )
    parser.add_argument(
        "--wait-full-load",
        action="store_true",
        default=_env_flag("MLGRPC_WAIT_FULL_LOAD"),
        help="report SERVING only once scikit-learn has loaded every model; by default a "
        "single sync process serves plain linear models from their weights (numpy only) "
        "while the full model loads (env MLGRPC_WAIT_FULL_LOAD=true)",
    )
    parser.add_argument(
        "--enable-model-control",
        action="store_true",
        default=_env_flag("MLGRPC_ENABLE_MODEL_CONTROL"),
        help="allow the LoadModel/UnloadModel RPCs (off by default; without --auth anyone who "
        "reaches the port may then change the served models; with --auth admin tokens may "
        "call them even without this flag) (env MLGRPC_ENABLE_MODEL_CONTROL=true)",
    )
    parser.add_argument("--log-level", default=env("MLGRPC_LOG_LEVEL", "INFO"))
    add_observability_arguments(parser, "scoring")
    add_tls_arguments(parser)
    _add_auth_arguments(parser)
    return parser


def _add_auth_arguments(parser: argparse.ArgumentParser) -> None:
    env = os.environ.get
    parser.add_argument(
        "--auth",
        action="store_true",
        default=_env_flag("MLGRPC_AUTH"),
        help="check bearer tokens: LoadModel/UnloadModel are allowed to admin tokens only; "
        "inference stays open unless --require-token (env MLGRPC_AUTH=true)",
    )
    parser.add_argument(
        "--require-token",
        action="store_true",
        default=_env_flag("MLGRPC_REQUIRE_TOKEN"),
        help="Predict, ModelInfer and the metadata RPCs need a valid token too; implies --auth "
        "(env MLGRPC_REQUIRE_TOKEN=true)",
    )
    parser.add_argument(
        "--auth-backend-store-uri",
        default=env("MLGRPC_AUTH_BACKEND_STORE_URI")
        or env("MLGRPC_BACKEND_STORE_URI", "sqlite:///mlgrpc.db"),
        help="the shared database holding the tokens (env MLGRPC_AUTH_BACKEND_STORE_URI, "
        "else MLGRPC_BACKEND_STORE_URI; default %(default)s)",
    )


def config_from_args(
    args: argparse.Namespace,
    tls: tuple[TlsServerConfig | None, TlsChannelConfig | None] = (None, None),
) -> ServeConfig:
    uris = list(args.model_uri) or [
        u for u in os.environ.get("MLGRPC_MODEL_URI", "").split(",") if u.strip()
    ]
    return ServeConfig(
        models=tuple(ModelSpec.parse(u.strip()) for u in uris),
        host=args.host,
        port=args.port,
        http_port=args.http_port,
        workers=max(1, args.workers),
        registry_address=args.registry_address,
        tracking_address=args.tracking_address,
        allow_pickle=args.allow_pickle,
        max_batch_size=args.max_batch_size,
        max_batch_time_ms=args.max_batch_time,
        max_request_rows=args.max_request_rows,
        cache_dir=args.cache_dir,
        threads=args.threads,
        server_kind=args.server_kind,
        metrics_port=args.metrics_port,
        tls=tls[0],
        peer_tls=tls[1],
        model_control=args.enable_model_control,
        auth=args.auth or args.require_token,
        require_token=args.require_token,
        auth_backend_store_uri=args.auth_backend_store_uri,
    )


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    tls = tls_from_args(parser, args)
    from mlgrpc_server.observability.logs import configure_logging

    configure_logging(
        args.log_level,
        args.log_format,
        text_format="%(asctime)s %(process)d %(name)s: %(message)s",
    )
    config = config_from_args(args, tls)
    if not config.models:
        print("mlgrpc models serve: give at least one -m/--model-uri", file=sys.stderr)
        return 2
    if config.workers > 1:
        from scoring_service.workers.pool import run_workers

        return run_workers(config)
    if config.auth and config.server_kind == "aio":
        print("mlgrpc models serve: --auth needs --server-kind sync", file=sys.stderr)
        return 2
    if config.http_port is not None and config.server_kind == "aio":
        print("mlgrpc models serve: --http-port needs --server-kind sync", file=sys.stderr)
        return 2
    if config.server_kind == "aio":
        from scoring_service.aio_server import run

        return run(config)
    return _serve_single(config, early_start=not args.wait_full_load)


def _serve_single(config: ServeConfig, *, early_start: bool = False) -> int:
    from mlgrpc_server.errors import ServiceError
    from mlgrpc_server.signals import StopSignal
    from scoring_service.server import create_server

    stop = StopSignal.install()  # before the server reports SERVING
    failures: list[str] = []

    def on_load_failure(exc: BaseException) -> None:
        failures.append(exc.message if isinstance(exc, ServiceError) else str(exc))
        stop.set()

    try:
        server = create_server(config, early_start=early_start, on_load_failure=on_load_failure)
    except ServiceError as exc:
        print(f"mlgrpc models serve: {exc.message}", file=sys.stderr)
        return 1
    except RuntimeError as exc:  # grpc: failed to bind
        print(f"mlgrpc models serve: {exc}", file=sys.stderr)
        return 1
    names = ", ".join(f"{m.name} v{m.version}" for m in server.manager.registry.all())
    logger.info("serving %s on %s:%d", names, config.host, server.port)
    if server.http is not None:
        logger.info("HTTP (/invocations, /v2) on %s:%d", config.host, server.http.port)
    stop.wait()
    server.stop(grace=5)
    if failures:  # the full load behind an early start failed: exit as a failed start does
        print(f"mlgrpc models serve: {failures[0]}", file=sys.stderr)
        return 1
    return 0
