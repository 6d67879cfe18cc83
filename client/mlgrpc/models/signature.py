"""Model signatures: what a model takes and returns, in MLflow's JSON shape.

The MLmodel file stores a signature as `{inputs: '<json>', outputs: '<json>', params: null}`
where each JSON string is a list of specs. A named column reads
`{"type": "double", "name": "fixed acidity", "required": true}`; a tensor reads
`{"type": "tensor", "tensor-spec": {"dtype": "float64", "shape": [-1]}}` (with `"name"` first
when it has one). We write exactly that shape so that MLflow parses our signatures, and read
MLflow's. Array/Object/Map column types are kept verbatim but not enforced.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

#: MLflow's scalar column types and the numpy dtype each one means.
DATA_TYPES: dict[str, np.dtype] = {
    "boolean": np.dtype("bool"),
    "integer": np.dtype("int32"),
    "long": np.dtype("int64"),
    "float": np.dtype("float32"),
    "double": np.dtype("float64"),
    "string": np.dtype("object"),
    "binary": np.dtype("object"),
    "datetime": np.dtype("datetime64[ns]"),
}

NUMERIC_TYPES = frozenset({"integer", "long", "float", "double"})


@dataclass(frozen=True)
class ColSpec:
    """One column: an MLflow type name (`double`, `long`, …), an optional name, required or not.

    `type` is a scalar type name, or for MLflow's composite types (array/object/map) the
    type's dict, kept so that we can round-trip signatures we do not enforce.
    """

    type: str | dict[str, Any]
    name: str | None = None
    required: bool = True

    def __post_init__(self) -> None:
        if isinstance(self.type, str) and self.type not in DATA_TYPES and self.type != "any":
            raise ValueError(
                f"unknown column type {self.type!r}; expected one of {sorted(DATA_TYPES)}"
            )

    @property
    def is_scalar(self) -> bool:
        return isinstance(self.type, str) and self.type in DATA_TYPES

    def to_dict(self) -> dict[str, Any]:
        spec: dict[str, Any] = (
            {"type": self.type} if isinstance(self.type, str) else dict(self.type)
        )
        if self.name is not None:
            spec["name"] = self.name
        spec["required"] = self.required
        return spec

    @classmethod
    def from_dict(cls, spec: dict[str, Any]) -> ColSpec:
        spec = dict(spec)
        name = spec.pop("name", None)
        required = bool(spec.pop("required", True))
        type_name = spec.get("type")
        if isinstance(type_name, str) and (type_name in DATA_TYPES or type_name == "any"):
            return cls(type=type_name, name=name, required=required)
        return cls(type=spec, name=name, required=required)


@dataclass(frozen=True)
class TensorSpec:
    """A tensor: numpy dtype and shape, `-1` marking a variable dimension (the batch)."""

    dtype: np.dtype
    shape: tuple[int, ...]
    name: str | None = None

    def to_dict(self) -> dict[str, Any]:
        spec: dict[str, Any] = {} if self.name is None else {"name": self.name}
        spec["type"] = "tensor"
        spec["tensor-spec"] = {"dtype": np.dtype(self.dtype).name, "shape": list(self.shape)}
        return spec

    @classmethod
    def from_dict(cls, spec: dict[str, Any]) -> TensorSpec:
        if "tensor-spec" not in spec:
            raise ValueError("tensor spec is missing the key 'tensor-spec' (dtype and shape)")
        tensor = spec["tensor-spec"]
        return cls(
            dtype=np.dtype(tensor["dtype"]),
            shape=tuple(int(d) for d in tensor["shape"]),
            name=spec.get("name"),
        )


Spec = ColSpec | TensorSpec


@dataclass(frozen=True)
class Schema:
    """An ordered list of specs: all columns or all tensors, as MLflow requires."""

    inputs: tuple[Spec, ...]

    def __init__(self, inputs: Sequence[Spec]) -> None:
        specs = tuple(inputs)
        if specs and len({type(s) for s in specs}) > 1:
            raise ValueError("a schema holds either column specs or tensor specs, not both")
        object.__setattr__(self, "inputs", specs)

    def __iter__(self) -> Iterator[Spec]:
        return iter(self.inputs)

    def __len__(self) -> int:
        return len(self.inputs)

    @property
    def is_tensor_spec(self) -> bool:
        return bool(self.inputs) and isinstance(self.inputs[0], TensorSpec)

    @property
    def has_input_names(self) -> bool:
        return bool(self.inputs) and all(s.name is not None for s in self.inputs)

    def input_names(self) -> list[str]:
        return [s.name for s in self.inputs if s.name is not None]

    def required_input_names(self) -> list[str]:
        return [s.name for s in self.inputs if s.name is not None and getattr(s, "required", True)]

    def to_dict(self) -> list[dict[str, Any]]:
        return [s.to_dict() for s in self.inputs]

    def to_json(self) -> str:
        # json.dumps' default separators give MLflow's exact text (", " and ": ").
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, text: str) -> Schema:
        return cls([_spec_from_dict(d) for d in json.loads(text)])


def _spec_from_dict(spec: dict[str, Any]) -> Spec:
    if spec.get("type") == "tensor":
        return TensorSpec.from_dict(spec)
    return ColSpec.from_dict(spec)


@dataclass(frozen=True)
class ModelSignature:
    """Input schema, optional output schema, optional params schema (kept as raw JSON)."""

    inputs: Schema | None = None
    outputs: Schema | None = None
    # Inference params are not interpreted by mlgrpc yet; their JSON is kept for round trips.
    params_json: str | None = field(default=None)

    def to_dict(self) -> dict[str, str | None]:
        return {
            "inputs": self.inputs.to_json() if self.inputs else None,
            "outputs": self.outputs.to_json() if self.outputs else None,
            "params": self.params_json,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelSignature:
        inputs = data.get("inputs")
        outputs = data.get("outputs")
        params = data.get("params")
        return cls(
            inputs=Schema.from_json(inputs) if inputs else None,
            outputs=Schema.from_json(outputs) if outputs else None,
            params_json=params if isinstance(params, str) else None,
        )


def infer_signature(model_input: Any, model_output: Any = None) -> ModelSignature:
    """The signature of a model from an example input and, optionally, its predictions.

    DataFrames and dicts of columns give named column specs; numpy arrays give a tensor spec
    with a variable first dimension; a Series gives one (possibly unnamed) column spec.
    """
    inputs = infer_schema(model_input)
    outputs = infer_schema(model_output) if model_output is not None else None
    return ModelSignature(inputs=inputs, outputs=outputs)


def infer_schema(data: Any) -> Schema:
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        # One isna() pass for the frame and dtype lookups without building Series: per-column
        # Series work made this the slowest step of save_model.
        has_missing = data.isna().any().to_numpy()
        return Schema(
            [
                ColSpec(
                    type=_frame_column_type(data, i),
                    name=str(col),
                    required=not bool(has_missing[i]),
                )
                for i, col in enumerate(data.columns)
            ]
        )
    if isinstance(data, pd.Series):
        name = None if data.name is None else str(data.name)
        return Schema([ColSpec(type=_column_type(data), name=name, required=_no_missing(data))])
    if isinstance(data, np.ndarray):
        return Schema([TensorSpec(dtype=_clean_dtype(data.dtype), shape=_batch_shape(data))])
    if isinstance(data, dict):
        if data and all(isinstance(v, np.ndarray) for v in data.values()):
            return Schema(
                [
                    TensorSpec(dtype=_clean_dtype(v.dtype), shape=_batch_shape(v), name=str(k))
                    for k, v in data.items()
                ]
            )
        return infer_schema(pd.DataFrame({k: _as_list(v) for k, v in data.items()}))
    if isinstance(data, list):
        if data and all(isinstance(row, dict) for row in data):
            return infer_schema(pd.DataFrame(data))
        return infer_schema(pd.Series(data))
    if isinstance(data, (int, float, str, bool, bytes)):
        return infer_schema(pd.Series([data]))
    raise TypeError(
        f"cannot infer a schema from {type(data).__name__}; pass a pandas DataFrame or Series, "
        "a numpy array, a dict of columns or a list"
    )


def _as_list(value: Any) -> list[Any]:
    if isinstance(value, (list, tuple, np.ndarray)):
        return list(value)
    return [value]


def _no_missing(col: Any) -> bool:
    return not bool(col.isna().any())


def _batch_shape(data: np.ndarray) -> tuple[int, ...]:
    return (-1, *data.shape[1:])


def _clean_dtype(dtype: np.dtype) -> np.dtype:
    # Flexible string/bytes dtypes carry their width; a signature must not.
    if dtype.kind == "U":
        return np.dtype("str")
    if dtype.kind == "S":
        return np.dtype("bytes")
    return dtype


def dtype_to_type_name(dtype: Any) -> str:
    """MLflow's column type for a numpy or pandas dtype (objects are inspected by the caller)."""
    kind = dtype.kind
    if kind == "b":
        return "boolean"
    if kind in "iu":
        # uint32 needs 64 bits signed; anything smaller fits an int32.
        if dtype.itemsize < 4 or (kind == "i" and dtype.itemsize == 4):
            return "integer"
        return "long"
    if kind == "f":
        return "float" if dtype.itemsize <= 4 else "double"
    if kind == "U":
        return "string"
    if kind == "S":
        return "binary"
    if kind == "M":
        return "datetime"
    raise TypeError(f"unsupported column dtype {dtype}")


def _frame_column_type(data: Any, position: int) -> str:
    dtype = data.dtypes.iloc[position]
    if isinstance(dtype, np.dtype) and dtype.kind in "biufM":
        return dtype_to_type_name(dtype)
    return _column_type(data.iloc[:, position])


def _column_type(col: Any) -> str:
    import pandas as pd

    if col.dtype.kind == "O":
        col = col.infer_objects()
    if col.dtype.kind != "O":
        if isinstance(col.dtype, pd.StringDtype):
            return "string"
        return dtype_to_type_name(col.dtype)
    values = [v for v in col if v is not None and not (isinstance(v, float) and np.isnan(v))]
    if values and all(isinstance(v, str) for v in values):
        return "string"
    if values and all(isinstance(v, (bytes, bytearray)) for v in values):
        return "binary"
    if values and all(isinstance(v, bool) for v in values):
        return "boolean"
    raise TypeError(
        f"cannot infer a column type for {col.name!r}: its values are of mixed or unsupported types"
    )
