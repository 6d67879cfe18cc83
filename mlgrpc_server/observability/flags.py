"""The observability options every service command takes, with their environment fallbacks.

argparse only: a service's `--help` must not import gRPC or prometheus_client.
"""

from __future__ import annotations

import argparse
import os

from mlgrpc_server.observability.logs import LOG_FORMATS


def _env_port(*names: str) -> int:
    for name in names:
        value = os.environ.get(name, "").strip()
        if value:
            return int(value)
    return 0


def add_observability_arguments(parser: argparse.ArgumentParser, service: str) -> None:
    """Add `--metrics-port` and `--log-format`; `service` names the env var (TRACKING, …)."""
    own = f"MLGRPC_{service.upper()}_METRICS_PORT"
    parser.add_argument(
        "--metrics-port",
        type=int,
        default=_env_port(own, "MLGRPC_METRICS_PORT"),
        help="serve Prometheus metrics on http://HOST:PORT/metrics, 0 = off "
        f"(env {own}, then MLGRPC_METRICS_PORT; default off)",
    )
    parser.add_argument(
        "--log-format",
        choices=LOG_FORMATS,
        default=os.environ.get("MLGRPC_LOG_FORMAT", "text").lower(),
        help="text lines or one JSON object per line, both with the request id "
        "(env MLGRPC_LOG_FORMAT; default %(default)s)",
    )
