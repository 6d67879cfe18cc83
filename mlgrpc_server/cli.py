"""`mlgrpc db upgrade --backend-store-uri URI`: migrate the shared schema to the newest revision."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from sqlalchemy.exc import DBAPIError

from mlgrpc_server import schema
from mlgrpc_server.db import DEFAULT_SQLITE_URI, UnsupportedDatabase


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="mlgrpc db")
    sub = parser.add_subparsers(dest="action", required=True)
    up = sub.add_parser("upgrade", help="migrate the database to the newest schema")
    up.add_argument(
        "--backend-store-uri",
        default=os.environ.get("MLGRPC_BACKEND_STORE_URI", DEFAULT_SQLITE_URI),
        help="SQLAlchemy URI of the database (env MLGRPC_BACKEND_STORE_URI; default %(default)s)",
    )
    sub.add_parser("head", help="print the newest schema revision")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.action == "head":
        print(schema.head_revision())
        return 0
    try:
        schema.upgrade(args.backend_store_uri)
    except UnsupportedDatabase as error:
        print(f"mlgrpc db: {error}", file=sys.stderr)
        return 2
    except DBAPIError as error:
        print(f"mlgrpc db: cannot use the database: {error.orig}", file=sys.stderr)
        return 1
    print(f"database at schema revision {schema.head_revision()}")
    return 0
