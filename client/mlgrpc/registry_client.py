"""`RegistryClient`: the model-registry service, with MlflowClient's method names.

Failures raise the typed exceptions of `mlgrpc.exceptions`. Version numbers may be given as int
or as a decimal string (MLflow passes strings); they are returned as ints.
(The module is not called `mlgrpc/registry.py` because `mlgrpc.registry` is the package of the
generated stubs.)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TypeVar

from google.protobuf.message import Message

from mlgrpc import config
from mlgrpc._auth import with_client_token
from mlgrpc._channel import call_server_stream, call_unary, get_channel
from mlgrpc.exceptions import InvalidArgumentError
from mlgrpc.registry.v1 import registry_service_pb2 as pb
from mlgrpc.registry.v1 import registry_service_pb2_grpc as pb_grpc
from mlgrpc.registry_entities import ModelVersion, PagedList, RegisteredModel, ResolvedModelUri
from mlgrpc.tls import ClientTls

REGISTRY_SERVICE = "mlgrpc.registry.v1.ModelRegistryService"

R = TypeVar("R")


def _version(version: int | str) -> int:
    try:
        return int(version)
    except (TypeError, ValueError):
        raise InvalidArgumentError(
            f"version {version!r} is not a version number", field="version"
        ) from None


def _model_tags(tags: Mapping[str, str] | None) -> list[pb.RegisteredModelTag]:
    return [pb.RegisteredModelTag(key=k, value=str(v)) for k, v in (tags or {}).items()]


def _version_tags(tags: Mapping[str, str] | None) -> list[pb.ModelVersionTag]:
    return [pb.ModelVersionTag(key=k, value=str(v)) for k, v in (tags or {}).items()]


class RegistryClient:
    """A client of one registry service (`grpc://host:port`, default from `mlgrpc.config`);
    `grpcs://` speaks TLS with the files `tls_ca`, `tls_cert`, `tls_key` (as `MlgrpcClient`)."""

    def __init__(
        self,
        registry_uri: str | None = None,
        *,
        timeout: float | None = None,
        tls_ca: str | None = None,
        tls_cert: str | None = None,
        tls_key: str | None = None,
        token: str | None = None,
    ) -> None:
        self.registry_uri = registry_uri or config.get_registry_uri()
        tls = ClientTls.resolve(tls_ca, tls_cert, tls_key)
        self._stub = pb_grpc.ModelRegistryServiceStub(
            with_client_token(get_channel(self.registry_uri, REGISTRY_SERVICE, tls), token)
        )
        self._timeout = timeout

    def _call(self, method: Callable[..., R], request: Message) -> R:
        """One unary call with the client's deadline; failures become typed exceptions."""
        name = type(request).__name__.removesuffix("Request")
        return call_unary(method, request, name=name, timeout=self._timeout)

    # --- registered models --------------------------------------------------------------------

    def create_registered_model(
        self, name: str, tags: Mapping[str, str] | None = None, description: str | None = None
    ) -> RegisteredModel:
        response = self._call(
            self._stub.CreateRegisteredModel,
            pb.CreateRegisteredModelRequest(
                name=name, tags=_model_tags(tags), description=description or ""
            ),
        )
        return RegisteredModel.from_proto(response.registered_model)

    def get_registered_model(self, name: str) -> RegisteredModel:
        response = self._call(
            self._stub.GetRegisteredModel, pb.GetRegisteredModelRequest(name=name)
        )
        return RegisteredModel.from_proto(response.registered_model)

    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        response = self._call(
            self._stub.RenameRegisteredModel,
            pb.RenameRegisteredModelRequest(name=name, new_name=new_name),
        )
        return RegisteredModel.from_proto(response.registered_model)

    def update_registered_model(self, name: str, description: str | None = None) -> RegisteredModel:
        response = self._call(
            self._stub.UpdateRegisteredModel,
            pb.UpdateRegisteredModelRequest(name=name, description=description or ""),
        )
        return RegisteredModel.from_proto(response.registered_model)

    def delete_registered_model(self, name: str) -> None:
        self._call(self._stub.DeleteRegisteredModel, pb.DeleteRegisteredModelRequest(name=name))

    def search_registered_models(
        self,
        filter_string: str | None = None,
        max_results: int = 100,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[RegisteredModel]:
        response = self._call(
            self._stub.SearchRegisteredModels,
            pb.SearchRegisteredModelsRequest(
                filter=filter_string or "",
                max_results=max_results,
                order_by=list(order_by or ()),
                page_token=page_token or "",
            ),
        )
        return PagedList(
            [RegisteredModel.from_proto(m) for m in response.registered_models],
            response.next_page_token or None,
        )

    def set_registered_model_tag(self, name: str, key: str, value: object) -> None:
        self._call(
            self._stub.SetRegisteredModelTag,
            pb.SetRegisteredModelTagRequest(name=name, key=key, value=str(value)),
        )

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        self._call(
            self._stub.DeleteRegisteredModelTag,
            pb.DeleteRegisteredModelTagRequest(name=name, key=key),
        )

    # --- model versions --------------------------------------------------------------------

    def create_model_version(
        self,
        name: str,
        source: str,
        run_id: str | None = None,
        tags: Mapping[str, str] | None = None,
        run_link: str | None = None,
        description: str | None = None,
    ) -> ModelVersion:
        response = self._call(
            self._stub.CreateModelVersion,
            pb.CreateModelVersionRequest(
                name=name,
                source=source,
                run_id=run_id or "",
                tags=_version_tags(tags),
                run_link=run_link or "",
                description=description or "",
            ),
        )
        return ModelVersion.from_proto(response.model_version)

    def get_model_version(self, name: str, version: int | str) -> ModelVersion:
        response = self._call(
            self._stub.GetModelVersion,
            pb.GetModelVersionRequest(name=name, version=_version(version)),
        )
        return ModelVersion.from_proto(response.model_version)

    def update_model_version(
        self, name: str, version: int | str, description: str | None = None
    ) -> ModelVersion:
        response = self._call(
            self._stub.UpdateModelVersion,
            pb.UpdateModelVersionRequest(
                name=name, version=_version(version), description=description or ""
            ),
        )
        return ModelVersion.from_proto(response.model_version)

    def delete_model_version(self, name: str, version: int | str) -> None:
        self._call(
            self._stub.DeleteModelVersion,
            pb.DeleteModelVersionRequest(name=name, version=_version(version)),
        )

    def search_model_versions(
        self,
        filter_string: str | None = None,
        max_results: int = 10_000,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[ModelVersion]:
        response = self._call(
            self._stub.SearchModelVersions,
            pb.SearchModelVersionsRequest(
                filter=filter_string or "",
                max_results=max_results,
                order_by=list(order_by or ()),
                page_token=page_token or "",
            ),
        )
        return PagedList(
            [ModelVersion.from_proto(mv) for mv in response.model_versions],
            response.next_page_token or None,
        )

    def set_model_version_tag(self, name: str, version: int | str, key: str, value: object) -> None:
        self._call(
            self._stub.SetModelVersionTag,
            pb.SetModelVersionTagRequest(
                name=name, version=_version(version), key=key, value=str(value)
            ),
        )

    def delete_model_version_tag(self, name: str, version: int | str, key: str) -> None:
        self._call(
            self._stub.DeleteModelVersionTag,
            pb.DeleteModelVersionTagRequest(name=name, version=_version(version), key=key),
        )

    def get_model_version_download_uri(self, name: str, version: int | str) -> str:
        response = self._call(
            self._stub.GetModelVersionDownloadUri,
            pb.GetModelVersionDownloadUriRequest(name=name, version=_version(version)),
        )
        return response.artifact_uri

    def transition_model_version_stage(
        self, name: str, version: int | str, stage: str, archive_existing_versions: bool = False
    ) -> ModelVersion:
        response = self._call(
            self._stub.TransitionModelVersionStage,
            pb.TransitionModelVersionStageRequest(
                name=name,
                version=_version(version),
                stage=stage,
                archive_existing_versions=archive_existing_versions,
            ),
        )
        return ModelVersion.from_proto(response.model_version)

    def get_latest_versions(
        self, name: str, stages: Sequence[str] | None = None
    ) -> list[ModelVersion]:
        response = self._call(
            self._stub.GetLatestVersions,
            pb.GetLatestVersionsRequest(name=name, stages=list(stages or ())),
        )
        return [ModelVersion.from_proto(mv) for mv in response.model_versions]

    # --- aliases, URIs, watch ---------------------------------------------------------------

    def set_registered_model_alias(self, name: str, alias: str, version: int | str) -> None:
        self._call(
            self._stub.SetRegisteredModelAlias,
            pb.SetRegisteredModelAliasRequest(name=name, alias=alias, version=_version(version)),
        )

    def delete_registered_model_alias(self, name: str, alias: str) -> None:
        self._call(
            self._stub.DeleteRegisteredModelAlias,
            pb.DeleteRegisteredModelAliasRequest(name=name, alias=alias),
        )

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        response = self._call(
            self._stub.GetModelVersionByAlias,
            pb.GetModelVersionByAliasRequest(name=name, alias=alias),
        )
        return ModelVersion.from_proto(response.model_version)

    def resolve_model_uri(self, model_uri: str) -> ResolvedModelUri:
        response = self._call(
            self._stub.ResolveModelUri, pb.ResolveModelUriRequest(model_uri=model_uri)
        )
        return ResolvedModelUri(
            model_version=ModelVersion.from_proto(response.model_version),
            storage_location=response.storage_location,
            run_id=response.run_id,
            artifact_path=response.artifact_path,
            model_id=response.model_id,
        )

    def watch_registered_model(
        self, name: str, *, timeout: float | None = None
    ) -> Iterator[RegisteredModel]:
        """The model now, then again whenever its aliases or stages change (until `timeout`)."""
        stream = call_server_stream(
            self._stub.WatchRegisteredModel,
            pb.WatchRegisteredModelRequest(name=name),
            name="WatchRegisteredModel",
            timeout=timeout,
        )
        for response in stream:
            yield RegisteredModel.from_proto(response.registered_model)
