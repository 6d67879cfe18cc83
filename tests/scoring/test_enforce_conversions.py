"""Conversions at the enforcement boundary: values numpy would wrap around, turn into inf or
read as extra dimensions silently are refused, naming the row."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from mlgrpc_server.errors import InvalidArgument
from scoring_service.models.enforce import Where, to_float32, to_float64, to_integer

WHERE = Where("column 'n'", "n")


@pytest.mark.parametrize(
    ("values", "type_name", "row"),
    [
        (np.array([1, 2**64 - 1], dtype=np.uint64), "long", 1),
        ([1.0, 1e300], "long", 1),
        ([2.0**63], "long", 0),
        (np.array([5, 2**40], dtype=np.int64), "integer", 1),
        ([3, 2**70], "long", 1),
        ([1.0, float("inf")], "long", 1),
    ],
)
def test_integer_out_of_range_is_refused_naming_the_row(
    values: Any, type_name: str, row: int
) -> None:
    with pytest.raises(InvalidArgument) as caught:
        to_integer(WHERE, values, type_name)
    assert f"row {row}" in caught.value.message
    assert caught.value.field == "n"


def test_integer_in_range_converts_exactly() -> None:
    limit = 2**63 - 1
    assert to_integer(WHERE, np.array([limit], dtype=np.uint64), "long").tolist() == [limit]
    assert to_integer(WHERE, [-(2.0**63), 2.0**62], "long").tolist() == [-(2**63), 2**62]


def test_float32_beyond_its_range_is_refused() -> None:
    with pytest.raises(InvalidArgument, match="row 1"):
        to_float32(WHERE, [1.0, 1e39])


@pytest.mark.parametrize("values", [[1.5, True], [10**400], ["1.5"], [[1.0]]])
def test_double_refuses_booleans_huge_ints_text_and_lists(values: list[Any]) -> None:
    with pytest.raises(InvalidArgument):
        to_float64(WHERE, values)


def test_a_boolean_among_integers_is_refused_naming_its_row() -> None:
    with pytest.raises(InvalidArgument, match="row 1 has True"):
        to_integer(WHERE, [1.0, True], "long")
