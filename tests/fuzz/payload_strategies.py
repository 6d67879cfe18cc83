"""Hypothesis strategies for the VALUES of Predict and ModelInfer requests.

`proto_strategies` walks descriptors, so its payloads seldom get past "missing column": here a
request names a served model's real columns (shuffled, sometimes one twice or one unknown) and
fills them with values that fit the column's type most of the time and otherwise with what
breaks converters: null, NaN, ±inf, huge and int64-edge numbers, booleans and text where
numbers go, lists and objects in a cell, other tensor datatypes, raw bytes of the wrong size.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from google.protobuf import struct_pb2
from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from mlgrpc.inference import grpc_predict_v2_pb2 as ipb
from mlgrpc.scoring.v1 import scoring_service_pb2 as spb
from scoring_service.codecs.tensors import NUMERIC, join_bytes

#: column name → MLflow type, per served model.
Signature = Mapping[str, str]

EDGE_FLOATS = (
    math.nan, math.inf, -math.inf, 1e308, -1e308, 5e-324, -0.0, 1e39, 3.5e38,
    2.0**31, 2.0**53 + 1, 2.0**63, -(2.0**63), 2.0**64, 1e300, 0.5, -1.5,
)  # fmt: skip
EDGE_INTS = (0, 1, -1, 2**31 - 1, 2**31, -(2**31) - 1, 2**63 - 1, -(2**63))
EDGE_UINTS = (0, 1, 2**32 - 1, 2**63, 2**64 - 1)
TEXTS = ("", "red", "green", "blue", "1.5", "NaN", "inf", "1e999", "true", "é🙂", "a\x00b")
CATEGORIES = ("red", "green")
UNKNOWN_COLUMNS = ("extra", "", "A")

numbers = st.one_of(
    st.sampled_from(EDGE_FLOATS),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-50, 50).map(float),
)
#: Any JSON value, nested a little: what a cell may hold on the wire.
any_python = st.recursive(
    st.one_of(st.none(), st.booleans(), numbers, st.sampled_from(TEXTS)),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from("ab"), inner),
    max_leaves=5,
)


def to_value(obj: Any) -> struct_pb2.Value:
    """A google.protobuf.Value of a Python value; NaN and ±inf kept (JSON cannot say them)."""
    value = struct_pb2.Value()
    if obj is None:
        value.null_value = struct_pb2.NULL_VALUE
    elif isinstance(obj, bool):
        value.bool_value = obj
    elif isinstance(obj, int | float):
        value.number_value = float(obj)
    elif isinstance(obj, str):
        value.string_value = obj
    elif isinstance(obj, list):
        value.list_value.values.extend(to_value(o) for o in obj)
    else:
        for key, item in obj.items():
            value.struct_value.fields[key].CopyFrom(to_value(item))
    return value


def good_cell(type_name: str) -> SearchStrategy[Any]:
    """A value the column's type takes (a JSON number is a double, as on the wire)."""
    if type_name in ("long", "integer"):
        return st.integers(-5, 5).map(float)
    if type_name == "boolean":
        return st.booleans()
    if type_name == "string":
        return st.sampled_from(CATEGORIES)
    return st.floats(-10, 10)


def cell(type_name: str) -> SearchStrategy[Any]:
    good = good_cell(type_name)
    return st.one_of(good, good, good, any_python)


def column_names(signature: Signature) -> SearchStrategy[list[str]]:
    """The model's columns shuffled; sometimes one dropped, one twice, or one unknown."""
    names = list(signature)
    shuffled = st.permutations(names)
    odd = st.tuples(
        shuffled, st.sampled_from([*names, *UNKNOWN_COLUMNS]), st.integers(0, len(names))
    ).map(lambda t: [*t[0][: t[2]], t[1], *t[0][t[2] :]])
    dropped = shuffled.map(lambda n: n[1:])
    return st.one_of(shuffled, shuffled, shuffled, odd, dropped)


def _type_of(signature: Signature, name: str) -> str:
    return signature.get(name, "double")


def _rows(signature: Signature, names: Sequence[str]) -> SearchStrategy[list[list[Any]]]:
    row = st.tuples(*[cell(_type_of(signature, n)) for n in names]).map(list)
    return st.lists(row, min_size=1, max_size=3)


