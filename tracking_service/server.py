"""Building the tracking service's gRPC server: store, servicer, health, reflection, errors."""

from __future__ import annotations

import logging
import os
from urllib.parse import urlparse

from mlgrpc.errors import TRACKING_DOMAIN
from mlgrpc.tracking.v1 import tracking_service_pb2_grpc as pb_grpc
from mlgrpc_server.bootstrap import RunningServer, start_server
from mlgrpc_server.db import create_db_engine
from tracking_service.servicer import SERVICE_NAME, TrackingServicer

logger = logging.getLogger(__name__)


def normalise_artifact_root(root: str) -> str:
    """Plain paths become absolute, so that runs record where their files really are."""
    scheme = urlparse(root).scheme
    if scheme == "" or len(scheme) == 1:
        return os.path.abspath(root)
    return root


def create_server(
    *,
    backend_store_uri: str,
    default_artifact_root: str,
    host: str = "127.0.0.1",
    port: int = 0,
    max_workers: int = 16,
) -> RunningServer:
    """Start the tracking service on `host:port` (0: a free port) and return it running.

    An empty database is migrated first; one at another schema revision raises
    `mlgrpc_server.schema.SchemaMismatch` before anything listens.
    """
    # Imported here so that the servicer and its tests do not depend on SQLAlchemy models.
    from tracking_service.store.sql_store import SqlTrackingStore

    engine = create_db_engine(backend_store_uri, pool_size=max_workers)
    try:
        store = SqlTrackingStore(engine, normalise_artifact_root(default_artifact_root))
        # The store's duck-typed log_batch (MetricLike with settable attributes) does not match
        # the Protocol's frozen dataclasses for mypy, though it accepts them at run time.
        servicer = TrackingServicer(store)  # type: ignore[arg-type]
        running = start_server(
            register=lambda server: pb_grpc.add_TrackingServiceServicer_to_server(servicer, server),
            service_names=[SERVICE_NAME],
            domain=TRACKING_DOMAIN,
            host=host,
            port=port,
            max_workers=max_workers,
        )
    except BaseException:
        engine.dispose()
        raise
    running.on_stop.append(engine.dispose)
    return running
