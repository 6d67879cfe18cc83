"""The Open Inference Protocol: the real tritonclient (raw tensors) and grpcurl (typed)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import pytest

from mlgrpc.inference import grpc_predict_v2_pb2 as pb
from mlgrpc.inference import grpc_predict_v2_pb2_grpc as pb_grpc

from .conftest import SEED_COLUMNS, SEED_ROW, TRITON_REQUIREMENTS
from .helpers import grpcurl

TRITON_SCRIPT = Path(__file__).with_name("triton_client_script.py")


@pytest.fixture(scope="session")
def triton_python(peer_python: Callable[[str, list[str]], Path]) -> Path:
    """A virtualenv with the real tritonclient: it needs protobuf < 7, we need 7."""
    return peer_python("tritonclient", TRITON_REQUIREMENTS)


def _triton(python: Path, address: str, scenario: str) -> dict[str, Any]:
    """Run a tritonclient scenario in its own process (see triton_client_script.py)."""
    result = subprocess.run(
        [str(python), str(TRITON_SCRIPT), address, scenario],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def stub(channel: grpc.Channel) -> pb_grpc.GRPCInferenceServiceStub:
    return pb_grpc.GRPCInferenceServiceStub(channel)


def test_tritonclient_raw_in_raw_out_equals_in_process_predict(
    scoring_server: Any, expected_seed_prediction: float, triton_python: Path
) -> None:
    reply = _triton(triton_python, scoring_server.address, "infer")
    assert reply["predictions"] == pytest.approx([expected_seed_prediction] * 2, abs=1e-9)
    assert reply["raw_outputs"] == 1
    assert reply["id"] == "req-7"
    assert reply["version"] == "1"


def test_tensors_in_another_order_map_by_name(
    scoring_server: Any, expected_seed_prediction: float, triton_python: Path
) -> None:
    reply = _triton(triton_python, scoring_server.address, "reversed")
    assert reply["predictions"][0] == pytest.approx(expected_seed_prediction, abs=1e-9)


def test_tritonclient_health_metadata_and_unimplemented_triton_rpcs(
    scoring_server: Any, triton_python: Path
) -> None:
    reply = _triton(triton_python, scoring_server.address, "health")
    assert reply["live"] and reply["ready"] and reply["model_ready"] and reply["v1_ready"]
    assert not reply["v2_ready"]
    assert reply["versions"] == ["1"]
    assert reply["inputs"] == sorted(SEED_COLUMNS)
    assert reply["datatypes"] == ["FP64"]
    assert reply["outputs"] == ["predictions"]
    assert "UNIMPLEMENTED" in reply["model_config"]


def test_typed_contents_through_grpcurl_answer_typed_contents(
    scoring_server: Any, expected_seed_prediction: float
) -> None:
    inputs = [
        {"name": n, "datatype": "FP64", "shape": [1], "contents": {"fp64_contents": [v]}}
        for n, v in zip(SEED_COLUMNS, SEED_ROW, strict=True)
    ]
    code, reply, stderr = grpcurl(
        scoring_server.address,
        "inference.GRPCInferenceService/ModelInfer",
        {"model_name": "wine", "id": "abc", "inputs": inputs},
    )
    assert code == 0, stderr
    assert reply["id"] == "abc"
    output = reply["outputs"][0]
    assert output["name"] == "predictions"
    assert output["datatype"] == "FP64"
    assert output["contents"]["fp64_contents"][0] == pytest.approx(
        expected_seed_prediction, abs=1e-9
    )
    assert "raw_output_contents" not in reply


def test_one_matrix_tensor_follows_the_signature_order(
    stub: pb_grpc.GRPCInferenceServiceStub, scoring_server: Any, expected_seed_prediction: float
) -> None:
    model = scoring_server.manager.registry.get("wine")
    by_name = dict(zip(SEED_COLUMNS, SEED_ROW, strict=True))
    row = [by_name[str(c.name)] for c in model.inputs]
    request = pb.ModelInferRequest(model_name="wine")
    request.inputs.add(name="input-0", datatype="FP64", shape=[1, len(row)])
    request.raw_input_contents.append(np.asarray([row], dtype="<f8").tobytes())
    response = stub.ModelInfer(request, timeout=10)
    value = np.frombuffer(response.raw_output_contents[0], dtype="<f8")[0]
    assert value == pytest.approx(expected_seed_prediction, abs=1e-9)


def test_int32_and_fp32_tensors_are_converted_safely(
    stub: pb_grpc.GRPCInferenceServiceStub, expected_seed_prediction: float
) -> None:
    request = pb.ModelInferRequest(model_name="wine")
    for name, value in zip(SEED_COLUMNS, SEED_ROW, strict=True):
        tensor = request.inputs.add(name=name, shape=[1])
        if float(value).is_integer():
            tensor.datatype = "INT32"
            tensor.contents.int_contents.append(int(value))
        else:
            tensor.datatype = "FP64"
            tensor.contents.fp64_contents.append(value)
    response = stub.ModelInfer(request, timeout=10)
    assert response.outputs[0].contents.fp64_contents[0] == pytest.approx(
        expected_seed_prediction, abs=1e-9
    )


def test_unknown_tensor_name_is_invalid_argument(stub: pb_grpc.GRPCInferenceServiceStub) -> None:
    request = pb.ModelInferRequest(model_name="wine")
    for name, value in zip(SEED_COLUMNS, SEED_ROW, strict=True):
        tensor = request.inputs.add(name=name.upper(), datatype="FP64", shape=[1])
        tensor.contents.fp64_contents.append(value)
    with pytest.raises(grpc.RpcError) as caught:
        stub.ModelInfer(request, timeout=10)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "ALCOHOL" in caught.value.details()


def test_missing_tensor_is_invalid_argument_naming_the_column(
    stub: pb_grpc.GRPCInferenceServiceStub,
) -> None:
    request = pb.ModelInferRequest(model_name="wine")
    for name, value in zip(SEED_COLUMNS, SEED_ROW, strict=True):
        if name != "density":
            tensor = request.inputs.add(name=name, datatype="FP64", shape=[1])
            tensor.contents.fp64_contents.append(value)
    with pytest.raises(grpc.RpcError) as caught:
        stub.ModelInfer(request, timeout=10)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "'density'" in caught.value.details()


def test_raw_size_mismatch_is_invalid_argument(stub: pb_grpc.GRPCInferenceServiceStub) -> None:
    request = pb.ModelInferRequest(model_name="wine")
    request.inputs.add(name="alcohol", datatype="FP64", shape=[2])
    request.raw_input_contents.append(b"\x00" * 8)
    with pytest.raises(grpc.RpcError) as caught:
        stub.ModelInfer(request, timeout=10)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_unknown_model_is_not_found(stub: pb_grpc.GRPCInferenceServiceStub) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        stub.ModelMetadata(pb.ModelMetadataRequest(name="nope"), timeout=10)
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as caught:
        stub.ModelInfer(pb.ModelInferRequest(model_name="nope"), timeout=10)
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND


def test_bytes_tensors_round_trip_the_length_prefixed_layout() -> None:
    from scoring_service.codecs.tensors import join_bytes, split_bytes

    values = [b"", b"a", "é".encode()]
    assert split_bytes(join_bytes(values), "t") == values
