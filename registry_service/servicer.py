"""`ModelRegistryService`: decode the request → call the store → encode the response.

Writes wake the watchers of this process (`ChangeNotifier.notify`) once committed.
CreateModelVersion first resolves a named run through the tracking service (over gRPC), and
checks its source where it is made: `runs:/` paths stay inside the run, a `models:/` source
copies the version it names, any other location must be one the deployment stores artifacts in
(`mlgrpc_server.artifact_locations`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TypeAlias

import grpc

from mlgrpc.registry.v1 import registry_service_pb2 as pb
from mlgrpc.registry.v1 import registry_service_pb2_grpc as pb_grpc
from mlgrpc.uris import MODELS_SCHEME
from mlgrpc_server.artifact_locations import ArtifactLocations
from mlgrpc_server.errors import InvalidArgument
from registry_service import convert
from registry_service.store import SqlRegistryStore
from registry_service.store import validation as v
from registry_service.tracking_client import LoggedModelLocation, TrackingClient
from registry_service.uris import parse_models_uri, parse_runs_source
from registry_service.watch import DEFAULT_POLL_SECONDS, ChangeNotifier, watch_registered_model

Ctx: TypeAlias = grpc.ServicerContext


def _refuse_other_run(run_id: str, source_run_id: str, source: str) -> None:
    if run_id and run_id != source_run_id:
        raise InvalidArgument(
            f"run_id {run_id!r} differs from the run {source_run_id!r} of source {source!r}; "
            "leave run_id empty or make them equal",
            field="run_id",
        )


class ModelRegistryServicer(pb_grpc.ModelRegistryServiceServicer):
    def __init__(
        self,
        store: SqlRegistryStore,
        tracking: TrackingClient,
        notifier: ChangeNotifier,
        locations: ArtifactLocations,
        *,
        watch_poll_seconds: float = DEFAULT_POLL_SECONDS,
    ) -> None:
        self._locations = locations
        self._store = store
        self._tracking = tracking
        self._notifier = notifier
        self._watch_poll_seconds = watch_poll_seconds

    # --- registered models --------------------------------------------------------------------

    def CreateRegisteredModel(
        self, request: pb.CreateRegisteredModelRequest, context: Ctx
    ) -> pb.CreateRegisteredModelResponse:
        model = self._store.create_registered_model(
            request.name, convert.tags_from_proto(request.tags), request.description
        )
        self._notifier.notify()
        return pb.CreateRegisteredModelResponse(
            registered_model=convert.registered_model_to_proto(model)
        )

    def GetRegisteredModel(
        self, request: pb.GetRegisteredModelRequest, context: Ctx
    ) -> pb.GetRegisteredModelResponse:
        model = self._store.get_registered_model(request.name)
        return pb.GetRegisteredModelResponse(
            registered_model=convert.registered_model_to_proto(model)
        )

    def RenameRegisteredModel(
        self, request: pb.RenameRegisteredModelRequest, context: Ctx
    ) -> pb.RenameRegisteredModelResponse:
        model = self._store.rename_registered_model(request.name, request.new_name)
        self._notifier.notify()
        return pb.RenameRegisteredModelResponse(
            registered_model=convert.registered_model_to_proto(model)
        )

    def UpdateRegisteredModel(
        self, request: pb.UpdateRegisteredModelRequest, context: Ctx
    ) -> pb.UpdateRegisteredModelResponse:
        model = self._store.update_registered_model(request.name, request.description)
        self._notifier.notify()
        return pb.UpdateRegisteredModelResponse(
            registered_model=convert.registered_model_to_proto(model)
        )

    def DeleteRegisteredModel(
        self, request: pb.DeleteRegisteredModelRequest, context: Ctx
    ) -> pb.DeleteRegisteredModelResponse:
        self._store.delete_registered_model(request.name)
        self._notifier.notify()
        return pb.DeleteRegisteredModelResponse()

    def SearchRegisteredModels(
        self, request: pb.SearchRegisteredModelsRequest, context: Ctx
    ) -> pb.SearchRegisteredModelsResponse:
        page = self._store.search_registered_models(
            request.filter, request.max_results, list(request.order_by), request.page_token
        )
        return pb.SearchRegisteredModelsResponse(
            registered_models=[convert.registered_model_to_proto(m) for m in page.items],
            next_page_token=page.next_page_token,
        )

    def SetRegisteredModelTag(
        self, request: pb.SetRegisteredModelTagRequest, context: Ctx
    ) -> pb.SetRegisteredModelTagResponse:
        self._store.set_registered_model_tag(request.name, request.key, request.value)
        self._notifier.notify()
        return pb.SetRegisteredModelTagResponse()

    def DeleteRegisteredModelTag(
        self, request: pb.DeleteRegisteredModelTagRequest, context: Ctx
    ) -> pb.DeleteRegisteredModelTagResponse:
        self._store.delete_registered_model_tag(request.name, request.key)
        self._notifier.notify()
        return pb.DeleteRegisteredModelTagResponse()

    # --- model versions --------------------------------------------------------------------

    def CreateModelVersion(
        self, request: pb.CreateModelVersionRequest, context: Ctx
    ) -> pb.CreateModelVersionResponse:
        v.validate_model_name(request.name)
        tags = convert.tags_from_proto(request.tags)
        v.validate_tags(tags)
        source = request.source
        if not source:
            raise InvalidArgument(
                "source is empty; give runs:/<run_id>/<path> or an artifact URI", field="source"
            )
        v.validate_text(source, v.MAX_SOURCE_LENGTH, field="source")
        v.validate_no_control_characters(source, field="source")
        run_id = request.run_id
        storage_location, artifact_path = source, ""
        model_id = request.model_id
        runs_source = parse_runs_source(source)
        logged = self._logged_model_of(source)
        if logged is not None:  # models:/m-<id>: an MLflow 3 LoggedModel
            if model_id and model_id != logged.model_id:
                raise InvalidArgument(
                    f"model_id {model_id!r} is not the logged model of source {source!r}",
                    field="model_id",
                )
            model_id, storage_location = logged.model_id, logged.artifact_location
            if logged.source_run_id:
                _refuse_other_run(run_id, logged.source_run_id, source)
            run_id = run_id or logged.source_run_id
        elif runs_source is not None:
            _refuse_other_run(run_id, runs_source.run_id, source)
            run_id, source = runs_source.run_id, runs_source.uri
        elif source.startswith(MODELS_SCHEME):
            # A copy of the version the URI names now (MLflow's copy_model_version).
            copied = self._store.resolve(parse_models_uri(source, field="source"))
            if copied.run_id:
                _refuse_other_run(run_id, copied.run_id, source)
            run_id = run_id or copied.run_id
            storage_location, artifact_path = copied.storage_location, copied.artifact_path
        else:
            source = storage_location = self._locations.check(source, field="source")
        if model_id and logged is None:
            self._tracking.get_logged_model(model_id)  # it must exist: NotFound otherwise
        if run_id:
            v.validate_run_id(run_id)
            run = self._tracking.get_run(run_id)
            if runs_source is not None:
                root = run.artifact_uri.rstrip("/")
                storage_location = f"{root}/{runs_source.path}" if runs_source.path else root
                artifact_path = runs_source.path
        version = self._store.create_model_version(
            request.name,
            source,
            run_id=run_id,
            storage_location=storage_location,
            artifact_path=artifact_path,
            tags=tags,
            run_link=request.run_link,
            description=request.description,
            model_id=model_id,
        )
        self._notifier.notify()
        return pb.CreateModelVersionResponse(model_version=convert.model_version_to_proto(version))

    def GetModelVersion(
        self, request: pb.GetModelVersionRequest, context: Ctx
    ) -> pb.GetModelVersionResponse:
        version = self._store.get_model_version(request.name, request.version)
        return pb.GetModelVersionResponse(model_version=convert.model_version_to_proto(version))

    def UpdateModelVersion(
        self, request: pb.UpdateModelVersionRequest, context: Ctx
    ) -> pb.UpdateModelVersionResponse:
        version = self._store.update_model_version(
            request.name, request.version, request.description
        )
        self._notifier.notify()
        return pb.UpdateModelVersionResponse(model_version=convert.model_version_to_proto(version))

    def DeleteModelVersion(
        self, request: pb.DeleteModelVersionRequest, context: Ctx
    ) -> pb.DeleteModelVersionResponse:
        self._store.delete_model_version(request.name, request.version)
        self._notifier.notify()
        return pb.DeleteModelVersionResponse()

    def SearchModelVersions(
        self, request: pb.SearchModelVersionsRequest, context: Ctx
    ) -> pb.SearchModelVersionsResponse:
        page = self._store.search_model_versions(
            request.filter, request.max_results, list(request.order_by), request.page_token
        )
        return pb.SearchModelVersionsResponse(
            model_versions=[convert.model_version_to_proto(mv) for mv in page.items],
            next_page_token=page.next_page_token,
        )

    def SetModelVersionTag(
        self, request: pb.SetModelVersionTagRequest, context: Ctx
    ) -> pb.SetModelVersionTagResponse:
        self._store.set_model_version_tag(request.name, request.version, request.key, request.value)
        self._notifier.notify()
        return pb.SetModelVersionTagResponse()

    def DeleteModelVersionTag(
        self, request: pb.DeleteModelVersionTagRequest, context: Ctx
    ) -> pb.DeleteModelVersionTagResponse:
        self._store.delete_model_version_tag(request.name, request.version, request.key)
        self._notifier.notify()
        return pb.DeleteModelVersionTagResponse()

    def GetModelVersionDownloadUri(
        self, request: pb.GetModelVersionDownloadUriRequest, context: Ctx
    ) -> pb.GetModelVersionDownloadUriResponse:
        version = self._store.get_model_version(request.name, request.version)
        return pb.GetModelVersionDownloadUriResponse(artifact_uri=version.storage_location)

    def TransitionModelVersionStage(
        self, request: pb.TransitionModelVersionStageRequest, context: Ctx
    ) -> pb.TransitionModelVersionStageResponse:
        version = self._store.transition_model_version_stage(
            request.name, request.version, request.stage, request.archive_existing_versions
        )
        self._notifier.notify()
        return pb.TransitionModelVersionStageResponse(
            model_version=convert.model_version_to_proto(version)
        )

    def GetLatestVersions(
        self, request: pb.GetLatestVersionsRequest, context: Ctx
    ) -> pb.GetLatestVersionsResponse:
        versions = self._store.get_latest_versions(request.name, list(request.stages))
        return pb.GetLatestVersionsResponse(
            model_versions=[convert.model_version_to_proto(mv) for mv in versions]
        )

    # --- aliases, URIs, watch ---------------------------------------------------------------

    def SetRegisteredModelAlias(
        self, request: pb.SetRegisteredModelAliasRequest, context: Ctx
    ) -> pb.SetRegisteredModelAliasResponse:
        self._store.set_registered_model_alias(request.name, request.alias, request.version)
        self._notifier.notify()
        return pb.SetRegisteredModelAliasResponse()

    def DeleteRegisteredModelAlias(
        self, request: pb.DeleteRegisteredModelAliasRequest, context: Ctx
    ) -> pb.DeleteRegisteredModelAliasResponse:
        self._store.delete_registered_model_alias(request.name, request.alias)
        self._notifier.notify()
        return pb.DeleteRegisteredModelAliasResponse()

    def GetModelVersionByAlias(
        self, request: pb.GetModelVersionByAliasRequest, context: Ctx
    ) -> pb.GetModelVersionByAliasResponse:
        version = self._store.get_model_version_by_alias(request.name, request.alias)
        return pb.GetModelVersionByAliasResponse(
            model_version=convert.model_version_to_proto(version)
        )

    def ResolveModelUri(
        self, request: pb.ResolveModelUriRequest, context: Ctx
    ) -> pb.ResolveModelUriResponse:
        parsed = parse_models_uri(request.model_uri)
        if parsed.model_id is not None:  # an MLflow 3 LoggedModel: the tracking service knows it
            logged = self._tracking.get_logged_model(parsed.model_id, field="model_uri")
            return pb.ResolveModelUriResponse(
                storage_location=logged.artifact_location,
                run_id=logged.source_run_id,
                model_id=logged.model_id,
            )
        version = self._store.resolve(parsed)
        return pb.ResolveModelUriResponse(
            model_version=convert.model_version_to_proto(version),
            storage_location=version.storage_location,
            run_id=version.run_id,
            artifact_path=version.artifact_path,
            model_id=version.model_id,
        )

    def _logged_model_of(self, source: str) -> LoggedModelLocation | None:
        """The LoggedModel a `models:/m-<id>` source names; None for any other source."""
        if not source.startswith(MODELS_SCHEME):
            return None
        parsed = parse_models_uri(source, field="source")
        if parsed.model_id is None:
            return None
        return self._tracking.get_logged_model(parsed.model_id, field="source")

    def WatchRegisteredModel(
        self, request: pb.WatchRegisteredModelRequest, context: Ctx
    ) -> Iterator[pb.WatchRegisteredModelResponse]:
        v.validate_model_name(request.name)
        # A cancelled or finished call wakes the loop, so that its thread is freed at once.
        context.add_callback(self._notifier.notify)
        for model in watch_registered_model(
            self._store,
            self._notifier,
            request.name,
            is_active=context.is_active,
            poll_seconds=self._watch_poll_seconds,
        ):
            yield pb.WatchRegisteredModelResponse(
                registered_model=convert.registered_model_to_proto(model)
            )
