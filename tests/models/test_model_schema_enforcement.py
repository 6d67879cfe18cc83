"""Signature enforcement: by name, safe conversions only, missing columns named."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlgrpc.models import (
    ColSpec,
    Schema,
    SchemaEnforcementError,
    TensorSpec,
    enforce_schema,
)

SCHEMA = Schema([ColSpec("double", "a"), ColSpec("long", "b"), ColSpec("string", "c")])


def test_columns_in_any_order_come_out_in_signature_order() -> None:
    frame = pd.DataFrame({"c": ["x"], "b": [1], "a": [0.5]})
    assert list(enforce_schema(frame, SCHEMA).columns) == ["a", "b", "c"]


def test_missing_column_error_names_it() -> None:
    with pytest.raises(SchemaEnforcementError, match=r"missing inputs \['b'\]") as caught:
        enforce_schema(pd.DataFrame({"a": [0.5], "c": ["x"]}), SCHEMA)
    assert caught.value.missing == ["b"]


def test_schema_enforcement_error_is_a_value_error() -> None:
    assert issubclass(SchemaEnforcementError, ValueError)


def test_extra_columns_are_dropped_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    frame = pd.DataFrame({"a": [0.5], "b": [1], "c": ["x"], "zzz": [9]})
    assert "zzz" not in enforce_schema(frame, SCHEMA).columns
    assert "zzz" in caplog.text


def test_int_column_converts_to_double() -> None:
    out = enforce_schema(pd.DataFrame({"a": [1], "b": [1], "c": ["x"]}), SCHEMA)
    assert out["a"].dtype == np.float64


def test_float_with_nan_in_integer_column_is_refused_with_hint() -> None:
    frame = pd.DataFrame({"a": [0.5, 1.0], "b": [1.0, np.nan], "c": ["x", "y"]})
    with pytest.raises(SchemaEnforcementError, match="missing values") as caught:
        enforce_schema(frame, SCHEMA)
    assert caught.value.column == "b"


def test_float_in_integer_column_is_refused() -> None:
    with pytest.raises(SchemaEnforcementError, match="'b'"):
        enforce_schema(pd.DataFrame({"a": [0.5], "b": [1.5], "c": ["x"]}), SCHEMA)


def test_string_in_double_column_is_refused() -> None:
    with pytest.raises(SchemaEnforcementError, match="'a'"):
        enforce_schema(pd.DataFrame({"a": ["1.0"], "b": [1], "c": ["x"]}), SCHEMA)


def test_number_in_string_column_is_refused() -> None:
    with pytest.raises(SchemaEnforcementError, match="'c'"):
        enforce_schema(pd.DataFrame({"a": [0.5], "b": [1], "c": [3]}), SCHEMA)


def test_int64_fitting_in_int32_converts_and_overflow_is_refused() -> None:
    schema = Schema([ColSpec("integer", "n")])
    assert enforce_schema({"n": [1, 2]}, schema)["n"].dtype == np.int32
    with pytest.raises(SchemaEnforcementError):
        enforce_schema({"n": [2**40]}, schema)


def test_dict_of_scalars_is_one_row() -> None:
    out = enforce_schema({"c": "x", "a": 1.0, "b": 2}, SCHEMA)
    assert out.shape == (1, 3)


def test_list_of_row_dicts_is_accepted() -> None:
    rows = [{"a": 1.0, "b": 2, "c": "x"}, {"c": "y", "b": 3, "a": 2.0}]
    assert enforce_schema(rows, SCHEMA)["b"].tolist() == [2, 3]


def test_optional_column_may_be_absent() -> None:
    schema = Schema([ColSpec("double", "a"), ColSpec("double", "b", required=False)])
    assert list(enforce_schema({"a": [1.0]}, schema).columns) == ["a"]


def test_unnamed_ndarray_against_named_schema_explains_names_are_needed() -> None:
    with pytest.raises(SchemaEnforcementError, match="no column names"):
        enforce_schema(np.zeros((1, 3)), SCHEMA)


def test_unnamed_column_schema_checks_the_count() -> None:
    schema = Schema([ColSpec("double"), ColSpec("double")])
    with pytest.raises(SchemaEnforcementError, match="2 input column"):
        enforce_schema(np.zeros((1, 3)), schema)


def test_tensor_schema_checks_fixed_dimensions() -> None:
    schema = Schema([TensorSpec(np.dtype("float64"), (-1, 2))])
    assert enforce_schema(np.zeros((5, 2), dtype=np.int64), schema).dtype == np.float64
    with pytest.raises(SchemaEnforcementError, match="shape"):
        enforce_schema(np.zeros((5, 3)), schema)


def test_no_schema_passes_data_through() -> None:
    data = np.zeros((2, 2))
    assert enforce_schema(data, None) is data


def test_json_decoded_object_values_convert_like_numbers() -> None:
    out = enforce_schema(
        {"a": np.array([1, 2.5], dtype=object), "b": [1, 2], "c": ["x", "y"]}, SCHEMA
    )
    assert out["a"].tolist() == [1.0, 2.5]
