"""Schema enforcement for serving: columns matched by name, converted only when safe.

Input is a `ColumnBatch` (named columns of equal length, as every codec produces); output is
what the model predicts on: a float64 matrix for the numeric fast path, otherwise a pandas
DataFrame in signature order. Errors name the column and say what would be right.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mlgrpc_server.errors import InvalidArgument, ResourceExhausted
from scoring_service.models.loaded import InputColumn, LoadedModel

_INTEGER_TYPES = {"long": np.int64, "integer": np.int32}


@dataclass
class ColumnBatch:
    """Named columns of equal length (`n_rows`), each a list or a 1-D numpy array.

    `positional` marks columns that came without names (rows of bare values); their keys are
    the signature's column names in signature order.
    """

    columns: dict[str, Any] = field(default_factory=dict)
    n_rows: int = 0
    positional: bool = False


def _bad_value(column: str, expected: str, values: Sequence[Any], row_ok: Any) -> InvalidArgument:
    for row, value in enumerate(values):
        if not row_ok(value):
            return InvalidArgument(
                f"column {column!r} expects {expected}; row {row} has {value!r}",
                field=column,
            )
    return InvalidArgument(f"column {column!r} expects {expected}", field=column)


def _is_number(value: Any) -> bool:
    return value is None or (isinstance(value, int | float) and not isinstance(value, bool))


def to_float64(column: str, values: Any) -> np.ndarray:
    """A float64 column from numbers (None → NaN); strings and booleans are refused."""
    arr = values if isinstance(values, np.ndarray) else np.asarray(values)
    kind = arr.dtype.kind
    if kind in "fiu":
        return arr.astype(np.float64, copy=False)
    if kind == "O":
        if all(_is_number(v) for v in arr.tolist()):
            return np.array([np.nan if v is None else v for v in arr.tolist()], dtype=np.float64)
    raise _bad_value(column, "a number", list(arr.tolist()), _is_number)


def to_integer(column: str, values: Any, type_name: str) -> np.ndarray:
    """An integer column; integral floats (JSON numbers) are accepted, NaN and fractions not."""
    dtype = _INTEGER_TYPES[type_name]
    arr = values if isinstance(values, np.ndarray) else np.asarray(values)
    kind = arr.dtype.kind
    if kind in "iu":
        return arr.astype(dtype, copy=False)
    if kind == "f":
        if np.isnan(arr).any():
            row = int(np.flatnonzero(np.isnan(arr))[0])
            raise InvalidArgument(
                f"column {column!r} is {type_name} but row {row} is missing (null/NaN); send a "
                "value, or log the model with a double column to allow missing values",
                field=column,
            )
        if not np.all(np.mod(arr, 1) == 0):
            row = int(np.flatnonzero(np.mod(arr, 1) != 0)[0])
            raise InvalidArgument(
                f"column {column!r} expects {type_name} (an integer); row {row} has "
                f"{arr[row]!r}, converting it would lose the fraction",
                field=column,
            )
        return arr.astype(dtype)

    def is_int(v: Any) -> bool:
        return isinstance(v, int) and not isinstance(v, bool)

    if kind == "O" and all(is_int(v) for v in arr.tolist()):
        return arr.astype(dtype)
    raise _bad_value(column, f"{type_name} (an integer)", list(arr.tolist()), is_int)


def _convert(column: InputColumn, values: Any) -> Any:
    name = str(column.name)
    kind = column.type
    if kind in ("double", "float"):
        arr = to_float64(name, values)
        return arr.astype(np.float32) if kind == "float" else arr
    if kind in _INTEGER_TYPES:
        return to_integer(name, values, kind)
    if kind == "boolean":
        arr = values if isinstance(values, np.ndarray) else np.asarray(values)
        if arr.dtype.kind == "b":
            return arr
        raise _bad_value(name, "a boolean", list(arr.tolist()), lambda v: isinstance(v, bool))
    if kind == "string":
        seq = values.tolist() if isinstance(values, np.ndarray) else list(values)
        if all(isinstance(v, str) or v is None for v in seq):
            return np.array(seq, dtype=object)
        raise _bad_value(name, "a string", seq, lambda v: isinstance(v, str) or v is None)
    if kind == "datetime":
        import pandas as pd

        try:
            return pd.to_datetime(list(values))
        except (ValueError, TypeError) as exc:
            raise InvalidArgument(
                f"column {name!r} expects a datetime (ISO 8601 text): {exc}", field=name
            ) from exc
    return values


def check_rows(batch: ColumnBatch, max_rows: int) -> None:
    if batch.n_rows == 0:
        raise InvalidArgument("the request holds no rows; send at least one", field="payload")
    if max_rows and batch.n_rows > max_rows:
        raise ResourceExhausted(
            f"the request holds {batch.n_rows} rows; this server accepts at most {max_rows} "
            "per request (--max-request-rows / MLGRPC_MAX_REQUEST_ROWS): split it",
            field="payload",
            metadata={"limit": str(max_rows)},
        )


def _missing(model: LoadedModel, batch: ColumnBatch) -> list[str]:
    return [str(c.name) for c in model.inputs if c.required and c.name not in batch.columns]


def model_input(model: LoadedModel, batch: ColumnBatch) -> tuple[bool, Any]:
    """(is_matrix, input): the float64 matrix of the fast path, or a DataFrame."""
    if not model.inputs:
        import pandas as pd

        return False, pd.DataFrame(batch.columns)
    if not model.has_named_inputs:
        return False, _unnamed_matrix(model, batch)
    missing = _missing(model, batch)
    if missing:
        expected = [c.name for c in model.inputs]
        raise InvalidArgument(
            f"the model is missing input column(s) {missing}; it expects {expected} "
            "(matched by name, in any order)",
            field=missing[0],
        )
    if model.predict_matrix is not None and all(n in batch.columns for n in model.matrix_columns):
        return True, _fast_matrix(model, batch)
    import pandas as pd

    data = {
        str(c.name): _convert(c, batch.columns[str(c.name)])
        for c in model.inputs
        if c.name in batch.columns
    }
    return False, pd.DataFrame(data)


def _unnamed_matrix(model: LoadedModel, batch: ColumnBatch) -> np.ndarray:
    """Unnamed signatures (MLflow checks only the count): columns by position."""
    values = list(batch.columns.values())
    if len(values) != len(model.inputs):
        raise InvalidArgument(
            f"the model takes {len(model.inputs)} unnamed input columns; the request has "
            f"{len(values)}",
            field="payload",
        )
    converted = [
        _convert(InputColumn(f"#{i}", c.type), v)
        for i, (c, v) in enumerate(zip(model.inputs, values, strict=True))
    ]
    return np.column_stack(converted)


def _is_plain_number(value: Any) -> bool:
    kind = type(value)
    return kind is float or kind is int


def _fast_matrix(model: LoadedModel, batch: ColumnBatch) -> np.ndarray:
    """The float64 matrix of the fast path, columns in the estimator's order."""
    columns = [batch.columns[name] for name in model.matrix_columns]
    if all(type(c) is list for c in columns) and all(
        _is_plain_number(v) for c in columns for v in c
    ):
        # Decoded JSON rows of plain numbers: one conversion for the whole matrix.
        matrix = np.array(columns, dtype=np.float64).T
    else:
        matrix = np.empty((batch.n_rows, len(columns)), dtype=np.float64)
        for j, name in enumerate(model.matrix_columns):
            matrix[:, j] = to_float64(name, batch.columns[name])
    # Integer and boolean columns are still checked against their real type.
    for column in model.inputs:
        if column.type not in ("double", "float") and column.name in batch.columns:
            _convert(column, batch.columns[str(column.name)])
    return matrix
