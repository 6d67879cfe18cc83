"""16 clients creating versions of one model at once get 1…16, each exactly once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import grpc
from registry_rpc_helpers import unique_name

from mlgrpc.registry.v1 import registry_service_pb2 as pb
from mlgrpc.registry.v1 import registry_service_pb2_grpc as pb_grpc

CLIENTS = 16


def test_concurrent_create_model_version_numbers_are_1_to_16_once_each(
    registry, registry_server, model_source
) -> None:
    name = unique_name("race")
    registry.CreateRegisteredModel(pb.CreateRegisteredModelRequest(name=name))

    def create_one(_: int) -> int:
        # A channel and stub per client, so the calls really run side by side.
        with grpc.insecure_channel(registry_server) as channel:
            stub = pb_grpc.ModelRegistryServiceStub(channel)
            request = pb.CreateModelVersionRequest(name=name, source=model_source)
            return stub.CreateModelVersion(request, timeout=60).model_version.version

    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        versions = list(pool.map(create_one, range(CLIENTS)))
    assert sorted(versions) == list(range(1, CLIENTS + 1))
    stored = registry.SearchModelVersions(
        pb.SearchModelVersionsRequest(filter=f"name = '{name}'")
    ).model_versions
    assert sorted(mv.version for mv in stored) == list(range(1, CLIENTS + 1))
