"""The LoggedModel and run input/output RPCs of TrackingService (MLflow 3): proto → domain,
one store call, domain → proto. Mixed into `servicer.TrackingServicer`."""

from __future__ import annotations

import grpc

from mlgrpc.tracking.v1 import logged_models_pb2 as lm
from mlgrpc_server.errors import InvalidArgument
from tracking_service import convert
from tracking_service import logged_model_convert as lc
from tracking_service.logged_model_domain import ModelIo
from tracking_service.store.interface import TrackingStore

#: Page size of SearchLoggedModels: (default when 0, maximum), as documented in the proto.
SEARCH_MODELS_PAGE = (100, 1000)


class LoggedModelRpcs:
    _store: TrackingStore

    def CreateLoggedModel(
        self, request: lm.CreateLoggedModelRequest, context: grpc.ServicerContext
    ):
        if not request.experiment_id:
            raise InvalidArgument("experiment_id is required", field="experiment_id")
        model = self._store.create_logged_model(
            request.experiment_id,
            name=convert.checked_name(request.name, "name"),
            model_type=convert.checked_name(request.model_type, "model_type"),
            source_run_id=request.source_run_id,
            params=request.params,  # type: ignore[arg-type]  # .key/.value, as the store reads
            tags=request.tags,  # type: ignore[arg-type]
        )
        return lm.CreateLoggedModelResponse(model=lc.logged_model_to_proto(model))

    def GetLoggedModel(self, request: lm.GetLoggedModelRequest, context: grpc.ServicerContext):
        model = self._store.get_logged_model(request.model_id, allow_deleted=request.allow_deleted)
        return lm.GetLoggedModelResponse(model=lc.logged_model_to_proto(model))

    def FinalizeLoggedModel(
        self, request: lm.FinalizeLoggedModelRequest, context: grpc.ServicerContext
    ):
        model = self._store.finalize_logged_model(
            request.model_id,
            lc.final_status_from_proto(request.status),
            convert.checked_name(request.status_message, "status_message"),
        )
        return lm.FinalizeLoggedModelResponse(model=lc.logged_model_to_proto(model))

    def SearchLoggedModels(
        self, request: lm.SearchLoggedModelsRequest, context: grpc.ServicerContext
    ):
        from tracking_service.servicer import page_size  # the one page-size rule

        page = self._store.search_logged_models(
            list(request.experiment_ids),
            filter_string=request.filter,
            order_by=[lc.order_from_proto(order) for order in request.order_by],
            max_results=page_size(request.max_results, SEARCH_MODELS_PAGE),
            page_token=request.page_token,
            datasets=[lc.dataset_filter_from_proto(item) for item in request.datasets],
        )
        response = lm.SearchLoggedModelsResponse(next_page_token=page.next_page_token)
        for model in page.items:
            lc.fill_logged_model(response.models.add(), model)
        return response

    def DeleteLoggedModel(
        self, request: lm.DeleteLoggedModelRequest, context: grpc.ServicerContext
    ):
        self._store.delete_logged_model(request.model_id)
        return lm.DeleteLoggedModelResponse()

    def SetLoggedModelTags(
        self, request: lm.SetLoggedModelTagsRequest, context: grpc.ServicerContext
    ):
        self._store.set_logged_model_tags(request.model_id, request.tags)  # type: ignore[arg-type]
        return lm.SetLoggedModelTagsResponse()

    def DeleteLoggedModelTag(
        self, request: lm.DeleteLoggedModelTagRequest, context: grpc.ServicerContext
    ):
        self._store.delete_logged_model_tag(request.model_id, request.tag_key)
        return lm.DeleteLoggedModelTagResponse()

    def LogLoggedModelParams(
        self, request: lm.LogLoggedModelParamsRequest, context: grpc.ServicerContext
    ):
        self._store.log_logged_model_params(request.model_id, request.params)  # type: ignore[arg-type]
        return lm.LogLoggedModelParamsResponse()

    def LogInputs(self, request: lm.LogInputsRequest, context: grpc.ServicerContext):
        self._store.log_inputs(
            request.run_id,
            datasets=[lc.dataset_input_from_proto(item) for item in request.datasets],
            models=[ModelIo(model.model_id) for model in request.models],
        )
        return lm.LogInputsResponse()

    def LogOutputs(self, request: lm.LogOutputsRequest, context: grpc.ServicerContext):
        self._store.log_outputs(
            request.run_id, [ModelIo(model.model_id, model.step) for model in request.models]
        )
        return lm.LogOutputsResponse()
