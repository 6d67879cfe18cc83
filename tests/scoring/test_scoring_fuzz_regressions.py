"""Bugs the contract fuzzer (tests/fuzz) found in the scoring service, one test each."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf import struct_pb2

from mlgrpc.inference import grpc_predict_v2_pb2 as ipb
from mlgrpc.inference import grpc_predict_v2_pb2_grpc as ipb_grpc
from mlgrpc.scoring.v1 import scoring_service_pb2 as pb
from mlgrpc.scoring.v1 import scoring_service_pb2_grpc as pb_grpc

from .helpers import error_field


@pytest.fixture(scope="module")
def stub(channel: grpc.Channel) -> pb_grpc.ScoringServiceStub:
    return pb_grpc.ScoringServiceStub(channel)


def _nested_list(depth: int) -> struct_pb2.Value:
    root = struct_pb2.Value()
    inner = root
    for _ in range(depth):
        inner = inner.list_value.values.add()
    inner.number_value = 1.0
    return root


@pytest.mark.parametrize("model_uri", ["~nobody-here-at-all/model", "a" * 300, "é" * 200, "a\x00b"])
def test_load_model_of_an_unusable_path_is_invalid_argument(
    stub: pb_grpc.ScoringServiceStub, model_uri: str
) -> None:
    # Was INTERNAL: RuntimeError from expanduser, OSError ENAMETOOLONG, ValueError (NUL byte).
    with pytest.raises(grpc.RpcError) as caught:
        stub.LoadModel(pb.LoadModelRequest(model_name="x", model_uri=model_uri))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT, caught.value.details()
    assert error_field(caught.value) == "model_uri"


def test_request_nested_deeper_than_protobuf_parses_is_invalid_argument(
    stub: pb_grpc.ScoringServiceStub,
) -> None:
    # Was INTERNAL "Exception deserializing request!", answered by gRPC itself.
    request = pb.PredictRequest(model_name="wine")
    request.instances.CopyFrom(_nested_list(60))
    with pytest.raises(grpc.RpcError) as caught:
        stub.Predict(request)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT, caught.value.details()
    assert error_field(caught.value) == "request"
    assert stub.ListModels(pb.ListModelsRequest()).models  # still serving


@pytest.mark.parametrize(
    "shape",
    [
        [1] * 65,  # more dimensions than numpy allows
        [18, 2, 2**63 - 1, 0],  # no elements, but a dimension numpy cannot reshape to
        [2**62] * 80,  # a product of 4,800 digits (int → str refused over 4,300)
    ],
)
def test_model_infer_with_an_impossible_shape_is_invalid_argument(
    channel: grpc.Channel, shape: list[int]
) -> None:
    # Was INTERNAL: ValueError from numpy's reshape, and from formatting the element count.
    tensor = ipb.ModelInferRequest.InferInputTensor(name="alcohol", datatype="FP64", shape=shape)
    request = ipb.ModelInferRequest(model_name="wine", inputs=[tensor])
    with pytest.raises(grpc.RpcError) as caught:
        ipb_grpc.GRPCInferenceServiceStub(channel).ModelInfer(request)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT, caught.value.details()
    assert error_field(caught.value) == "alcohol"
