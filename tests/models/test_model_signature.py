"""Signature inference and its JSON, which must read exactly as MLflow's."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from mlgrpc.models import ColSpec, Model, ModelSignature, Schema, TensorSpec, infer_signature


def test_dataframe_columns_become_named_column_specs_in_order(wine_x: pd.DataFrame) -> None:
    signature = infer_signature(wine_x)
    specs = json.loads(signature.to_dict()["inputs"])
    assert [s["name"] for s in specs] == list(wine_x.columns)
    assert specs[0] == {"type": "double", "name": "fixed acidity", "required": True}


def test_column_spec_json_text_matches_mlflow_byte_for_byte() -> None:
    schema = Schema([ColSpec("double", "fixed acidity"), ColSpec("long", "n")])
    assert schema.to_json() == (
        '[{"type": "double", "name": "fixed acidity", "required": true}, '
        '{"type": "long", "name": "n", "required": true}]'
    )


def test_ndarray_predictions_become_a_tensor_spec_with_variable_batch() -> None:
    signature = infer_signature(pd.DataFrame({"a": [1.0]}), np.array([1.0, 2.0]))
    assert signature.to_dict()["outputs"] == (
        '[{"type": "tensor", "tensor-spec": {"dtype": "float64", "shape": [-1]}}]'
    )


@pytest.mark.parametrize(
    ("values", "type_name"),
    [
        (np.array([True, False]), "boolean"),
        (np.array([1, 2], dtype=np.int32), "integer"),
        (np.array([1, 2], dtype=np.int64), "long"),
        (np.array([1.5, 2.5], dtype=np.float32), "float"),
        (np.array([1.5, 2.5]), "double"),
        (["a", "b"], "string"),
        ([b"a", b"b"], "binary"),
        (pd.to_datetime(["2024-01-01", "2024-01-02"]), "datetime"),
    ],
)
def test_pandas_dtypes_map_to_mlflow_type_names(values: object, type_name: str) -> None:
    spec = infer_signature(pd.DataFrame({"c": values})).inputs.inputs[0]
    assert spec.type == type_name


def test_column_with_missing_values_is_not_required() -> None:
    spec = infer_signature(pd.DataFrame({"c": [1.0, np.nan]})).inputs.inputs[0]
    assert spec.required is False


def test_signature_dict_has_params_null_like_mlflow(wine_x: pd.DataFrame) -> None:
    assert infer_signature(wine_x).to_dict()["params"] is None


def test_signature_round_trips_through_mlmodel_yaml(tmp_path, wine_x: pd.DataFrame) -> None:
    signature = infer_signature(wine_x, np.zeros(3))
    Model(signature=signature).save(tmp_path / "MLmodel")
    assert Model.load(tmp_path).signature == signature


def test_named_tensor_spec_writes_name_first() -> None:
    spec = TensorSpec(np.dtype("float32"), (-1, 4), name="x")
    assert list(spec.to_dict()) == ["name", "type", "tensor-spec"]


def test_unknown_column_type_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown column type"):
        ColSpec("decimal", "x")


def test_composite_mlflow_types_are_kept_verbatim() -> None:
    text = '[{"type": "array", "items": {"type": "string"}, "name": "tags", "required": true}]'
    signature = ModelSignature.from_dict({"inputs": text, "outputs": None})
    assert json.loads(signature.to_dict()["inputs"]) == json.loads(text)
