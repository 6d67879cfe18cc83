"""ModelInferRequest → `ColumnBatch`, and model output → ModelInferResponse.

Tensors map to signature columns by NAME, never by position: one tensor per column, each of
shape [n] or [n, 1]. Alternatively a single 2-D tensor [n, ncols] whose name is not a column
name carries every column, in signature order (MLServer's "one matrix" form).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mlgrpc.inference import grpc_predict_v2_pb2 as pb
from mlgrpc_server.errors import InvalidArgument
from scoring_service.codecs.tensors import decode_tensor, encode_output
from scoring_service.models.enforce import ColumnBatch
from scoring_service.models.loaded import LoadedModel
from scoring_service.models.predict import output_columns


def _raw_inputs(request: pb.ModelInferRequest) -> list[bytes | None]:
    raw = list(request.raw_input_contents)
    if not raw:
        return [None] * len(request.inputs)
    if len(raw) != len(request.inputs):
        raise InvalidArgument(
            f"raw_input_contents has {len(raw)} entries for {len(request.inputs)} inputs; send "
            "one per input, in the order of inputs",
            field="raw_input_contents",
        )
    for tensor in request.inputs:
        if tensor.HasField("contents"):
            raise InvalidArgument(
                f"input {tensor.name!r} sets contents although the request uses "
                "raw_input_contents; use one form for all inputs",
                field=tensor.name,
            )
    return list(raw)


def _column(array: np.ndarray, name: str) -> np.ndarray:
    if array.ndim == 1:
        return array
    if array.ndim == 2 and array.shape[1] == 1:
        return array[:, 0]
    raise InvalidArgument(
        f"input {name!r} has shape {list(array.shape)}; a column tensor is [n] or [n, 1] (or "
        "send one [n, ncols] tensor whose columns follow the signature order)",
        field=name,
    )


def _refuse_duplicate_names(request: pb.ModelInferRequest) -> None:
    seen: set[str] = set()
    for tensor in request.inputs:
        if tensor.name in seen:
            raise InvalidArgument(
                f"input {tensor.name!r} is given twice; send each input tensor once",
                field=tensor.name,
            )
        seen.add(tensor.name)


def decode_request(request: pb.ModelInferRequest, model: LoadedModel) -> ColumnBatch:
    if not request.inputs:
        raise InvalidArgument("the request has no inputs", field="inputs")
    _refuse_duplicate_names(request)
    arrays = [
        (tensor.name, decode_tensor(tensor, raw))
        for tensor, raw in zip(request.inputs, _raw_inputs(request), strict=True)
    ]
    names = [str(c.name) for c in model.inputs if c.name is not None]
    if len(arrays) == 1 and arrays[0][0] not in names and arrays[0][1].ndim == 2 and names:
        tensor_name, matrix = arrays[0]
        if matrix.shape[1] != len(model.inputs):
            raise InvalidArgument(
                f"input {tensor_name!r} has {matrix.shape[1]} columns; the model takes "
                f"{len(model.inputs)} {names} (in this order)",
                field=tensor_name,
            )
        return ColumnBatch(
            {name: matrix[:, j] for j, name in enumerate(names)},
            matrix.shape[0],
            positional=True,
            noun="input",
            matrix_input=tensor_name,
        )
    columns: dict[str, Any] = {}
    for tensor_name, array in arrays:
        if names and tensor_name not in names:
            raise InvalidArgument(
                f"input {tensor_name!r} matches no model input; the model takes {names} "
                "(tensors are matched by name)",
                field=tensor_name,
            )
        columns[tensor_name] = _column(array, tensor_name)
    lengths = {len(v) for v in columns.values()}
    if len(lengths) > 1:
        raise InvalidArgument(
            f"inputs have different numbers of rows {sorted(lengths)}", field="inputs"
        )
    return ColumnBatch(columns, lengths.pop(), noun="input")


def encode_response(
    output: Any, model: LoadedModel, request: pb.ModelInferRequest
) -> pb.ModelInferResponse:
    response = pb.ModelInferResponse(
        model_name=model.name, model_version=model.version, id=request.id
    )
    default_name = "predictions"
    if len(model.outputs) == 1 and model.outputs[0].name:
        default_name = str(model.outputs[0].name)
    columns = output_columns(output, default_name)
    wanted = [o.name for o in request.outputs]
    if wanted:
        available = {name for name, _ in columns}
        unknown = [w for w in wanted if w not in available]
        if unknown:
            raise InvalidArgument(
                f"requested outputs {unknown} do not exist; the model returns {sorted(available)}",
                field="outputs",
            )
        columns = [c for c in columns if c[0] in wanted]
    raw = bool(request.raw_input_contents)
    for name, values in columns:
        encode_output(name, values, response, raw=raw)
    return response
