"""Schema enforcement for serving: columns matched by name, converted only when safe.

Each column is checked by the same code as the client's `predict` (`mlgrpc.models.
column_types`); here, integral doubles are accepted for integer columns (JSON has no integers).

Input is a `ColumnBatch` (named columns of equal length, as every codec produces); output is
what the model predicts on: a float64 matrix for the numeric fast path, otherwise a pandas
DataFrame in signature order. Errors name the column (or tensor) and the row, and say what
would be right: a value a typed column cannot hold (a list in a cell, a string for a number, a
number out of the column's range) is the caller's mistake, never the model's.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mlgrpc.models import column_types
from mlgrpc.models.column_types import SchemaEnforcementError, Where
from mlgrpc_server.errors import InvalidArgument, ResourceExhausted
from scoring_service.models.loaded import InputColumn, LoadedModel


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


def _served(convert: Callable[..., Any]) -> Callable[..., Any]:
    """The shared column check, raising the service's InvalidArgument (same text and field)."""

    @functools.wraps(convert)
    def served(*args: Any, **kwargs: Any) -> Any:
        try:
            return convert(*args, **kwargs)
        except SchemaEnforcementError as exc:
            raise InvalidArgument(exc.message, field=exc.column) from None

    return served


to_float64 = _served(column_types.to_float64)
to_float32 = _served(column_types.to_float32)
to_integer = _served(column_types.to_integer)
_convert_type = _served(column_types.convert)


def _convert(column: InputColumn, values: Any, where: Where) -> Any:
    return _convert_type(column.type, values, where)


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
