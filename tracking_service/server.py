"""Building the tracking service's gRPC server: store, servicer, health, reflection, errors."""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from mlgrpc.service_support import TRACKING_DOMAIN
from mlgrpc.tracking.v1 import tracking_service_pb2_grpc as pb_grpc
from mlgrpc_server.artifact_locations import ArtifactLocations
from mlgrpc_server.bootstrap import RunningServer, start_server
from mlgrpc_server.db import create_db_engine
from mlgrpc_server.observability.setup import observe_server
from tracking_service.servicer import SERVICE_NAME, TrackingServicer

if TYPE_CHECKING:
    from mlgrpc_server.tls import TlsServerConfig

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
    metrics_port: int | None = None,
    tls: TlsServerConfig | None = None,
    auth: bool = False,
    allow_artifact_locations_outside_root: bool = False,
) -> RunningServer:
    """Start the tracking service on `host:port` (0: a free port) and return it running;
    with `tls` the port speaks TLS only.

    An empty database is migrated first; one at another schema revision raises
    `mlgrpc_server.schema.SchemaMismatch` before anything listens. With `auth` every call
    needs a bearer token of the database's `auth_tokens` (see `mlgrpc_server.auth`).
    Experiments may name artifact locations under `default_artifact_root` only, unless
    `allow_artifact_locations_outside_root` (see `mlgrpc_server.artifact_locations`).
    """
    # Imported here so that the servicer and its tests do not depend on SQLAlchemy models.
    from mlgrpc_server.auth.interceptor import auth_interceptors
    from mlgrpc_server.auth.rules import TRACKING_RULES
    from tracking_service.store.sql_store import SqlTrackingStore

    engine = create_db_engine(backend_store_uri, pool_size=max_workers)
    # Request ids always; metrics on http://host:metrics_port/metrics when a port is given.
    observability = observe_server(metrics_port=metrics_port, host=host)
    store: SqlTrackingStore | None = None
    try:
        root = normalise_artifact_root(default_artifact_root)
        store = SqlTrackingStore(engine, root)
        locations = ArtifactLocations(
            root, allow_outside_root=allow_artifact_locations_outside_root
        )
        # The store's duck-typed log_batch (MetricLike with settable attributes) does not match
        # the Protocol's frozen dataclasses for mypy, though it accepts them at run time.
        servicer = TrackingServicer(store, locations)  # type: ignore[arg-type]
        running = start_server(
            register=lambda server: pb_grpc.add_TrackingServiceServicer_to_server(servicer, server),
            service_names=[SERVICE_NAME],
            domain=TRACKING_DOMAIN,
            host=host,
            port=port,
            max_workers=max_workers,
            interceptors=[
                observability.interceptor,
                *auth_interceptors(engine, TRACKING_RULES, auth),
            ],
            tls=tls,
        )
    except BaseException:
        observability.close()
        if store is not None:
            store.dispose()  # its own engine and the one-trip engine of MySQL writes
        engine.dispose()
        raise
    running.on_stop.extend([store.dispose, engine.dispose, observability.close])
    return running
