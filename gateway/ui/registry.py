"""The registry page's calls, until the gateway serves MLflow's registry REST endpoints: the
registry service's gRPC contract, with the HTTP caller's token (as `TrackingCalls` does)."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from google.protobuf import json_format

from gateway.errors import RequestError
from mlgrpc._channel import call_unary, get_channel
from mlgrpc.registry.v1 import registry_service_pb2 as pb
from mlgrpc.registry.v1 import registry_service_pb2_grpc
from mlgrpc.registry_client import REGISTRY_SERVICE
from mlgrpc.tls import ClientTls

Json = dict[str, Any]
#: Versions listed on a model's page.
MAX_VERSIONS = 1000


class RegistryCalls:
    """Calls to one registry service; a failure raises `mlgrpc.exceptions`' typed error."""

    def __init__(self, address: str, tls: ClientTls | None = None) -> None:
        channel = get_channel(address, REGISTRY_SERVICE, tls)
        self._stub = registry_service_pb2_grpc.ModelRegistryServiceStub(channel)
        self._metadata: tuple[tuple[str, str], ...] = ()

    def as_caller(self, authorization: str | None) -> RegistryCalls:
        if not authorization:
            return self
        if not (authorization.isascii() and authorization.isprintable()):
            raise RequestError("The Authorization header is malformed.", "UNAUTHENTICATED")
        caller = RegistryCalls.__new__(RegistryCalls)
        caller._stub, caller._metadata = self._stub, (("authorization", authorization),)
        return caller

    def call(self, method: str, request: Any) -> Any:
        stub_method = functools.partial(getattr(self._stub, method), metadata=self._metadata)
        return call_unary(stub_method, request, name=method)


def _json(message: Any) -> Json:
    return json_format.MessageToDict(message, preserving_proto_field_name=True)


def list_models(registry: RegistryCalls, query: Mapping[str, str]) -> Json:
    name = query.get("q", "")
    escaped = name.replace("\\", "\\\\").replace("'", "\\'")
    request = pb.SearchRegisteredModelsRequest(
        filter=f"name ILIKE '%{escaped}%'" if name else "",
        max_results=1000,
        page_token=query.get("page_token", ""),
    )
    response = registry.call("SearchRegisteredModels", request)
    return {
        "registered_models": [_json(m) for m in response.registered_models],
        "next_page_token": response.next_page_token,
    }


def describe_model(registry: RegistryCalls, name: str) -> Json:
    model = registry.call("GetRegisteredModel", pb.GetRegisteredModelRequest(name=name))
    escaped = name.replace("\\", "\\\\").replace("'", "\\'")
    versions = registry.call(
        "SearchModelVersions",
        pb.SearchModelVersionsRequest(filter=f"name = '{escaped}'", max_results=MAX_VERSIONS),
    )
    return {
        "registered_model": _json(model.registered_model),
        "model_versions": [_json(v) for v in versions.model_versions],
    }


def set_alias(registry: RegistryCalls, name: str, body: Mapping[str, Any]) -> Json:
    alias = body.get("alias")
    if not isinstance(alias, str) or not alias:
        raise RequestError("Missing value for required parameter 'alias'.")
    version = _version(body.get("version"))
    request = pb.SetRegisteredModelAliasRequest(name=name, alias=alias, version=version)
    registry.call("SetRegisteredModelAlias", request)
    return {}


def delete_alias(registry: RegistryCalls, name: str, alias: str) -> Json:
    request = pb.DeleteRegisteredModelAliasRequest(name=name, alias=alias)
    registry.call("DeleteRegisteredModelAlias", request)
    return {}


def transition_stage(registry: RegistryCalls, name: str, body: Mapping[str, Any]) -> Json:
    stage = body.get("stage")
    if not isinstance(stage, str) or not stage:
        raise RequestError("Missing value for required parameter 'stage'.")
    request = pb.TransitionModelVersionStageRequest(
        name=name,
        version=_version(body.get("version")),
        stage=stage,
        archive_existing_versions=bool(body.get("archive_existing_versions", False)),
    )
    response = registry.call("TransitionModelVersionStage", request)
    return {"model_version": _json(response.model_version)}


def _version(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
        raise RequestError(f"version must be a positive integer, not {value!r}.")
    return int(value)
