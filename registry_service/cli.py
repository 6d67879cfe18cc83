"""`mlgrpc server registry` / `python -m registry_service`: run the model-registry service.

Every flag falls back to an environment variable, then to a default that works on a laptop.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from mlgrpc_server.db import DEFAULT_SQLITE_URI

logger = logging.getLogger("registry_service")

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
    return parser


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # Imported after parsing so that --help answers without loading grpc and SQLAlchemy.
    from sqlalchemy import exc as sa_exc

    from mlgrpc_server.bootstrap import serve_until_signalled
    from mlgrpc_server.schema import SchemaMismatch
    from registry_service.server import create_server

    try:
        running = create_server(
            backend_store_uri=args.backend_store_uri,
            tracking_address=args.tracking_address,
            host=args.host,
            port=args.port,
            max_workers=args.workers,
        )
    except SchemaMismatch as error:
        print(f"mlgrpc server registry: {error}", file=sys.stderr)
        return 2
    except sa_exc.DBAPIError as error:
        print(f"mlgrpc server registry: cannot use the database: {error.orig}", file=sys.stderr)
        return 1
    except RuntimeError as error:  # grpc: the port could not be bound
        print(
            f"mlgrpc server registry: cannot listen on {args.host}:{args.port}: {error}",
            file=sys.stderr,
        )
        return 1
    logger.info(
        "listening on %s:%d (tracking at %s)", args.host, running.port, args.tracking_address
    )
    serve_until_signalled(running)
    return 0
