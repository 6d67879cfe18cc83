"""Schema enforcement for serving: columns matched by name, converted only when safe.

Input is a `ColumnBatch` (named columns of equal length, as every codec produces); output is
what the model predicts on: a float64 matrix for the numeric fast path, otherwise a pandas
DataFrame in signature order. Errors name the column (or tensor) and the row, and say what
would be right: a value a typed column cannot hold (a list in a cell, a string for a number, a
number out of the column's range) is the caller's mistake, never the model's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mlgrpc_server.errors import InvalidArgument, ResourceExhausted
from scoring_service.models.loaded import InputColumn, LoadedModel

_INTEGER_TYPES = {"long": np.int64, "integer": np.int32}
_FLOAT32_MAX = float(np.finfo(np.float32).max)
#: The smallest integer that float() refuses (OverflowError): float64's max rounds up to it.
_FLOAT64_LIMIT = 2**1024 - 2**970


@dataclass(frozen=True)
class Where:
    """How errors name one input column: the text ("column 'x'") and the request field."""

    text: str
    field: str


@dataclass
class ColumnBatch:
    """Named columns of equal length (`n_rows`), each a list or a 1-D numpy array.

    `positional` marks columns that came without names (rows of bare values); their keys are
    the signature's column names in signature order. `noun` is what the request calls a column
    ("input" for an OIP tensor); `matrix_input` names the one tensor that carried every column
    (OIP's [n, ncols] form), so that errors point at it and the column's position.
    """

    columns: dict[str, Any] = field(default_factory=dict)
    n_rows: int = 0
    positional: bool = False
    noun: str = "column"
    matrix_input: str = ""

    def where(self, column: str) -> Where:
        if self.matrix_input and column in self.columns:
            position = list(self.columns).index(column)
            return Where(
                f"{self.noun} {self.matrix_input!r} column {position} ({column!r})",
                self.matrix_input,
            )
        return Where(f"{self.noun} {column!r}", column)


def _bad_value(where: Where, expected: str, values: Sequence[Any], row_ok: Any) -> InvalidArgument:
    for row, value in enumerate(values):
        if not row_ok(value):
            return InvalidArgument(
                f"{where.text} expects {expected}; row {row} has {value!r}", field=where.field
            )
    return InvalidArgument(f"{where.text} expects {expected}", field=where.field)


def _cells(where: Where, values: Any) -> np.ndarray:
    """The column as a 1-D array; a list, tuple or object in a cell is refused by row.

    numpy would otherwise read nested cells as extra dimensions (or fail on ragged ones), and a
    typed column holds one value per row. Values of one kind get numpy's type for it, as
    np.asarray gives them, except that booleans never count as numbers and an int beyond int64
    stays an object (for the converters to name).
    """
    if isinstance(values, np.ndarray):
        if values.ndim != 1:
            raise InvalidArgument(
                f"{where.text} has shape {list(values.shape)}; a column holds one value per row",
                field=where.field,
            )
        return values
    kinds = {type(v) for v in values}
    if any(issubclass(kind, list | tuple | dict) for kind in kinds):
        row, value = next(
            (i, v) for i, v in enumerate(values) if isinstance(v, list | tuple | dict)
        )
        shown = "an object" if isinstance(value, dict) else "a list"
        raise InvalidArgument(
            f"{where.text} row {row} holds {shown} ({_shown(value)}); each cell of a typed "
            "column is one value",
            field=where.field,
        )
    try:
        if kinds == {float} or kinds == {int, float}:
            return np.array(values, dtype=np.float64)
        if kinds == {int}:
            return np.array(values, dtype=np.int64)
        if kinds == {bool}:
            return np.array(values, dtype=np.bool_)
    except OverflowError:
        pass
    array = np.empty(len(values), dtype=object)
    array[:] = values
    return array


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _is_number(value: Any) -> bool:
    return value is None or (isinstance(value, int | float) and not isinstance(value, bool))


def to_float64(where: Where, values: Any) -> np.ndarray:
    """A float64 column from numbers (None → NaN); strings, booleans and lists are refused."""
    arr = _cells(where, values)
    kind = arr.dtype.kind
    if kind in "fiu":
        return arr.astype(np.float64, copy=False)
    if kind == "O":
        items = arr.tolist()
        if all(_is_number(v) for v in items):
            for row, value in enumerate(items):
                if isinstance(value, int) and not -_FLOAT64_LIMIT < value < _FLOAT64_LIMIT:
                    raise InvalidArgument(
                        f"{where.text} row {row} has a number beyond the range of a double",
                        field=where.field,
                    )
            return np.array([np.nan if v is None else v for v in items], dtype=np.float64)
    raise _bad_value(where, "a number", list(arr.tolist()), _is_number)


def to_float32(where: Where, values: Any) -> np.ndarray:
    """A float32 column; a finite number beyond float32's range is refused (it would be inf)."""
    arr = to_float64(where, values)
    too_big = np.abs(arr) > _FLOAT32_MAX
    too_big &= np.isfinite(arr)
    if too_big.any():
        row = int(np.flatnonzero(too_big)[0])
        raise InvalidArgument(
            f"{where.text} is float (32-bit); row {row} has {arr[row].item()!r}, beyond its range "
            f"(±{_FLOAT32_MAX:.6g})",
            field=where.field,
        )
    return arr.astype(np.float32)


def _out_of_range(where: Where, type_name: str, row: int, value: Any) -> InvalidArgument:
    info = np.iinfo(_INTEGER_TYPES[type_name])
    return InvalidArgument(
        f"{where.text} is {type_name}; row {row} has {value!r}, outside its range "
        f"[{info.min}, {info.max}]",
        field=where.field,
    )


def to_integer(where: Where, values: Any, type_name: str) -> np.ndarray:
    """An integer column; integral floats (JSON numbers) are accepted, NaN, ±inf, fractions
    and numbers outside the type's range are not (numpy would wrap them around silently)."""
    dtype = _INTEGER_TYPES[type_name]
    info = np.iinfo(dtype)
    arr = _cells(where, values)
    kind = arr.dtype.kind
    if kind in "iu":
        source = np.iinfo(arr.dtype)
        if source.min < info.min or source.max > info.max:
            # Compared in the source's type: an unsigned array cannot hold a negative bound.
            outside = arr > info.max if kind == "u" else (arr < info.min) | (arr > info.max)
            if outside.any():
                row = int(np.flatnonzero(outside)[0])
                raise _out_of_range(where, type_name, row, arr[row].item())
        return arr.astype(dtype, copy=False)
    if kind == "f":
        missing = ~np.isfinite(arr)
        if missing.any():
            row = int(np.flatnonzero(missing)[0])
            shown = "missing (null/NaN)" if np.isnan(arr[row]) else f"{arr[row].item()!r}"
            raise InvalidArgument(
                f"{where.text} is {type_name} but row {row} is {shown}; send an integer, or log "
                "the model with a double column to allow missing values",
                field=where.field,
            )
        fraction = np.mod(arr, 1) != 0
        if fraction.any():
            row = int(np.flatnonzero(fraction)[0])
            raise InvalidArgument(
                f"{where.text} expects {type_name} (an integer); row {row} has "
                f"{arr[row].item()!r}, converting it would lose the fraction",
                field=where.field,
            )
        # float(info.min) is exact (a power of two); info.max as a float rounds up past it.
        outside = (arr < float(info.min)) | (arr >= -float(info.min))
        if outside.any():
            row = int(np.flatnonzero(outside)[0])
            raise _out_of_range(where, type_name, row, arr[row].item())
        return arr.astype(dtype)

    items = arr.tolist()
    if all(_is_integral(v) for v in items):
        for row, value in enumerate(items):
            if not info.min <= value <= info.max:
                raise _out_of_range(where, type_name, row, value)
        return np.array([int(v) for v in items], dtype=dtype)
    raise _bad_value(where, f"{type_name} (an integer)", items, _is_integral)


def _is_integral(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


def _convert(column: InputColumn, values: Any, where: Where) -> Any:
    kind = column.type
    if kind == "double":
        return to_float64(where, values)
    if kind == "float":
        return to_float32(where, values)
    if kind in _INTEGER_TYPES:
        return to_integer(where, values, kind)
    if kind == "boolean":
        arr = _cells(where, values)
        if arr.dtype.kind == "b":
            return arr
        raise _bad_value(where, "a boolean", list(arr.tolist()), lambda v: isinstance(v, bool))
    if kind == "string":
        seq = _cells(where, values).tolist()
        if all(isinstance(v, str) or v is None for v in seq):
            return np.array(seq, dtype=object)
        raise _bad_value(where, "a string", seq, lambda v: isinstance(v, str) or v is None)
    if kind == "datetime":
        import pandas as pd

        seq = _cells(where, values).tolist()
        try:
            return pd.to_datetime(seq)
        except (ValueError, TypeError, OverflowError) as exc:
            raise InvalidArgument(
                f"{where.text} expects a datetime (ISO 8601 text): {exc}", field=where.field
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
        matrix = _fast_matrix(model, batch)
        if model.finite_input_only and not np.isfinite(matrix).all():
            check_finite(batch, list(zip(model.matrix_columns, matrix.T, strict=True)))
        return True, matrix
    import pandas as pd

    data = {
        str(c.name): _convert(c, batch.columns[str(c.name)], batch.where(str(c.name)))
        for c in model.inputs
        if c.name in batch.columns
    }
    if model.finite_input_only:
        check_finite(batch, list(data.items()))
    return False, pd.DataFrame(data)


def _unnamed_matrix(model: LoadedModel, batch: ColumnBatch) -> np.ndarray:
    """Unnamed signatures (MLflow checks only the count): columns by position."""
    values = list(batch.columns.items())
    if len(values) != len(model.inputs):
        raise InvalidArgument(
            f"the model takes {len(model.inputs)} unnamed input columns; the request has "
            f"{len(values)}",
            field="payload",
        )
    converted = [
        (name, _convert(InputColumn(f"#{i}", c.type), v, batch.where(name)))
        for i, (c, (name, v)) in enumerate(zip(model.inputs, values, strict=True))
    ]
    if model.finite_input_only:
        check_finite(batch, converted)
    return np.column_stack([v for _, v in converted])


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
        try:
            return _checked_integers(model, batch, np.array(columns, dtype=np.float64).T)
        except OverflowError:  # an int beyond float64: the per-column path names it
            pass
    matrix = np.empty((batch.n_rows, len(columns)), dtype=np.float64)
    for j, name in enumerate(model.matrix_columns):
        matrix[:, j] = to_float64(batch.where(name), batch.columns[name])
    return _checked_integers(model, batch, matrix)


def _checked_integers(model: LoadedModel, batch: ColumnBatch, matrix: np.ndarray) -> np.ndarray:
    # Integer, boolean and float (32-bit) columns are still checked against their real type.
    for column in model.inputs:
        name = str(column.name)
        if column.type != "double" and name in batch.columns:
            _convert(column, batch.columns[name], batch.where(name))
    return matrix


def first_non_finite(
    batch: ColumnBatch, columns: Sequence[tuple[str, Any]], *, nan: bool = True, inf: bool = True
) -> tuple[Where, int, str] | None:
    """(where, row, what) of the first NaN or null (`nan`) or ±inf (`inf`) among the float
    `columns`, by row."""
    found: tuple[int, int] | None = None
    for j, (_name, values) in enumerate(columns):
        arr = np.asarray(values)
        if arr.dtype.kind != "f" or arr.ndim != 1:
            continue
        mask = np.zeros(arr.shape, dtype=bool)
        if nan:
            mask |= np.isnan(arr)
        if inf:
            mask |= np.isinf(arr)
        bad = np.flatnonzero(mask)
        if bad.size and (found is None or int(bad[0]) < found[0]):
            found = (int(bad[0]), j)
    if found is None:
        return None
    row, j = found
    name, values = columns[j]
    value = float(np.asarray(values)[row])
    original = batch.columns.get(name)
    if isinstance(original, list) and original[row] is None:
        what = "null"
    else:
        what = "NaN" if np.isnan(value) else ("inf" if value > 0 else "-inf")
    return batch.where(name), row, what


def check_finite(batch: ColumnBatch, columns: Sequence[tuple[str, Any]]) -> None:
    """Refuse the first missing or infinite number, naming its column and row."""
    found = first_non_finite(batch, columns)
    if found is None:
        return
    where, row, what = found
    if what in ("null", "NaN"):
        remedy = "this model takes no missing values"
    else:
        remedy = "this model takes finite numbers only"
    raise InvalidArgument(f"{where.text} row {row} is {what}; {remedy}", field=where.field)
