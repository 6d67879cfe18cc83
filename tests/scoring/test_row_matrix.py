"""The one-step rows → matrix path (`models/row_matrix.py`) against the general path: where it
answers, it gives the general path's matrix; whatever the general path refuses, it declines
(None), so that the general path names the column and row as before."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlgrpc_server.errors import ServiceError
from scoring_service.codecs.predict_payload import decode_mlflow_input
from scoring_service.models.enforce import check_rows, model_input
from scoring_service.models.loader import load_model_dir
from scoring_service.models.row_matrix import rows_matrix

from .conftest import SEED_COLUMNS, SEED_ROW

numbers = st.one_of(
    st.floats(width=64),  # NaN and ±inf included
    st.integers(min_value=-(2**1100), max_value=2**1100),  # some beyond a double
)
cells = st.one_of(numbers, numbers, numbers, st.none(), st.booleans(), st.text(max_size=3))


@pytest.fixture(scope="module")
def wine_model(wine_model_dir: Path) -> Any:
    return load_model_dir(wine_model_dir, allow_pickle=False)


def _general(model: Any, columns: list[str], rows: list[Any], max_rows: int) -> np.ndarray | None:
    """The general path's matrix, or None when it refuses the input."""
    try:
        batch = decode_mlflow_input("dataframe_split", {"columns": columns, "data": rows}, model)
        check_rows(batch, max_rows)
        is_matrix, data = model_input(model, batch)
    except ServiceError:
        return None
    assert is_matrix
    return data


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    columns=st.permutations(SEED_COLUMNS)
    | st.lists(st.sampled_from([*SEED_COLUMNS, "extra"]), max_size=13),
    data=st.data(),
)
def test_one_step_matrix_is_the_general_paths_or_declines(
    wine_model: Any, columns: list[str], data: Any
) -> None:
    width = max(0, len(columns) + data.draw(st.sampled_from([0, 0, 0, 0, 1, -1])))
    cell = data.draw(st.sampled_from([numbers, cells]))  # all numbers: the path it takes
    rows = data.draw(st.lists(st.lists(cell, min_size=width, max_size=width), max_size=3))
    fast = rows_matrix(wine_model, columns, rows, max_rows=2)
    general = _general(wine_model, columns, rows, max_rows=2)
    if general is None:
        assert fast is None  # refused: the general path must say why
    elif fast is not None:
        assert fast.dtype == np.float64
        np.testing.assert_array_equal(fast, general)


def test_the_seed_row_in_any_column_order_takes_one_step(wine_model: Any) -> None:
    order = list(reversed(range(len(SEED_COLUMNS))))
    columns, row = [SEED_COLUMNS[i] for i in order], [SEED_ROW[i] for i in order]
    fast = rows_matrix(wine_model, columns, [row], max_rows=0)
    assert fast is not None
    np.testing.assert_array_equal(fast, _general(wine_model, columns, [row], 0))


@pytest.mark.parametrize(
    "change",
    [
        "null",
        "bool",
        "text",
        "nan",
        "inf",
        "huge int",
        "ragged",
        "duplicate column",
        "missing column",
        "too many rows",
    ],
)
def test_what_needs_naming_takes_the_general_path(wine_model: Any, change: str) -> None:
    columns, rows, max_rows = list(SEED_COLUMNS), [list(SEED_ROW), list(SEED_ROW)], 0
    value = {"null": None, "bool": True, "text": "1.5", "nan": float("nan"),
             "inf": float("inf"), "huge int": 2**1100}.get(change)  # fmt: skip
    if change in ("null", "bool", "text", "nan", "inf", "huge int"):
        rows[1][3] = value
    elif change == "ragged":
        rows[1].append(1.0)
    elif change == "duplicate column":
        columns[1] = columns[0]
    elif change == "missing column":
        columns, rows = columns[1:], [row[1:] for row in rows]
    else:
        max_rows = 1
    assert rows_matrix(wine_model, columns, rows, max_rows) is None
    assert _general(wine_model, columns, rows, max_rows) is None
