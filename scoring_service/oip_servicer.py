"""`inference.GRPCInferenceService` (Open Inference Protocol V2): decode → predict → encode.

RPCs outside the specification's six (Triton's ModelConfig, repository, shared memory, …) are
not registered, so gRPC answers them UNIMPLEMENTED by itself.
"""

from __future__ import annotations

import grpc

from mlgrpc.inference import grpc_predict_v2_pb2 as pb
from mlgrpc.inference import grpc_predict_v2_pb2_grpc as pb_grpc
from mlgrpc_server.errors import NotFound
from mlgrpc_server.observability.request_context import note_model
from scoring_service.codecs import oip_payload
from scoring_service.codecs.tensors import DATATYPE_OF_COLUMN_TYPE
from scoring_service.models.manager import ModelManager
from scoring_service.models.predict import predict

SERVER_NAME = "mlgrpc-scoring"
SERVER_VERSION = "0.1.0"

TensorMetadata = pb.ModelMetadataResponse.TensorMetadata


class InferenceServicer(pb_grpc.GRPCInferenceServiceServicer):
    def __init__(self, manager: ModelManager, *, max_request_rows: int) -> None:
        self._manager = manager
        self._registry = manager.registry
        self._max_rows = max_request_rows

    def ServerLive(
        self, request: pb.ServerLiveRequest, context: grpc.ServicerContext
    ) -> pb.ServerLiveResponse:
        return pb.ServerLiveResponse(live=True)

    def ServerReady(
        self, request: pb.ServerReadyRequest, context: grpc.ServicerContext
    ) -> pb.ServerReadyResponse:
        return pb.ServerReadyResponse(ready=self._manager.ready)

    def ModelReady(
        self, request: pb.ModelReadyRequest, context: grpc.ServicerContext
    ) -> pb.ModelReadyResponse:
        try:
            self._registry.get(request.name, request.version)
        except NotFound:
            if request.name not in self._registry.names():
                raise
            return pb.ModelReadyResponse(ready=False)
        return pb.ModelReadyResponse(ready=True)

    def ServerMetadata(
        self, request: pb.ServerMetadataRequest, context: grpc.ServicerContext
    ) -> pb.ServerMetadataResponse:
        return pb.ServerMetadataResponse(name=SERVER_NAME, version=SERVER_VERSION, extensions=[])

    def ModelMetadata(
        self, request: pb.ModelMetadataRequest, context: grpc.ServicerContext
    ) -> pb.ModelMetadataResponse:
        model = self._registry.get(request.name, request.version)
        inputs = [
            TensorMetadata(
                name=c.name or f"input-{i}",
                datatype=DATATYPE_OF_COLUMN_TYPE.get(c.type, "BYTES"),
                shape=[-1],
            )
            for i, c in enumerate(model.inputs)
        ]
        outputs = [
            TensorMetadata(
                name=c.name or "predictions",
                datatype=DATATYPE_OF_COLUMN_TYPE.get(c.type, "FP64"),
                shape=[-1],
            )
            for c in model.outputs
        ] or [TensorMetadata(name="predictions", datatype="FP64", shape=[-1])]
        return pb.ModelMetadataResponse(
            name=model.name,
            versions=[model.version],
            platform=f"mlgrpc-{model.flavor}",
            inputs=inputs,
            outputs=outputs,
        )

    def ModelInfer(
        self, request: pb.ModelInferRequest, context: grpc.ServicerContext
    ) -> pb.ModelInferResponse:
        model = self._registry.get(request.model_name, request.model_version)
        note_model(model.name, model.version)  # metrics per model and version
        batch = oip_payload.decode_request(request, model)
        output = predict(model, batch, max_rows=self._max_rows)
        return oip_payload.encode_response(output, model, request)
