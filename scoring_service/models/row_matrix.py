"""Rows of plain numbers under named columns → the fast path's float64 matrix, in one step.

The general path (`enforce.model_input`) turns rows into named columns and checks every value
of each column in Python: right for any input, and its errors name the column and the row. For
the common request of a served numeric model — every value an int or a float, the columns
named once, each row as wide as the column list — the same matrix comes from one numpy
conversion, with the column order looked up once per model and column list, a type check over
all values at C speed, and one vectorised finiteness check. Whatever is not that (a null, a
string, a boolean, a duplicate or missing column, a ragged row, a number beyond a double, NaN
or ±inf for a model that refuses them, a signature column that is not a double…) gets None
here, and the caller takes the general path, which answers it exactly as before: this module
decides only when nothing needs naming.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np

from scoring_service.models.loaded import LoadedModel

#: The Python types a double column takes as they are (bool is not int here: `type` is exact).
_PLAIN_NUMBERS = frozenset({int, float})
#: A request's column list → where each of the matrix's columns is in it (None: identity).
#: Bounded per model: clients send a few column lists; beyond this many they are not cached.
_MAX_LAYOUTS = 64
_NOT_FAST = "not fast"


def rows_matrix(
    model: LoadedModel, columns: list[str], rows: list[Any], max_rows: int
) -> np.ndarray | None:
    """The matrix `model_input` would make of these rows, or None for the general path.

    `columns` must be a list of strings (the caller checked); `rows` anything.
    """
    if not model.rows_fast_path or not rows or (max_rows and len(rows) > max_rows):
        return None
    layouts = model.row_layouts
    key = tuple(columns)
    order = layouts.get(key, _NOT_FAST if len(layouts) >= _MAX_LAYOUTS else None)
    if order is None:
        order = layouts[key] = _layout(model, key)
    if order is _NOT_FAST:
        return None
    if set(map(type, rows)) != {list} or set(map(len, rows)) != {len(key)}:
        return None
    if not set(map(type, itertools.chain.from_iterable(rows))) <= _PLAIN_NUMBERS:
        return None
    try:
        # fsum is NaN or ±inf when a value is, and raises on inf - inf or on a sum beyond a
        # double (then the general path checks value by value): one C loop, no array.
        if model.finite_input_only and not math.isfinite(
            math.fsum(itertools.chain.from_iterable(rows))
        ):
            return None
        matrix = np.array(rows, dtype=np.float64)
    except (OverflowError, ValueError):  # an int beyond a double: the general path names it
        return None
    return matrix if order is True else matrix.take(order, axis=1)


def _layout(model: LoadedModel, columns: tuple[str, ...]) -> Any:
    """True (the request's order is the matrix's), the column indices to take, or _NOT_FAST."""
    position = {name: i for i, name in enumerate(columns)}
    if len(position) != len(columns):  # a duplicate name: the general path refuses it
        return _NOT_FAST
    if any(c.required and c.name not in position for c in model.inputs):
        return _NOT_FAST  # a missing column: the general path names it
    if not all(name in position for name in model.matrix_columns):
        return _NOT_FAST
    order = [position[name] for name in model.matrix_columns]
    if order == list(range(len(columns))):
        return True
    return np.array(order, dtype=np.intp)
