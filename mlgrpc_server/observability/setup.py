"""What a service's `create_server` calls: the interceptor to install and the metrics endpoint.

Metrics are recorded only when they can be read: when the server has a metrics port, or when
the process is a worker in prometheus multiprocess mode (its parent serves the sum). Request
ids are always on: they cost ~1 µs and tie a client's error to the server's log line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import grpc

if TYPE_CHECKING:
    from mlgrpc_server.observability.metrics import GrpcMetrics, MetricsEndpoint


class MetricsPortError(RuntimeError):
    """The metrics port could not be bound."""


@dataclass
class ServerObservability:
    """The interceptor of one server, its metrics (None when off) and their endpoint."""

    interceptor: Any
    metrics: GrpcMetrics | None = None
    endpoint: MetricsEndpoint | None = None

    def close(self) -> None:
        if self.endpoint is not None:
            self.endpoint.close()
            self.endpoint = None


def _metrics(metrics_port: int | None) -> GrpcMetrics | None:
    import os

    from mlgrpc_server.observability.metrics import MULTIPROCESS_DIR_ENV

    if not metrics_port and not os.environ.get(MULTIPROCESS_DIR_ENV):
        return None
    from prometheus_client import CollectorRegistry

    from mlgrpc_server.observability.metrics import GrpcMetrics

    return GrpcMetrics(CollectorRegistry())


def start_metrics_endpoint(port: int, host: str, metrics: GrpcMetrics | None) -> MetricsEndpoint:
    """Serve `metrics` (or, in multiprocess mode, every worker's) on `host:port`."""
    from prometheus_client import CollectorRegistry

    from mlgrpc_server.observability.metrics import MetricsEndpoint, exposition_registry

    registry = metrics.registry if metrics is not None else CollectorRegistry()
    try:
        return MetricsEndpoint(port, host, exposition_registry(registry))
    except OSError as error:
        raise MetricsPortError(f"cannot serve metrics on {host}:{port}: {error}") from error


def observe_server(
    *, metrics_port: int | None = None, host: str = "127.0.0.1", aio: bool = False
) -> ServerObservability:
    """The interceptor for a new server and, with a metrics port, its running endpoint."""
    metrics = _metrics(metrics_port)
    interceptor: grpc.ServerInterceptor | grpc.aio.ServerInterceptor
    if aio:
        from mlgrpc_server.observability.aio_interceptor import AioObservabilityInterceptor

        interceptor = AioObservabilityInterceptor(metrics)
    else:
        from mlgrpc_server.observability.interceptor import ObservabilityInterceptor

        interceptor = ObservabilityInterceptor(metrics)
    endpoint = start_metrics_endpoint(metrics_port, host, metrics) if metrics_port else None
    return ServerObservability(interceptor, metrics, endpoint)
