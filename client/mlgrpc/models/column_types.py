"""The one check of a column against its MLflow type, for the client's `predict` and the
scoring service alike: values convert only when no value can change meaning, and an error names
the column (or tensor) and the row, and says what would be right.

- double: any number (None → NaN); booleans, strings and lists are refused;
- float: numbers within float32's range; long/integer: integers in range, and (where the input
  came as JSON, which knows only doubles: `integral_floats=True`) integral doubles; NaN, ±inf
  and fractions never; boolean, string, binary: values of that kind; datetime: ISO 8601 text.
A list, tuple or object in a cell is refused by row (numpy would read it as a dimension).

Errors are `SchemaEnforcementError` (an InvalidArgumentError and a ValueError) whose `column`
is the request field to blame; the scoring service turns them into its own InvalidArgument.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mlgrpc.exceptions import InvalidArgumentError

_INTEGER_TYPES = {"long": np.int64, "integer": np.int32}
_FLOAT32_MAX = float(np.finfo(np.float32).max)
#: The smallest integer that float() refuses (OverflowError): float64's max rounds up to it.
_FLOAT64_LIMIT = 2**1024 - 2**970


class SchemaEnforcementError(InvalidArgumentError, ValueError):
    """Input does not fit the model's signature; the message names the columns concerned."""

    def __init__(
        self, message: str, *, missing: Sequence[str] = (), column: str | None = None
    ) -> None:
        super().__init__(message, field=column or "inputs")
        self.missing = list(missing)
        self.column = column


def _error(message: str, *, where: Where) -> SchemaEnforcementError:
    return SchemaEnforcementError(message, column=where.field)


@dataclass(frozen=True)
class Where:
    """How errors name one input column: the text ("column 'x'") and the request field."""

    text: str
    field: str


def _bad_value(
    where: Where, expected: str, values: Sequence[Any], row_ok: Any
) -> SchemaEnforcementError:
    for row, value in enumerate(values):
        if not row_ok(value):
            return _error(f"{where.text} expects {expected}; row {row} has {value!r}", where=where)
    return _error(f"{where.text} expects {expected}", where=where)


def _cells(where: Where, values: Any) -> np.ndarray:
    """The column as a 1-D array; a list, tuple or object in a cell is refused by row.

    numpy would otherwise read nested cells as extra dimensions (or fail on ragged ones), and a
    typed column holds one value per row. Values of one kind get numpy's type for it, as
    np.asarray gives them, except that booleans never count as numbers and an int beyond int64
    stays an object (for the converters to name).
    """
    if isinstance(values, np.ndarray) and values.dtype.kind == "O" and values.ndim == 1:
        values = values.tolist()  # e.g. a DataFrame column of Python objects: typed below
    if isinstance(values, np.ndarray):
        if values.ndim != 1:
            raise _error(
                f"{where.text} has shape {list(values.shape)}; a column holds one value per row",
                where=where,
            )
        return values
    kinds = {type(v) for v in values}
    if any(issubclass(kind, list | tuple | dict) for kind in kinds):
        row, value = next(
            (i, v) for i, v in enumerate(values) if isinstance(v, list | tuple | dict)
        )
        shown = "an object" if isinstance(value, dict) else "a list"
        raise _error(
            f"{where.text} row {row} holds {shown} ({_shown(value)}); each cell of a typed "
            "column is one value",
            where=where,
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
                    raise _error(
                        f"{where.text} row {row} has a number beyond the range of a double",
                        where=where,
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
        raise _error(
            f"{where.text} is float (32-bit); row {row} has {arr[row].item()!r}, beyond its range "
            f"(±{_FLOAT32_MAX:.6g})",
            where=where,
        )
    return arr.astype(np.float32)


def _out_of_range(where: Where, type_name: str, row: int, value: Any) -> SchemaEnforcementError:
    info = np.iinfo(_INTEGER_TYPES[type_name])
    return _error(
        f"{where.text} is {type_name}; row {row} has {value!r}, outside its range "
        f"[{info.min}, {info.max}]",
        where=where,
    )


def to_integer(
    where: Where, values: Any, type_name: str, *, integral_floats: bool = True
) -> np.ndarray:
    """An integer column; integral floats (JSON numbers) are accepted when `integral_floats`,
    NaN, ±inf, fractions and numbers outside the type's range never (numpy would wrap them
    around silently)."""
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
            raise _error(
                f"{where.text} is {type_name} but row {row} is {shown}; send an integer, or log "
                "the model with a double column to allow missing values",
                where=where,
            )
        if not integral_floats:
            raise _error(
                f"{where.text} expects {type_name} (an integer): can not safely convert "
                f"{arr.dtype} to {type_name}; send integers",
                where=where,
            )
        fraction = np.mod(arr, 1) != 0
        if fraction.any():
            row = int(np.flatnonzero(fraction)[0])
            raise _error(
                f"{where.text} expects {type_name} (an integer); row {row} has "
                f"{arr[row].item()!r}, converting it would lose the fraction",
                where=where,
            )
        # float(info.min) is exact (a power of two); info.max as a float rounds up past it.
        outside = (arr < float(info.min)) | (arr >= -float(info.min))
        if outside.any():
            row = int(np.flatnonzero(outside)[0])
            raise _out_of_range(where, type_name, row, arr[row].item())
        return arr.astype(dtype)

    items = arr.tolist()
    integral = _is_integral if integral_floats else _is_int
    if all(integral(v) for v in items):
        for row, value in enumerate(items):
            if not info.min <= value <= info.max:
                raise _out_of_range(where, type_name, row, value)
        return np.array([int(v) for v in items], dtype=dtype)
    raise _bad_value(where, f"{type_name} (an integer)", items, integral)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_integral(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


def convert(type_name: str, values: Any, where: Where, *, integral_floats: bool = True) -> Any:
    """`values` as the numpy type of MLflow type `type_name` (other types: unchanged)."""
    kind = type_name
    if kind == "double":
        return to_float64(where, values)
    if kind == "float":
        return to_float32(where, values)
    if kind in _INTEGER_TYPES:
        return to_integer(where, values, kind, integral_floats=integral_floats)
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
    if kind == "binary":
        seq = _cells(where, values).tolist()
        if all(isinstance(v, bytes) or v is None for v in seq):
            return np.array(seq, dtype=object)
        raise _bad_value(where, "bytes", seq, lambda v: isinstance(v, bytes) or v is None)
    if kind == "datetime":
        import pandas as pd

        arr = _cells(where, values)
        if arr.dtype.kind == "M":
            return arr
        seq = arr.tolist()
        try:
            return pd.to_datetime(seq)
        except (ValueError, TypeError, OverflowError) as exc:
            raise _error(
                f"{where.text} expects a datetime (ISO 8601 text): {exc}", where=where
            ) from exc
    return values
