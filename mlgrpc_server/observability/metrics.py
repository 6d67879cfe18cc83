"""The Prometheus metrics of one gRPC server and the HTTP endpoint that exposes them.

Names and labels follow go-grpc-prometheus, which Grafana dashboards for gRPC expect:
`grpc_server_handled_total{grpc_type, grpc_service, grpc_method, grpc_code}` counts finished
calls by status (errors are the codes other than OK) and `grpc_server_handling_seconds` is the
latency histogram per method. Scoring adds `mlgrpc_model_requests_total` and
`mlgrpc_model_request_seconds` per model name and version (an HTTP scoring request carries its
route, e.g. `POST /invocations`, where a gRPC one has its method), and its HTTP port
`http_server_requests_total{method, route, status}` and `http_server_request_duration_seconds`
(routes as templates, `/v2/models/{name}/infer`, so that a label never holds a model name).

Each server has its own `CollectorRegistry`, so that two servers in one process (tests, or an
embedding program) do not mix their counts. Several scoring worker processes use prometheus
multiprocess mode instead: every worker writes its values to files under
`PROMETHEUS_MULTIPROC_DIR`, and the parent's endpoint sums them (`enable_multiprocess`).
"""

from __future__ import annotations

import os
import threading
from typing import Any

import grpc
from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server

from mlgrpc_server.observability.request_context import CallRecord

MULTIPROCESS_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"

#: Seconds. Finer than prometheus_client's defaults at the low end: a tracking call takes
#: ~0.2-1 ms and a Predict ~0.1-0.5 ms, which the default 5 ms first bucket would not resolve.
LATENCY_BUCKETS = (
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
    1.0, 2.5, 5.0, 10.0, 30.0,
)  # fmt: skip

_RPC_LABELS = ("grpc_type", "grpc_service", "grpc_method")
_MODEL_LABELS = ("model_name", "model_version", "grpc_method")


def multiprocess_mode() -> bool:
    """Whether this process records into prometheus multiprocess files."""
    return bool(os.environ.get(MULTIPROCESS_DIR_ENV))


def enable_multiprocess(directory: str) -> None:
    """Record every metric created from now on into files under `directory`.

    Called by a parent process before it forks workers; prometheus_client chooses how values
    are stored when it is imported, so the choice is made again here.
    """
    from prometheus_client import values

    os.environ[MULTIPROCESS_DIR_ENV] = directory
    values.ValueClass = values.get_value_class()


def split_method(full_method: str) -> tuple[str, str]:
    """`/pkg.Service/Method` → (`pkg.Service`, `Method`)."""
    _, _, rest = full_method.partition("/")
    service, _, method = rest.partition("/")
    return service, method


class MethodMetrics:
    """The metric children of one RPC method, looked up once instead of per call.

    `labels()` validates and hashes its arguments under a lock (~1.5 µs); a dict hit is ~50 ns.
    """

    __slots__ = ("_owner", "_labels", "_method", "_seconds", "_handled")

    def __init__(self, owner: GrpcMetrics, rpc_type: str, full_method: str) -> None:
        service, method = split_method(full_method)
        self._owner = owner
        self._labels = (rpc_type, service, method)
        self._method = method
        self._seconds = owner.handling_seconds.labels(*self._labels)
        self._handled: dict[grpc.StatusCode, Any] = {}

    def observe(self, code: grpc.StatusCode, seconds: float, call: CallRecord | None) -> None:
        counter = self._handled.get(code)
        if counter is None:
            # A race here only creates the same child twice: labels() returns one object.
            counter = self._owner.handled.labels(*self._labels, code.name)
            self._handled[code] = counter
        counter.inc()
        self._seconds.observe(seconds)
        if call is not None and call.model_name is not None:
            self._owner.observe_model(
                call.model_name, call.model_version or "", self._method, code, seconds
            )


class GrpcMetrics:
    """The counters and histograms of one server."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.handled = Counter(
            "grpc_server_handled",
            "RPCs completed on the server, by method and gRPC status code.",
            (*_RPC_LABELS, "grpc_code"),
            registry=registry,
        )
        self.handling_seconds = Histogram(
            "grpc_server_handling_seconds",
            "Time from the start of an RPC's handler to its end (streams: the whole stream).",
            _RPC_LABELS,
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.model_handled = Counter(
            "mlgrpc_model_requests",
            "Scoring requests (Predict, ModelInfer) by the model and version that answered.",
            (*_MODEL_LABELS, "grpc_code"),
            registry=registry,
        )
        self.model_seconds = Histogram(
            "mlgrpc_model_request_seconds",
            "Latency of scoring requests by the model and version that answered.",
            _MODEL_LABELS,
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.http_requests = Counter(
            "http_server_requests",
            "HTTP requests completed (the scoring service's HTTP port), by route and status.",
            ("method", "route", "status"),
            registry=registry,
        )
        self.http_seconds = Histogram(
            "http_server_request_duration_seconds",
            "Time from an HTTP request's arrival to its answer, by route.",
            ("method", "route"),
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self._methods: dict[str, MethodMetrics] = {}
        self._lock = threading.Lock()

    def method(self, rpc_type: str, full_method: str) -> MethodMetrics:
        found = self._methods.get(full_method)
        if found is None:
            with self._lock:
                found = self._methods.get(full_method)
                if found is None:
                    found = MethodMetrics(self, rpc_type, full_method)
                    self._methods[full_method] = found
        return found

    def observe_model(
        self, name: str, version: str, method: str, code: grpc.StatusCode, seconds: float
    ) -> None:
        self.model_handled.labels(name, version, method, code.name).inc()
        self.model_seconds.labels(name, version, method).observe(seconds)

    def observe_http(self, method: str, route: str, status: int, seconds: float) -> None:
        self.http_requests.labels(method, route, str(status)).inc()
        self.http_seconds.labels(method, route).observe(seconds)


class MetricsEndpoint:
    """`GET /metrics` on `host:port`, served by a daemon thread."""

    def __init__(self, port: int, host: str, registry: CollectorRegistry) -> None:
        self._httpd, self._thread = start_http_server(port, addr=host, registry=registry)
        self.port: int = self._httpd.server_port
        self.host = host

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


def exposition_registry(registry: CollectorRegistry) -> CollectorRegistry:
    """What an endpoint serves: this process's registry, or every worker's files summed."""
    if not multiprocess_mode():
        return registry
    from prometheus_client import multiprocess

    merged = CollectorRegistry()
    multiprocess.MultiProcessCollector(merged)
    return merged
