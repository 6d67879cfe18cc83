"""`mlgrpc server registry` / `python -m registry_service`: run the model-registry service.

Every flag falls back to an environment variable, then to a default that works on a laptop.
"""

from __future__ import annotations

import argparse
import os

from mlgrpc_server.artifact_flags import add_artifact_arguments
from mlgrpc_server.auth.flags import add_auth_argument
from mlgrpc_server.db import DEFAULT_SQLITE_URI
from mlgrpc_server.observability.flags import add_observability_arguments
from mlgrpc_server.tls import add_tls_arguments, tls_from_args

DEFAULT_PORT = 50052
DEFAULT_TRACKING_ADDRESS = "127.0.0.1:50051"


def build_parser() -> argparse.ArgumentParser:
    env = os.environ.get
    parser = argparse.ArgumentParser(
        prog="mlgrpc server registry", description="Run the mlgrpc model-registry service."
    )
    parser.add_argument(
        "--backend-store-uri",
        default=env("MLGRPC_BACKEND_STORE_URI", DEFAULT_SQLITE_URI),
        help="SQLAlchemy URI of the database (env MLGRPC_BACKEND_STORE_URI; default %(default)s)",
    )
    parser.add_argument(
        "--tracking-address",
        default=env("MLGRPC_TRACKING_ADDRESS", DEFAULT_TRACKING_ADDRESS),
        help="HOST:PORT of the tracking service, asked about runs "
        "(env MLGRPC_TRACKING_ADDRESS; default %(default)s)",
    )
    parser.add_argument(
        "--host", default=env("MLGRPC_HOST", "127.0.0.1"), help="address to bind (env MLGRPC_HOST)"
    )
    parser.add_argument(
        "--port",
        type=int,
        default=int(env("MLGRPC_REGISTRY_PORT", str(DEFAULT_PORT))),
        help="port to bind, 0 for a free one (env MLGRPC_REGISTRY_PORT; default %(default)s)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=int(env("MLGRPC_REGISTRY_WORKERS", "32")),
        help="threads serving calls, watch streams included "
        "(env MLGRPC_REGISTRY_WORKERS; default %(default)s)",
    )
    parser.add_argument(
        "--log-level",
        default=env("MLGRPC_LOG_LEVEL", "INFO"),
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        type=str.upper,
        help="log level (env MLGRPC_LOG_LEVEL; default %(default)s)",
    )
    add_observability_arguments(parser, "registry")
    add_tls_arguments(parser)
    add_auth_argument(parser)
    add_artifact_arguments(
        parser,
        "the tracking service's artifact root: model-version sources that are not runs:/ URIs "
        "must lie under it",
    )
    return parser


def main(argv: list[str]) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    tls, tracking_tls = tls_from_args(parser, args)
    # Imported after parsing so that --help answers without loading grpc and SQLAlchemy.
    from mlgrpc_server import service_cli
    from registry_service.server import create_server

    service_cli.configure_logging(args.log_level, args.log_format)
    return service_cli.serve(
        "mlgrpc server registry",
        lambda: create_server(
            backend_store_uri=args.backend_store_uri,
            tracking_address=args.tracking_address,
            host=args.host,
            port=args.port,
            max_workers=args.workers,
            metrics_port=args.metrics_port or None,
            tls=tls,
            tracking_tls=tracking_tls,
            auth=args.auth,
            artifact_root=args.default_artifact_root,
            allow_artifact_locations_outside_root=args.allow_artifact_locations_outside_root,
        ),
        host=args.host,
        port=args.port,
    )
