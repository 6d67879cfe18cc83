"""`mlgrpc.scoring.v1.ScoringService`: decode → predict → encode, nothing else."""

from __future__ import annotations

import os

import grpc

from mlgrpc.scoring.v1 import scoring_service_pb2 as pb
from mlgrpc.scoring.v1 import scoring_service_pb2_grpc as pb_grpc
from mlgrpc_server.observability.request_context import note_model
from scoring_service.codecs import predict_payload
from scoring_service.models.loaded import InputColumn, LoadedModel
from scoring_service.models.manager import ModelManager
from scoring_service.models.predict import predict


def _column_specs(columns: tuple[InputColumn, ...]) -> list[pb.ColumnSpec]:
    return [pb.ColumnSpec(name=c.name or "", type=c.type, required=c.required) for c in columns]


def model_info(model: LoadedModel) -> pb.ModelInfo:
    return pb.ModelInfo(
        name=model.name,
        version=model.version,
        source_uri=model.source_uri,
        resolved_uri=model.resolved_uri,
        flavor=model.flavor,
        run_id=model.run_id,
        inputs=_column_specs(model.inputs),
        outputs=_column_specs(model.outputs),
        fast_path=model.predict_matrix is not None,
        loaded_at_ms=model.loaded_at_ms,
    )


class ScoringServicer(pb_grpc.ScoringServiceServicer):
    def __init__(self, manager: ModelManager, *, max_request_rows: int) -> None:
        self._manager = manager
        self._registry = manager.registry
        self._max_rows = max_request_rows

    def Predict(
        self, request: pb.PredictRequest, context: grpc.ServicerContext
    ) -> pb.PredictResponse:
        model = self._registry.get(request.model_name)
        note_model(model.name, model.version)  # metrics per model and version
        batch = predict_payload.decode_request(request, model)
        output = predict(model, batch, max_rows=self._max_rows)
        return predict_payload.encode_response(
            output, model, columnar=request.WhichOneof("payload") == "columnar"
        )

    def ListModels(
        self, request: pb.ListModelsRequest, context: grpc.ServicerContext
    ) -> pb.ListModelsResponse:
        return pb.ListModelsResponse(models=[model_info(m) for m in self._registry.all()])

    def GetModelMetadata(
        self, request: pb.GetModelMetadataRequest, context: grpc.ServicerContext
    ) -> pb.GetModelMetadataResponse:
        model = self._registry.get(request.model_name)
        return pb.GetModelMetadataResponse(model=model_info(model), server_pid=os.getpid())

    def LoadModel(
        self, request: pb.LoadModelRequest, context: grpc.ServicerContext
    ) -> pb.LoadModelResponse:
        model = self._manager.load_from_request(request.model_name, request.model_uri)
        return pb.LoadModelResponse(model=model_info(model))

    def UnloadModel(
        self, request: pb.UnloadModelRequest, context: grpc.ServicerContext
    ) -> pb.UnloadModelResponse:
        self._manager.unload(request.model_name)
        return pb.UnloadModelResponse()