def dataframe_split(model: str, signature: Signature) -> SearchStrategy[spb.PredictRequest]:
    def build(names: list[str], rows: list[list[Any]]) -> spb.PredictRequest:
        request = spb.PredictRequest(model_name=model)
        request.dataframe_split.columns.extend(names)
        for row in rows:
            request.dataframe_split.data.add().values.extend(to_value(v) for v in row)
        return request

    return column_names(signature).flatmap(
        lambda names: _rows(signature, names).map(lambda rows: build(names, rows))
    )


def _records(signature: Signature) -> SearchStrategy[list[dict[str, Any]]]:
    def records(names: list[str]) -> SearchStrategy[list[dict[str, Any]]]:
        return _rows(signature, names).map(
            lambda rows: [dict(zip(names, row, strict=True)) for row in rows]
        )

    return column_names(signature).flatmap(records)


def dataframe_records(model: str, signature: Signature) -> SearchStrategy[spb.PredictRequest]:
    def build(records: list[dict[str, Any]]) -> spb.PredictRequest:
        request = spb.PredictRequest(model_name=model)
        request.dataframe_records.values.extend(to_value(r) for r in records)
        return request

    return _records(signature).map(build)


def instances(model: str, signature: Signature) -> SearchStrategy[spb.PredictRequest]:
    """Records, rows in signature order (positional), or bare values."""
    names = list(signature)
    rows = _rows(signature, names)
    bare = st.lists(any_python, min_size=1, max_size=3)
    items = st.one_of(_records(signature), rows, bare)

    def build(field: str, values: list[Any]) -> spb.PredictRequest:
        request = spb.PredictRequest(model_name=model)
        getattr(request, field).CopyFrom(to_value(values))
        return request

    return st.tuples(st.sampled_from(["instances", "inputs"]), items).map(lambda t: build(*t))


def inputs_columns(model: str, signature: Signature) -> SearchStrategy[spb.PredictRequest]:
    """`inputs` as an object of columns: a list per column, or one bare value."""

    def columns(names: list[str]) -> SearchStrategy[dict[str, Any]]:
        return st.integers(1, 3).flatmap(
            lambda n: st.fixed_dictionaries(
                {
                    name: st.one_of(
                        st.lists(cell(_type_of(signature, name)), min_size=n, max_size=n),
                        st.lists(cell(_type_of(signature, name)), max_size=3),
                        cell(_type_of(signature, name)),
                    )
                    for name in names
                }
            )
        )

    def build(data: dict[str, Any]) -> spb.PredictRequest:
        request = spb.PredictRequest(model_name=model)
        request.inputs.CopyFrom(to_value(data))
        return request

    return column_names(signature).flatmap(columns).map(build)


def _columnar_column(name: str, n: int) -> SearchStrategy[spb.Column]:
    doubles = st.lists(numbers, min_size=n, max_size=n).map(
        lambda v: spb.Column(name=name, doubles=spb.DoubleColumn(values=v))
    )
    ints = st.lists(st.sampled_from(EDGE_INTS) | st.integers(-5, 5), min_size=n, max_size=n)
    int64s = ints.map(lambda v: spb.Column(name=name, int64s=spb.Int64Column(values=v)))
    bools = st.lists(st.booleans(), min_size=n, max_size=n).map(
        lambda v: spb.Column(name=name, bools=spb.BoolColumn(values=v))
    )
    strings = st.lists(st.sampled_from(TEXTS), min_size=n, max_size=n).map(
        lambda v: spb.Column(name=name, strings=spb.StringColumn(values=v))
    )
    return st.one_of(doubles, int64s, bools, strings)


def columnar(model: str, signature: Signature) -> SearchStrategy[spb.PredictRequest]:
    def columns(names: list[str]) -> SearchStrategy[list[spb.Column]]:
        return st.integers(1, 3).flatmap(
            lambda n: st.tuples(*[_columnar_column(name, n) for name in names]).map(list)
        )

    def build(cols: list[spb.Column]) -> spb.PredictRequest:
        request = spb.PredictRequest(model_name=model)
        request.columnar.columns.extend(cols)
        return request

    return column_names(signature).flatmap(columns).map(build)


#: Datatypes a tensor may declare: every one the protocol knows, and two it does not.
DATATYPES = (*NUMERIC, "BYTES", "BF16", "")
_MATCHING = {
    "double": "FP64",
    "float": "FP32",
    "long": "INT64",
    "integer": "INT32",
    "boolean": "BOOL",
    "string": "BYTES",
}


