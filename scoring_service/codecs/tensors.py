"""Open Inference Protocol tensors ↔ numpy, typed `contents` and `raw_*_contents` alike.

Raw layout (the specification's): the tensor flattened row-major, little-endian, no padding;
each BYTES element is preceded by its length as a 4-byte little-endian unsigned integer.
"""

from __future__ import annotations

import math
import struct
from typing import Any

import numpy as np

from mlgrpc.inference import grpc_predict_v2_pb2 as pb
from mlgrpc_server.errors import InvalidArgument

#: datatype → (little-endian numpy dtype, typed contents field).
NUMERIC: dict[str, tuple[str, str | None]] = {
    "BOOL": ("?", "bool_contents"),
    "INT8": ("<i1", "int_contents"),
    "INT16": ("<i2", "int_contents"),
    "INT32": ("<i4", "int_contents"),
    "INT64": ("<i8", "int64_contents"),
    "UINT8": ("<u1", "uint_contents"),
    "UINT16": ("<u2", "uint_contents"),
    "UINT32": ("<u4", "uint_contents"),
    "UINT64": ("<u8", "uint64_contents"),
    "FP16": ("<f2", None),
    "FP32": ("<f4", "fp32_contents"),
    "FP64": ("<f8", "fp64_contents"),
}

#: Bounds of a declared tensor shape; a request (64 MiB at most) holds far fewer elements.
MAX_TENSOR_DIMS = 16
MAX_TENSOR_ELEMENTS = 2**31

#: MLflow column type → OIP datatype (as MLServer's MLflow runtime maps them).
DATATYPE_OF_COLUMN_TYPE = {
    "double": "FP64",
    "float": "FP32",
    "long": "INT64",
    "integer": "INT32",
    "boolean": "BOOL",
    "string": "BYTES",
    "binary": "BYTES",
    "datetime": "BYTES",
}


def split_bytes(raw: bytes, tensor: str) -> list[bytes]:
    """The elements of a raw BYTES tensor: each one a 4-byte LE length, then its bytes."""
    items: list[bytes] = []
    offset, size = 0, len(raw)
    while offset < size:
        if offset + 4 > size:
            raise InvalidArgument(
                f"raw BYTES input {tensor!r} is truncated in a length prefix", field=tensor
            )
        (length,) = struct.unpack_from("<I", raw, offset)
        offset += 4
        if offset + length > size:
            raise InvalidArgument(
                f"raw BYTES input {tensor!r} is truncated: an element of {length} bytes "
                "does not fit",
                field=tensor,
            )
        items.append(raw[offset : offset + length])
        offset += length
    return items


def join_bytes(values: list[bytes]) -> bytes:
    return b"".join(struct.pack("<I", len(v)) + v for v in values)


def _as_text(values: list[bytes], tensor: str) -> np.ndarray:
    try:
        return np.array([v.decode("utf-8") for v in values], dtype=object)
    except UnicodeDecodeError:
        return np.array(values, dtype=object)


def decode_tensor(tensor: pb.ModelInferRequest.InferInputTensor, raw: bytes | None) -> np.ndarray:
    """One input tensor as a numpy array of its declared shape."""
    name, datatype = tensor.name, tensor.datatype.upper()
    shape = [int(d) for d in tensor.shape]
    if any(d < 0 for d in shape):
        raise InvalidArgument(f"input {name!r} has a negative dimension {shape}", field=name)
    # Checked before numpy sees the shape: it allows 64 dimensions and sizes that fit an intp,
    # and the product of 64-bit dimensions can have thousands of digits.
    if len(shape) > MAX_TENSOR_DIMS:
        raise InvalidArgument(
            f"input {name!r} has {len(shape)} dimensions; at most {MAX_TENSOR_DIMS} are allowed",
            field=name,
        )
    if any(d > MAX_TENSOR_ELEMENTS for d in shape) or math.prod(shape) > MAX_TENSOR_ELEMENTS:
        raise InvalidArgument(
            f"input {name!r} has shape {shape}: more than {MAX_TENSOR_ELEMENTS:,} elements",
            field=name,
        )
    count = math.prod(shape)
    if datatype == "BYTES":
        items = split_bytes(raw, name) if raw is not None else list(tensor.contents.bytes_contents)
        array = _as_text(items, name)
    elif datatype in NUMERIC:
        dtype, field_name = NUMERIC[datatype]
        if raw is not None:
            width = np.dtype(dtype).itemsize
            if len(raw) != count * width:
                raise InvalidArgument(
                    f"raw input {name!r} holds {len(raw)} bytes; shape {shape} of {datatype} "
                    f"needs {count * width}",
                    field=name,
                )
            array = np.frombuffer(raw, dtype=dtype)
        elif field_name is None:
            raise InvalidArgument(
                f"{datatype} input {name!r} can only be sent in raw_input_contents", field=name
            )
        else:
            array = np.array(getattr(tensor.contents, field_name), dtype=dtype)
    else:
        raise InvalidArgument(
            f"input {name!r} has unknown datatype {tensor.datatype!r}; expected one of "
            f"{sorted([*NUMERIC, 'BYTES'])}",
            field=name,
        )
    if array.size != count:
        raise InvalidArgument(
            f"input {name!r} holds {array.size} elements; its shape {shape} needs {count}",
            field=name,
        )
    return array.reshape(shape) if shape else array


def datatype_of(array: np.ndarray) -> str:
    kind, size = array.dtype.kind, array.dtype.itemsize
    if kind == "f":
        return {2: "FP16", 4: "FP32"}.get(size, "FP64")
    if kind == "i":
        return {1: "INT8", 2: "INT16", 4: "INT32"}.get(size, "INT64")
    if kind == "u":
        return {1: "UINT8", 2: "UINT16", 4: "UINT32"}.get(size, "UINT64")
    if kind == "b":
        return "BOOL"
    return "BYTES"


def _bytes_elements(array: np.ndarray) -> list[bytes]:
    return [v if isinstance(v, bytes) else str(v).encode("utf-8") for v in array.ravel().tolist()]


def encode_output(name: str, values: Any, response: pb.ModelInferResponse, *, raw: bool) -> None:
    """Append `values` as an output tensor: raw bytes when `raw`, typed contents otherwise."""
    array = np.asarray(values)
    if array.dtype.kind in "US":
        array = array.astype(object)
    datatype = datatype_of(array)
    output = response.outputs.add(name=name, datatype=datatype, shape=list(array.shape))
    if datatype == "BYTES":
        elements = _bytes_elements(array)
        if raw:
            response.raw_output_contents.append(join_bytes(elements))
        else:
            output.contents.bytes_contents.extend(elements)
        return
    dtype, field_name = NUMERIC[datatype]
    if raw or field_name is None:
        response.raw_output_contents.append(array.astype(dtype, copy=False).tobytes())
    else:
        getattr(output.contents, field_name).extend(array.ravel().tolist())
