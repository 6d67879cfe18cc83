"""`mlgrpc server gateway` / `python -m gateway`: MLflow's REST API on HTTP, in front of the
tracking service. Every flag falls back to an environment variable, then to a laptop default."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import uvicorn

DEFAULT_PORT = 5000  # `mlflow server`'s port: the one an MLflow user's URIs already name
DEFAULT_TRACKING_ADDRESS = "127.0.0.1:50051"
DEFAULT_REGISTRY_ADDRESS = "127.0.0.1:50052"


def build_parser() -> argparse.ArgumentParser:
    env = os.environ.get
    parser = argparse.ArgumentParser(
        prog="mlgrpc server gateway",
        description="Serve MLflow's REST API (tracking, model registry, artifacts) backed by "
        "the mlgrpc services; point MLflow's client at it with MLFLOW_TRACKING_URI=http://HOST:PORT.",
    )
    parser.add_argument(
        "--tracking-address",
        default=env("MLGRPC_TRACKING_ADDRESS", DEFAULT_TRACKING_ADDRESS),
        help="the tracking service: HOST:PORT, grpc://… or grpcs://… (TLS from MLGRPC_TLS_CA / "
        "MLGRPC_TLS_CERT / MLGRPC_TLS_KEY, token from MLGRPC_TOKEN) "
        "(env MLGRPC_TRACKING_ADDRESS; default %(default)s)",
    )
    parser.add_argument(
        "--registry-address",
        default=env("MLGRPC_REGISTRY_ADDRESS", DEFAULT_REGISTRY_ADDRESS),
        help="the registry service, for MLflow's registered-models/* and model-versions/* "
        "(same forms and TLS as --tracking-address; an empty value serves no registry "
        "endpoints) (env MLGRPC_REGISTRY_ADDRESS; default %(default)s)",
    )
    parser.add_argument(
        "--scoring-address",
        default=env("MLGRPC_SCORING_ADDRESS", ""),
        help="a scoring service the web UI's registry page asks which versions it serves "
        "(same forms and TLS as --tracking-address; empty: none is asked) "
        "(env MLGRPC_SCORING_ADDRESS; default none)",
    )
    parser.add_argument(
        "--host", default=env("MLGRPC_HOST", "127.0.0.1"), help="address to bind (env MLGRPC_HOST)"
    )
    parser.add_argument(
        "--port",
        type=int,
        default=int(env("MLGRPC_GATEWAY_PORT", str(DEFAULT_PORT))),
        help="port to bind (env MLGRPC_GATEWAY_PORT; default %(default)s)",
    )
    tls = parser.add_argument_group(
        "HTTPS (off unless both are given; the TLS of the calls to the services is MLGRPC_TLS_*)"
    )
    tls.add_argument(
        "--tls-cert",
        default=env("MLGRPC_GATEWAY_TLS_CERT") or None,
        metavar="PEM",
        help="certificate chain the gateway presents (env MLGRPC_GATEWAY_TLS_CERT)",
    )
    tls.add_argument(
        "--tls-key",
        default=env("MLGRPC_GATEWAY_TLS_KEY") or None,
        metavar="PEM",
        help="private key of --tls-cert (env MLGRPC_GATEWAY_TLS_KEY)",
    )
    parser.add_argument(
        "--log-level",
        default=env("MLGRPC_LOG_LEVEL", "INFO"),
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        type=str.upper,
        help="log level (env MLGRPC_LOG_LEVEL; default %(default)s)",
    )
    return parser


def check_https(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Refuse at start-up (one line, exit status 2) a certificate without its key, an unreadable
    file or a key of another certificate, rather than fail every handshake later."""
    from mlgrpc_server.tls import TlsConfigError, TlsServerConfig

    if not args.tls_cert and not args.tls_key:
        return
    if not args.tls_cert or not args.tls_key:
        missing = "--tls-key" if args.tls_cert else "--tls-cert"
        parser.exit(2, f"{parser.prog}: HTTPS needs a certificate and its key: give {missing}\n")
    try:
        TlsServerConfig.from_files(args.tls_cert, args.tls_key)
    except TlsConfigError as error:
        parser.exit(2, f"{parser.prog}: {error}\n")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    check_https(parser, args)
    logging.basicConfig(
        level=args.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )

    import uvicorn

    from gateway.app import create_app
    from mlgrpc.exceptions import MlgrpcException

    try:
        app = create_app(
            args.tracking_address,
            registry_address=args.registry_address or None,
            scoring_address=args.scoring_address or None,
        )
    except MlgrpcException as error:  # an address the client cannot read
        print(f"mlgrpc server gateway: {error}", file=sys.stderr)
        return 2
    # uvicorn handles SIGINT/SIGTERM itself (requests in flight finish), then re-raises the
    # signal to the handler it found: a no-op one makes the exit status 0, as the services'.
    for stop_signal in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop_signal, lambda *_: None)
    config = uvicorn_config(
        app,
        host=args.host,
        port=args.port,
        log_level=args.log_level.lower(),
        ssl_certfile=args.tls_cert,
        ssl_keyfile=args.tls_key,
    )
    server = uvicorn.Server(config)
    server.run()
    return 0 if server.started else 1


def uvicorn_config(app: Any, **options: Any) -> uvicorn.Config:
    """uvicorn's settings for the gateway, with `options` (this CLI's server and the tests')."""
    import uvicorn

    # The UI channel's answers (a runs page is ~25 KB of JSON) are not compressed: deflating and
    # inflating each one costs the gateway and the browser more CPU than sending the bytes saved
    # takes on the networks a UI is used over (bench/README.md, "Web UI").
    return uvicorn.Config(app, ws_per_message_deflate=False, **options)
