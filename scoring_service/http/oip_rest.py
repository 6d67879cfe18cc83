"""The Open Inference Protocol's REST form (KServe V2) ↔ the gRPC messages the servicer reads.

A REST infer request becomes a `ModelInferRequest` whose inputs are all raw bytes (JSON `data`
is packed as the specification's raw layout), so that it is decoded by the same code as gRPC's
(`codecs/oip_payload.py`), and the raw response is turned back into JSON `data` or, for outputs
asked for as binary, into the binary tensor data extension as `tritonclient.http` reads it
(`Inference-Header-Content-Length`: the JSON header's size; the tensors' bytes follow it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mlgrpc.inference import grpc_predict_v2_pb2 as pb
from mlgrpc_server.errors import InvalidArgument
from scoring_service.codecs.tensors import MAX_TENSOR_DIMS, NUMERIC, join_bytes, split_bytes
from scoring_service.http import json_codec

HEADER_LENGTH = "inference-header-content-length"


@dataclass
class RestInfer:
    """A decoded REST infer request, and how its outputs are to be answered."""

    request: pb.ModelInferRequest
    binary_outputs: set[str] = field(default_factory=set)
    all_binary: bool = False


def decode_infer(body: bytes, header_length: str | None, name: str, version: str) -> RestInfer:
    json_part, blobs = _split_body(body, header_length)
    payload = _json_object(json_part)
    inputs = payload.get("inputs")
    if not isinstance(inputs, list) or not inputs:
        raise InvalidArgument("inputs must be a non-empty list of tensors", field="inputs")
    request = pb.ModelInferRequest(model_name=name, model_version=version)
    request_id = payload.get("id")
    if request_id is not None:
        if not isinstance(request_id, str):
            raise InvalidArgument("id must be a string", field="id")
        request.id = request_id
    offset = 0
    seen: set[str] = set()
    for index, tensor in enumerate(inputs):
        if not isinstance(tensor, dict):
            raise InvalidArgument(f"inputs[{index}] is not an object", field="inputs")
        tensor_name, datatype, shape = _tensor_header(tensor, index)
        if tensor_name in seen:
            raise InvalidArgument(f"input {tensor_name!r} is given twice", field=tensor_name)
        seen.add(tensor_name)
        size = _parameters(tensor, tensor_name).get("binary_data_size")
        if size is not None:
            if not isinstance(size, int) or isinstance(size, bool) or size < 0:
                raise InvalidArgument(
                    f"input {tensor_name!r}: binary_data_size must be a byte count",
                    field=tensor_name,
                )
            if offset + size > len(blobs):
                raise InvalidArgument(
                    f"input {tensor_name!r} announces {size} binary bytes but only "
                    f"{len(blobs) - offset} follow the JSON header",
                    field=tensor_name,
                )
            raw = blobs[offset : offset + size]
            offset += size
        else:
            raw = _pack(tensor.get("data"), datatype, tensor_name)
        request.inputs.add(name=tensor_name, datatype=datatype, shape=shape)
        request.raw_input_contents.append(raw)
    if offset != len(blobs):
        raise InvalidArgument(
            f"{len(blobs) - offset} bytes after the JSON header belong to no input",
            field="inputs",
        )
    answer = RestInfer(
        request, all_binary=bool(_parameters(payload, "request").get("binary_data_output"))
    )
    outputs = payload.get("outputs") or []
    if not isinstance(outputs, list):
        raise InvalidArgument("outputs must be a list of {name, parameters}", field="outputs")
    for index, wanted in enumerate(outputs):
        if not isinstance(wanted, dict) or not isinstance(wanted.get("name"), str):
            raise InvalidArgument(f"outputs[{index}] has no name", field="outputs")
        request.outputs.add(name=wanted["name"])
        if _parameters(wanted, wanted["name"]).get("binary_data"):
            answer.binary_outputs.add(wanted["name"])
    return answer


def encode_infer(response: pb.ModelInferResponse, asked: RestInfer) -> tuple[bytes, int | None]:
    """The REST body of `response` (whose outputs are raw) and the JSON header's length when
    binary tensors follow it (None: the body is plain JSON)."""
    outputs: list[dict[str, Any]] = []
    blobs: list[bytes] = []
    for tensor, raw in zip(response.outputs, response.raw_output_contents, strict=True):
        entry: dict[str, Any] = {
            "name": tensor.name,
            "datatype": tensor.datatype,
            "shape": [int(d) for d in tensor.shape],
        }
        if asked.all_binary or tensor.name in asked.binary_outputs:
            entry["parameters"] = {"binary_data_size": len(raw)}
            blobs.append(raw)
        else:
            entry["data"] = _unpack(raw, tensor.datatype, tensor.name)
        outputs.append(entry)
    answer: dict[str, Any] = {
        "model_name": response.model_name,
        "model_version": response.model_version,
        "outputs": outputs,
    }
    if response.id:
        answer["id"] = response.id
    head = json_codec.dumps(answer)
    if not blobs:
        return head, None
    return head + b"".join(blobs), len(head)


def model_metadata(response: pb.ModelMetadataResponse) -> dict[str, Any]:
    def tensors(items: Any) -> list[dict[str, Any]]:
        return [
            {"name": t.name, "datatype": t.datatype, "shape": [int(d) for d in t.shape]}
            for t in items
        ]

    return {
        "name": response.name,
        "versions": list(response.versions),
        "platform": response.platform,
        "inputs": tensors(response.inputs),
        "outputs": tensors(response.outputs),
    }


def _split_body(body: bytes, header_length: str | None) -> tuple[bytes, bytes]:
    if header_length is None:
        return body, b""
    try:
        length = int(header_length)
    except ValueError:
        length = -1
    if not 0 <= length <= len(body):
        raise InvalidArgument(
            f"Inference-Header-Content-Length {header_length[:40]!r} is not a length within "
            f"the body's {len(body)} bytes",
            field="Inference-Header-Content-Length",
        )
    return body[:length], body[length:]


def _json_object(data: bytes) -> dict[str, Any]:
    payload = json_codec.loads(data)
    if not isinstance(payload, dict):
        raise InvalidArgument('the body must be a JSON object {"inputs": [...]}', field="body")
    return payload


def _parameters(item: dict[str, Any], what: str) -> dict[str, Any]:
    parameters = item.get("parameters") or {}
    if not isinstance(parameters, dict):
        raise InvalidArgument(f"parameters of {what!r} must be an object", field=what)
    return parameters


def _tensor_header(tensor: dict[str, Any], index: int) -> tuple[str, str, list[int]]:
    name, datatype, shape = tensor.get("name"), tensor.get("datatype"), tensor.get("shape")
    if not isinstance(name, str) or not name:
        raise InvalidArgument(f"inputs[{index}] has no name", field="inputs")
    if not isinstance(datatype, str):
        raise InvalidArgument(f"input {name!r} has no datatype", field=name)
    if (
        not isinstance(shape, list)
        or len(shape) > MAX_TENSOR_DIMS
        or not all(isinstance(d, int) and not isinstance(d, bool) for d in shape)
    ):
        raise InvalidArgument(
            f"input {name!r}: shape must be a list of at most {MAX_TENSOR_DIMS} integers",
            field=name,
        )
    if any(d < 0 or d > 2**62 for d in shape):
        raise InvalidArgument(f"input {name!r} has a dimension out of range {shape}", field=name)
    return name, datatype.upper(), shape


def _flatten(data: Any, name: str) -> list[Any]:
    """The elements of a (nested) JSON list in row-major order."""
    if not isinstance(data, list):
        raise InvalidArgument(
            f"input {name!r}: data must be a list (or binary_data_size given)", field=name
        )
    flat: list[Any] = []
    stack: list[tuple[list[Any], int]] = [(data, 0)]
    while stack:
        items, depth = stack.pop()
        for position, item in enumerate(items):
            if isinstance(item, list):
                if depth + 1 > MAX_TENSOR_DIMS:
                    raise InvalidArgument(f"input {name!r}: data nests too deeply", field=name)
                stack.append((items[position + 1 :], depth))
                stack.append((item, depth + 1))
                break
            flat.append(item)
    return flat


def _pack(data: Any, datatype: str, name: str) -> bytes:
    """JSON `data` in the raw layout of `datatype` (what `decode_tensor` reads)."""
    flat = _flatten(data, name)
    if datatype == "BYTES":
        if not all(isinstance(v, str) for v in flat):
            raise InvalidArgument(f"input {name!r} is BYTES: every element is a string", field=name)
        return join_bytes([v.encode("utf-8") for v in flat])
    if datatype not in NUMERIC:
        raise InvalidArgument(
            f"input {name!r} has unknown datatype {datatype!r}; expected one of "
            f"{sorted([*NUMERIC, 'BYTES'])}",
            field=name,
        )
    dtype = np.dtype(NUMERIC[datatype][0])
    wanted = bool if dtype.kind == "b" else (int if dtype.kind in "iu" else (int, float))
    for position, value in enumerate(flat):
        is_bool = isinstance(value, bool)
        if (dtype.kind == "b") != is_bool or not isinstance(value, wanted):
            raise InvalidArgument(
                f"input {name!r} is {datatype}: element {position} is {value!r}", field=name
            )
    try:
        return np.asarray(flat, dtype=dtype).tobytes()
    except (OverflowError, ValueError) as exc:
        raise InvalidArgument(f"input {name!r} is {datatype}: {exc}", field=name) from None


def _unpack(raw: bytes, datatype: str, name: str) -> list[Any]:
    if datatype == "BYTES":
        return [v.decode("utf-8", "replace") for v in split_bytes(raw, name)]
    return np.frombuffer(raw, dtype=NUMERIC[datatype][0]).tolist()
