"""The services' `--auth` flag (env MLGRPC_AUTH), kept free of heavy imports for `--help`."""

from __future__ import annotations

import argparse
import os

_TRUE = ("1", "true", "yes", "on")


def env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in _TRUE


def add_auth_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--auth",
        action="store_true",
        default=env_flag("MLGRPC_AUTH"),
        help="require a bearer token on every call (tokens: `mlgrpc tokens create`; "
        "env MLGRPC_AUTH=true; default off). Calls this service makes to others send "
        "MLGRPC_TOKEN",
    )
