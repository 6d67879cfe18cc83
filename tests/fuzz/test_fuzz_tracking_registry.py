"""Every RPC of the tracking and registry services, fuzzed on SQLite and MariaDB.

The RPCs are enumerated from the service descriptors, so a new RPC is fuzzed without an edit
here. The last test of the module checks that the database the fuzzing went through is still
consistent.
"""

from __future__ import annotations

import grpc
import pytest

from mlgrpc.registry.v1 import registry_service_pb2 as rpb
from mlgrpc.tracking.v1 import tracking_service_pb2 as tpb

from .db_consistency import check_database_consistent
from .proto_strategies import ProtoStrategies
from .rpc_fuzzing import fuzz_method, method_id, methods_of

TRACKING = tpb.DESCRIPTOR.services_by_name["TrackingService"]
REGISTRY = rpb.DESCRIPTOR.services_by_name["ModelRegistryService"]


@pytest.mark.parametrize("method", methods_of(TRACKING), ids=method_id)
def test_tracking_rpc_survives_generated_requests(
    method, tracking_channel: grpc.Channel, real_ids: dict[str, list]
) -> None:
    fuzz_method(tracking_channel, method, ProtoStrategies(real_ids))


@pytest.mark.parametrize("method", methods_of(REGISTRY), ids=method_id)
def test_registry_rpc_survives_generated_requests(
    method, registry_channel: grpc.Channel, real_ids: dict[str, list]
) -> None:
    fuzz_method(registry_channel, method, ProtoStrategies(real_ids))


def test_database_is_consistent_after_fuzzing(
    db_uri: str, real_ids: dict[str, list], tracking_channel: grpc.Channel
) -> None:
    check_database_consistent(db_uri)
