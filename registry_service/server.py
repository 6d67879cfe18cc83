"""Building the registry's gRPC server: store, tracking client, servicer, health, reflection."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mlgrpc.registry.v1 import registry_service_pb2_grpc as pb_grpc
from mlgrpc.service_support import REGISTRY_DOMAIN
from mlgrpc_server.artifact_flags import DEFAULT_ARTIFACT_ROOT
from mlgrpc_server.artifact_locations import ArtifactLocations
from mlgrpc_server.auth.interceptor import auth_interceptors
from mlgrpc_server.auth.rules import REGISTRY_RULES
from mlgrpc_server.bootstrap import RunningServer, start_server
from mlgrpc_server.db import create_db_engine
from mlgrpc_server.observability.setup import observe_server
from mlgrpc_server.schema import ensure_schema
from registry_service.servicer import ModelRegistryServicer
from registry_service.store import SqlRegistryStore
from registry_service.tracking_client import TrackingClient
from registry_service.watch import DEFAULT_POLL_SECONDS, ChangeNotifier

if TYPE_CHECKING:
    from mlgrpc_server.tls import TlsChannelConfig, TlsServerConfig

logger = logging.getLogger(__name__)

SERVICE_NAME = "mlgrpc.registry.v1.ModelRegistryService"


@dataclass
class RegistryRunningServer(RunningServer):
    """A running registry: stopping it first ends the watch streams, then drains the rest."""

    notifier: ChangeNotifier | None = None

    def stop(self, grace: float | None = 10.0) -> None:
        if self.notifier is not None:
            self.notifier.close()
        super().stop(grace)


def create_server(
    *,
    backend_store_uri: str,
    tracking_address: str,
    host: str = "127.0.0.1",
    port: int = 0,
    max_workers: int = 32,
    watch_poll_seconds: float = DEFAULT_POLL_SECONDS,
    metrics_port: int | None = None,
    tls: TlsServerConfig | None = None,
    tracking_tls: TlsChannelConfig | None = None,
    auth: bool = False,
    tracking_token: str | None = None,
    artifact_root: str = DEFAULT_ARTIFACT_ROOT,
    allow_artifact_locations_outside_root: bool = False,
) -> RunningServer:
    """Start the registry on `host:port` (0: a free port) and return it running.

    An empty database is migrated first; one at another schema revision raises
    `mlgrpc_server.schema.SchemaMismatch` before anything listens. The tracking service need
    not be up: only CreateModelVersion with a run needs it. With `tls` the port speaks TLS
    only; with `tracking_tls` the tracking service is called over TLS. With `auth` every call
    needs a bearer token (see `mlgrpc_server.auth`); calls to the tracking service send
    `tracking_token` (default: MLGRPC_TOKEN).
    """
    engine = create_db_engine(backend_store_uri, pool_size=max_workers)
    tracking = TrackingClient(tracking_address, tls=tracking_tls, token=tracking_token)
    # Request ids always; metrics on http://host:metrics_port/metrics when a port is given.
    observability = observe_server(metrics_port=metrics_port, host=host)
    try:
        ensure_schema(engine)
        notifier = ChangeNotifier()
        servicer = ModelRegistryServicer(
            SqlRegistryStore(engine),
            tracking,
            notifier,
            ArtifactLocations(
                artifact_root, allow_outside_root=allow_artifact_locations_outside_root
            ),
            watch_poll_seconds=watch_poll_seconds,
        )
        started = start_server(
            register=lambda server: pb_grpc.add_ModelRegistryServiceServicer_to_server(
                servicer, server
            ),
            service_names=[SERVICE_NAME],
            domain=REGISTRY_DOMAIN,
            host=host,
            port=port,
            max_workers=max_workers,
            interceptors=[
                observability.interceptor,
                *auth_interceptors(engine, REGISTRY_RULES, auth),
            ],
            tls=tls,
        )
    except BaseException:
        observability.close()
        tracking.close()
        engine.dispose()
        raise
    running = RegistryRunningServer(
        server=started.server,
        port=started.port,
        health=started.health,
        service_names=started.service_names,
        on_stop=[tracking.close, engine.dispose, observability.close],
        notifier=notifier,
    )
    return running
