"""The gateway's calls to the registry service (`ServiceCalls`). The registry's routes also need
the tracking service, to translate between MLflow's proxied artifact URIs and run-relative
sources: the tracking calls travel along, made with the same caller's credentials."""

from __future__ import annotations

from typing import Self

from gateway.service_calls import ServiceCalls
from gateway.tracking_calls import TrackingCalls
from mlgrpc.registry.v1 import registry_service_pb2_grpc
from mlgrpc.registry_client import REGISTRY_SERVICE
from mlgrpc.tls import ClientTls


class RegistryCalls(ServiceCalls):
    def __init__(self, address: str, tracking: TrackingCalls, tls: ClientTls | None = None) -> None:
        super().__init__(
            address, REGISTRY_SERVICE, registry_service_pb2_grpc.ModelRegistryServiceStub, tls
        )
        self.tracking = tracking

    def as_caller(self, authorization: str | None) -> Self:
        caller = super().as_caller(authorization)
        if caller is not self:
            caller.tracking = self.tracking.as_caller(authorization)
        return caller