def _elements(datatype: str, n: int) -> SearchStrategy[list[Any]]:
    if datatype in ("FP64", "FP32", "FP16"):
        element: SearchStrategy[Any] = numbers
    elif datatype == "BOOL":
        element = st.booleans()
    elif datatype.startswith("UINT"):
        element = st.sampled_from(EDGE_UINTS) | st.integers(0, 5)
    elif datatype.startswith("INT"):
        element = st.sampled_from(EDGE_INTS) | st.integers(-5, 5)
    else:
        element = st.sampled_from(TEXTS).map(str.encode) | st.binary(max_size=4)
    return st.lists(element, min_size=n, max_size=n)


def _raw(datatype: str, values: list[Any]) -> bytes:
    """The raw little-endian bytes of `values` as `datatype` (wrapped into its range)."""
    if datatype == "BYTES" or datatype not in NUMERIC:
        return join_bytes([v if isinstance(v, bytes) else str(v).encode() for v in values])
    dtype = np.dtype(NUMERIC[datatype][0])
    with np.errstate(all="ignore"):
        if dtype.kind in "iu":
            bits = dtype.itemsize * 8
            values = [int(v) % (2**bits) for v in values]
            if dtype.kind == "i":
                values = [v - 2**bits if v >= 2 ** (bits - 1) else v for v in values]
        return np.asarray(values).astype(dtype).tobytes()


def _contents(tensor: ipb.ModelInferRequest.InferInputTensor, values: list[Any]) -> None:
    field = NUMERIC.get(tensor.datatype, (None, "bytes_contents"))[1]
    if field is None:  # FP16: raw only; leave contents empty (a size mismatch)
        return
    if field in ("int_contents", "uint_contents", "int64_contents", "uint64_contents"):
        bound = {"int_contents": 31, "uint_contents": 32, "int64_contents": 63}.get(field, 64)
        low = -(2**bound) if field.startswith("int") else 0
        values = [min(max(int(v), low), 2**bound - 1) for v in values]
    if field == "bytes_contents":
        values = [v if isinstance(v, bytes) else str(v).encode() for v in values]
    getattr(tensor.contents, field).extend(values)


TensorSpec = tuple[str, str, list[int], list[Any]]  # name, datatype, shape, values


def _tensor(signature: Signature, name: str, n: int) -> SearchStrategy[TensorSpec]:
    matching = _MATCHING.get(_type_of(signature, name), "FP64")
    datatype = st.one_of(st.just(matching), st.just(matching), st.sampled_from(DATATYPES))
    shape = st.sampled_from([[n], [n], [n, 1], [n, 2], [], [n + 1]])
    return st.tuples(datatype, shape).flatmap(
        lambda t: _elements(t[0], max(1, math.prod(t[1]))).map(
            lambda values: (name, t[0], t[1], values)
        )
    )


def _matrix(signature: Signature, n: int) -> SearchStrategy[list[TensorSpec]]:
    width = st.sampled_from([len(signature), len(signature), len(signature) + 1])
    datatype = st.sampled_from(["FP64", "FP64", "FP32", "INT64", "BYTES", "BOOL"])
    return st.tuples(width, datatype).flatmap(
        lambda t: _elements(t[1], n * t[0]).map(lambda v: [("input-0", t[1], [n, t[0]], v)])
    )


def model_infer(model: str, signature: Signature) -> SearchStrategy[ipb.ModelInferRequest]:
    """Tensors by column name (shuffled, duplicated, unknown) or one matrix; typed contents
    or raw bytes; sometimes an output that does not exist."""

    def tensors(names: list[str]) -> SearchStrategy[list[TensorSpec]]:
        return st.integers(1, 3).flatmap(
            lambda n: st.one_of(
                st.tuples(*[_tensor(signature, name, n) for name in names]).map(list),
                _matrix(signature, n),
            )
        )

    def build(specs: list[TensorSpec], raw: bool, outputs: list[str]) -> ipb.ModelInferRequest:
        request = ipb.ModelInferRequest(model_name=model, id="fuzz")
        for name, datatype, shape, values in specs:
            tensor = request.inputs.add(name=name, datatype=datatype, shape=shape)
            if raw:
                request.raw_input_contents.append(_raw(datatype, values))
            else:
                _contents(tensor, values)
        for output in outputs:
            request.outputs.add(name=output)
        return request

    return st.builds(
        build,
        column_names(signature).flatmap(tensors),
        st.booleans(),
        st.lists(st.sampled_from(["predictions", "nope"]), max_size=1),
    )
