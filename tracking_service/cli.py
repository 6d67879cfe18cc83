"""`mlgrpc server tracking` / `python -m tracking_service`: run the tracking service.

Every flag falls back to an environment variable, then to a default that works on a laptop
(SQLite file and artifact directory in the working directory).
"""

from __future__ import annotations

import argparse
import os

from mlgrpc_server.artifact_flags import add_artifact_arguments
from mlgrpc_server.auth.flags import add_auth_argument
from mlgrpc_server.db import DEFAULT_SQLITE_URI
from mlgrpc_server.observability.flags import add_observability_arguments
from mlgrpc_server.tls import add_tls_arguments, tls_from_args

DEFAULT_PORT = 50051


def build_parser() -> argparse.ArgumentParser:
    env = os.environ.get
    parser = argparse.ArgumentParser(
        prog="mlgrpc server tracking", description="Run the mlgrpc tracking service."
    )
    parser.add_argument(
        "--backend-store-uri",
        default=env("MLGRPC_BACKEND_STORE_URI", DEFAULT_SQLITE_URI),
        help="SQLAlchemy URI of the database (env MLGRPC_BACKEND_STORE_URI; default %(default)s)",
    )
    add_artifact_arguments(
        parser,
        "where new experiments store artifacts; experiments may name locations under it only",
    )
    parser.add_argument(
        "--host", default=env("MLGRPC_HOST", "127.0.0.1"), help="address to bind (env MLGRPC_HOST)"
    )
    parser.add_argument(
        "--port",
        type=int,
        default=int(env("MLGRPC_TRACKING_PORT", str(DEFAULT_PORT))),
        help="port to bind, 0 for a free one (env MLGRPC_TRACKING_PORT; default %(default)s)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=int(env("MLGRPC_TRACKING_WORKERS", "16")),
        help="threads serving calls (env MLGRPC_TRACKING_WORKERS; default %(default)s)",
    )
    parser.add_argument(
        "--log-level",
        default=env("MLGRPC_LOG_LEVEL", "INFO"),
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        type=str.upper,
        help="log level (env MLGRPC_LOG_LEVEL; default %(default)s)",
    )
    add_observability_arguments(parser, "tracking")
    add_tls_arguments(parser, outgoing=False)
    add_auth_argument(parser)
    return parser


def main(argv: list[str]) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    tls, _ = tls_from_args(parser, args)
    # Imported after parsing so that --help answers without loading grpc and SQLAlchemy.
    from mlgrpc_server import service_cli
    from tracking_service.server import create_server

    service_cli.configure_logging(args.log_level, args.log_format)
    return service_cli.serve(
        "mlgrpc server tracking",
        lambda: create_server(
            backend_store_uri=args.backend_store_uri,
            default_artifact_root=args.default_artifact_root,
            host=args.host,
            port=args.port,
            max_workers=args.workers,
            metrics_port=args.metrics_port or None,
            tls=tls,
            auth=args.auth,
            allow_artifact_locations_outside_root=args.allow_artifact_locations_outside_root,
        ),
        host=args.host,
        port=args.port,
    )
