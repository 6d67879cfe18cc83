"""Check and convert model input against a signature, as MLflow's pyfunc does (by name, safely).

Rules, for named column signatures:
- columns are matched by NAME, in any order, and handed to the model in signature order;
- extra columns are dropped (logged as a warning);
- a missing required column is a `SchemaEnforcementError` naming every missing column;
- types convert only when no value can change meaning, by the one column check shared with
  the scoring service (`mlgrpc.models.column_types`): any int → double, int64 → int32 when
  every value fits, numbers → float within its range; floats never become integers (a NaN in
  an integer column gets its own hint), strings never become numbers; errors name the row.
Unnamed column signatures check the column count and convert positionally; tensor signatures
check dtype and the fixed dimensions of the shape.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

from mlgrpc.models import column_types
from mlgrpc.models.column_types import SchemaEnforcementError
from mlgrpc.models.signature import DATA_TYPES, ColSpec, Schema, TensorSpec

logger = logging.getLogger(__name__)


def _missing_error(
    missing: Sequence[str], extra: Sequence[str], hint: str = ""
) -> SchemaEnforcementError:
    # MLflow's wording, so that users and scripts matching on it see the same text.
    message = f"Model is missing inputs {list(missing)}."
    if extra:
        message += f" Note that there were extra inputs: {list(extra)}."
    return SchemaEnforcementError(message + hint, missing=missing)


def _object_to_typed(values: np.ndarray) -> np.ndarray:
    """Give an object array (e.g. decoded JSON) the numpy type of its values, if uniform."""
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, bool | np.bool_) for v in present):
        return values if len(present) < len(values) else values.astype(bool)
    if present and all(
        isinstance(v, int | float | np.number) and not isinstance(v, bool | np.bool_)
        for v in present
    ):
        if len(present) < len(values) or any(isinstance(v, float | np.floating) for v in present):
            return np.array([np.nan if v is None else v for v in values], dtype=np.float64)
        return np.array(values.tolist())
    return values


def convert_column(name: str, values: Any, type_name: str) -> np.ndarray:
    """`values` as the numpy dtype of MLflow type `type_name`, or a SchemaEnforcementError.

    The same check as the scoring service's (`column_types.convert`), except that a float never
    becomes an integer here: in-process input has real integer types, JSON's does not.
    """
    return column_types.convert(
        type_name, values, column_types.Where(f"column {name!r}", name), integral_floats=False
    )


def _convert_for_spec(name: str, values: np.ndarray, spec: ColSpec) -> np.ndarray:
    # Composite (array/object/map) and "any" columns pass unchecked: not enforced yet.
    if isinstance(spec.type, str) and spec.type in DATA_TYPES:
        return convert_column(name, values, spec.type)
    return values


def _to_frame(data: Any) -> Any:
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, pd.Series):
        return data.to_frame()
    if isinstance(data, dict):
        if all(np.ndim(v) == 0 for v in data.values()):
            return pd.DataFrame([data])
        return pd.DataFrame({k: np.asarray(v) if np.ndim(v) else [v] for k, v in data.items()})
    if isinstance(data, list) and data and all(isinstance(row, dict) for row in data):
        return pd.DataFrame(data)
    if isinstance(data, list | np.ndarray):
        return pd.DataFrame(np.asarray(data))
    raise SchemaEnforcementError(
        f"cannot read model input of type {type(data).__name__}: pass a pandas DataFrame, a dict "
        "of columns, a list of row dicts or a numpy array"
    )


def _enforce_named_columns(frame: Any, specs: Sequence[ColSpec]) -> Any:
    import pandas as pd

    present = {str(c): c for c in frame.columns}
    expected = {s.name for s in specs}
    missing = [str(s.name) for s in specs if s.required and s.name not in present]
    extra = [c for c in present if c not in expected]
    if missing:
        hint = ""
        if all(not isinstance(c, str) for c in frame.columns):
            hint = (
                " The input has no column names: pass a DataFrame or a dict keyed by the "
                "signature's column names."
            )
        raise _missing_error(missing, extra, hint)
    if extra:
        logger.warning("dropping input columns not in the model signature: %s", extra)
    columns: dict[str, Any] = {}
    for spec in specs:
        assert spec.name is not None
        if spec.name not in present:
            continue
        values = frame[present[spec.name]].to_numpy()
        columns[spec.name] = _convert_for_spec(spec.name, values, spec)
    return pd.DataFrame(columns, index=frame.index)


def _enforce_unnamed_columns(frame: Any, specs: Sequence[ColSpec]) -> Any:
    import pandas as pd

    if len(frame.columns) != len(specs):
        raise SchemaEnforcementError(
            f"Model expects {len(specs)} input column(s) but got {len(frame.columns)}."
        )
    columns = {}
    for label, spec in zip(frame.columns, specs, strict=True):
        values = frame[label].to_numpy()
        columns[label] = _convert_for_spec(str(label), values, spec)
    return pd.DataFrame(columns, index=frame.index)


def _enforce_tensor(name: str, data: Any, spec: TensorSpec) -> np.ndarray:
    import pandas as pd

    array = data.to_numpy() if isinstance(data, pd.DataFrame | pd.Series) else np.asarray(data)
    if array.dtype.kind == "O" and spec.dtype.kind in "biuf":
        array = _object_to_typed(array)
    if array.dtype != spec.dtype:
        if not np.can_cast(array.dtype, spec.dtype, "same_kind") or (
            array.dtype.kind == "f" and spec.dtype.kind in "iu"
        ):
            raise SchemaEnforcementError(
                f"Incompatible input types for tensor {name!r}: can not safely convert "
                f"{array.dtype} to {spec.dtype}.",
                column=name,
            )
        array = array.astype(spec.dtype)
    if len(spec.shape) != array.ndim or any(
        want not in (-1, got) for want, got in zip(spec.shape, array.shape, strict=True)
    ):
        raise SchemaEnforcementError(
            f"Shape of input {array.shape} does not match expected shape {spec.shape} "
            f"for tensor {name!r}."
        )
    return array


def enforce_schema(data: Any, schema: Schema | None) -> Any:
    """`data` checked and converted for a model with input `schema` (None: returned as is)."""
    if schema is None or len(schema) == 0:
        return data
    specs = list(schema.inputs)
    if schema.is_tensor_spec:
        tensors = [s for s in specs if isinstance(s, TensorSpec)]
        if len(tensors) == 1 and tensors[0].name is None:
            return _enforce_tensor("input", data, tensors[0])
        if not isinstance(data, dict):
            raise SchemaEnforcementError(
                f"Model expects named tensors {[t.name for t in tensors]}: pass a dict of arrays"
            )
        missing = [str(t.name) for t in tensors if t.name not in data]
        if missing:
            raise _missing_error(missing, [k for k in data if k not in {t.name for t in tensors}])
        return {t.name: _enforce_tensor(str(t.name), data[t.name], t) for t in tensors}
    colspecs = [s for s in specs if isinstance(s, ColSpec)]
    frame = _to_frame(data)
    if schema.has_input_names:
        return _enforce_named_columns(frame, colspecs)
    return _enforce_unnamed_columns(frame, colspecs)
