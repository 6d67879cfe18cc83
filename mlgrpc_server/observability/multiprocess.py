"""Metrics of a pool of forked server processes, served by their parent on one port.

prometheus multiprocess mode: before forking, the parent points PROMETHEUS_MULTIPROC_DIR at a
fresh directory; each worker's counters and histograms are memory-mapped files there named by
its pid, and the parent's endpoint sums them per label set at every scrape. One scrape target
per pod, whatever the number of workers (one port per worker would need a target each).
"""

from __future__ import annotations

import os
import shutil
import tempfile

from mlgrpc_server.observability.metrics import (
    MULTIPROCESS_DIR_ENV,
    MetricsEndpoint,
    enable_multiprocess,
)
from mlgrpc_server.observability.setup import start_metrics_endpoint


class PooledMetrics:
    """Call `prepare()` before forking the workers, `serve()` after, `close()` at the end."""

    def __init__(self, port: int, host: str) -> None:
        self.port = port
        self.host = host
        self.directory: str | None = None
        self.endpoint: MetricsEndpoint | None = None

    def prepare(self) -> None:
        # An inherited directory may hold a dead pool's files: always start from an empty one.
        self.directory = tempfile.mkdtemp(prefix="mlgrpc-metrics-")
        enable_multiprocess(self.directory)

    def serve(self) -> None:
        # After forking: the workers must not inherit the listening socket.
        self.endpoint = start_metrics_endpoint(self.port, self.host, None)

    def close(self) -> None:
        if self.endpoint is not None:
            self.endpoint.close()
            self.endpoint = None
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
            if os.environ.get(MULTIPROCESS_DIR_ENV) == self.directory:
                del os.environ[MULTIPROCESS_DIR_ENV]
            self.directory = None
