"""The sklearn flavor on local paths: layout, round trips in three formats, safety of loading."""

from __future__ import annotations

import json
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

import mlgrpc.pyfunc
import mlgrpc.sklearn
from mlgrpc.models import (
    Model,
    ModelFormatError,
    SchemaEnforcementError,
    UnsafeModelError,
    infer_signature,
)

FORMATS = ("skops", "pickle", "cloudpickle")


@pytest.fixture
def saved(tmp_path: Path, elastic_net: Any, wine_x: pd.DataFrame) -> Path:
    path = tmp_path / "model"
    mlgrpc.sklearn.save_model(elastic_net, path, input_example=wine_x.head(3))
    return path


def test_saved_directory_has_mlflow_layout(saved: Path) -> None:
    assert sorted(p.name for p in saved.iterdir()) == [
        "MLmodel",
        "conda.yaml",
        "input_example.json",
        "model.skops",
        "python_env.yaml",
        "requirements.txt",
        "serving_input_example.json",
    ]


def test_mlmodel_names_mlflow_sklearn_loader_and_skops(saved: Path) -> None:
    flavors = yaml.safe_load((saved / "MLmodel").read_text())["flavors"]
    assert flavors["python_function"]["loader_module"] == "mlflow.sklearn"
    assert flavors["python_function"]["model_path"] == "model.skops"
    assert flavors["python_function"]["env"] == {
        "conda": "conda.yaml",
        "virtualenv": "python_env.yaml",
    }
    assert flavors["sklearn"]["serialization_format"] == "skops"
    assert flavors["sklearn"]["sklearn_version"] == metadata.version("scikit-learn")


def test_signature_is_inferred_from_input_example(saved: Path, wine_x: pd.DataFrame) -> None:
    signature = Model.load(saved).signature
    assert signature is not None and signature.inputs is not None
    assert signature.inputs.input_names() == list(wine_x.columns)


def test_input_example_is_split_orient_without_index(saved: Path, wine_x: pd.DataFrame) -> None:
    example = json.loads((saved / "input_example.json").read_text())
    assert example == {"columns": list(wine_x.columns), "data": wine_x.head(3).values.tolist()}
    serving = json.loads((saved / "serving_input_example.json").read_text())
    assert serving == {"dataframe_split": example}


def test_requirements_are_pinned_from_installed_versions(saved: Path) -> None:
    lines = (saved / "requirements.txt").read_text().splitlines()
    expected = {
        f"{name}=={metadata.version(name)}"
        for name in ("numpy", "pandas", "scikit-learn", "scipy", "skops")
    }
    assert set(lines) == expected


def test_pickle_requirements_name_no_skops(tmp_path: Path, elastic_net: Any) -> None:
    mlgrpc.sklearn.save_model(elastic_net, tmp_path / "m", serialization_format="cloudpickle")
    text = (tmp_path / "m" / "requirements.txt").read_text()
    assert "cloudpickle==" in text and "skops" not in text


def test_explicit_pip_requirements_replace_the_defaults(tmp_path: Path, elastic_net: Any) -> None:
    mlgrpc.sklearn.save_model(elastic_net, tmp_path / "m", pip_requirements=["scikit-learn"])
    assert (tmp_path / "m" / "requirements.txt").read_text() == "scikit-learn"


def test_python_env_refers_to_requirements(saved: Path) -> None:
    env = yaml.safe_load((saved / "python_env.yaml").read_text())
    assert env["dependencies"] == ["-r requirements.txt"]


def test_saving_starts_no_subprocess(
    tmp_path: Path, elastic_net: Any, wine_x: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError(f"save_model started a subprocess: {args}")

    monkeypatch.setattr(subprocess.Popen, "__init__", refuse)
    mlgrpc.sklearn.save_model(elastic_net, tmp_path / "m", input_example=wine_x.head(2))


@pytest.mark.parametrize("fmt", FORMATS)
def test_round_trip_predicts_the_same(
    fmt: str, tmp_path: Path, elastic_net: Any, wine_x: pd.DataFrame
) -> None:
    mlgrpc.sklearn.save_model(elastic_net, tmp_path / fmt, serialization_format=fmt)
    loaded = mlgrpc.sklearn.load_model(tmp_path / fmt)
    np.testing.assert_array_equal(loaded.predict(wine_x), elastic_net.predict(wine_x))


@pytest.mark.parametrize("fmt", FORMATS)
def test_pyfunc_round_trip_predicts_the_same(
    fmt: str, tmp_path: Path, elastic_net: Any, wine_x: pd.DataFrame
) -> None:
    signature = infer_signature(wine_x, elastic_net.predict(wine_x))
    path = tmp_path / fmt
    mlgrpc.sklearn.save_model(elastic_net, path, serialization_format=fmt, signature=signature)
    model = mlgrpc.pyfunc.load_model(str(path))
    np.testing.assert_array_equal(model.predict(wine_x), elastic_net.predict(wine_x))


def test_shuffled_columns_predict_like_the_right_order(saved: Path, wine_x: pd.DataFrame) -> None:
    model = mlgrpc.pyfunc.load_model(saved)
    alphabetical = wine_x[sorted(wine_x.columns)]
    np.testing.assert_array_equal(model.predict(alphabetical), model.predict(wine_x))


def test_pyfunc_missing_column_is_named(saved: Path, wine_x: pd.DataFrame) -> None:
    model = mlgrpc.pyfunc.load_model(saved)
    with pytest.raises(SchemaEnforcementError, match="'alcohol'"):
        model.predict(wine_x.drop(columns=["alcohol"]))


def test_pyfunc_accepts_a_dict_of_columns(saved: Path, wine_x: pd.DataFrame) -> None:
    model = mlgrpc.pyfunc.load_model(saved)
    row = wine_x.iloc[0].to_dict()
    np.testing.assert_array_equal(model.predict(row), model.predict(wine_x.head(1)))


def test_pyfunc_metadata_exposes_signature_and_example(saved: Path, wine_x: pd.DataFrame) -> None:
    model = mlgrpc.pyfunc.load_model(saved)
    assert model.metadata.get_input_schema() is not None
    pd.testing.assert_frame_equal(model.load_input_example(), wine_x.head(3).reset_index(drop=True))


def test_model_without_signature_accepts_what_the_model_accepts(
    tmp_path: Path, elastic_net: Any, wine_x: pd.DataFrame
) -> None:
    mlgrpc.sklearn.save_model(elastic_net, tmp_path / "m")
    model = mlgrpc.pyfunc.load_model(tmp_path / "m")
    assert model.metadata.signature is None
    np.testing.assert_array_equal(model.predict(wine_x), elastic_net.predict(wine_x))


@pytest.mark.parametrize("fmt", ["pickle", "cloudpickle"])
def test_pickle_formats_are_refused_when_pickle_is_not_allowed(
    fmt: str, tmp_path: Path, elastic_net: Any
) -> None:
    mlgrpc.sklearn.save_model(elastic_net, tmp_path / "m", serialization_format=fmt)
    with pytest.raises(UnsafeModelError) as caught:
        mlgrpc.pyfunc.load_model(tmp_path / "m", allow_pickle=False)
    assert_names_the_clients_remedy(caught.value)


def assert_names_the_clients_remedy(error: UnsafeModelError) -> None:
    """The caller of the library is told its own parameter, not the scoring service's flag."""
    assert "pass allow_pickle=True to load_model" in error.message
    assert "--allow-pickle" not in error.message
    assert "scoring service" not in error.message


def test_skops_loads_when_pickle_is_not_allowed(saved: Path) -> None:
    assert mlgrpc.pyfunc.load_model(saved, allow_pickle=False) is not None


def _function_transformer() -> Any:
    import operator

    from sklearn.preprocessing import FunctionTransformer

    # skops does not trust `_operator.neg` by default.
    return FunctionTransformer(func=operator.neg).fit(np.zeros((2, 1)))


def test_saving_untrusted_skops_type_needs_it_declared(tmp_path: Path) -> None:
    with pytest.raises(UnsafeModelError, match="_operator.neg"):
        mlgrpc.sklearn.save_model(_function_transformer(), tmp_path / "m")
    assert not (tmp_path / "m").exists()


def test_declared_skops_type_loads(tmp_path: Path) -> None:
    path = tmp_path / "m"
    mlgrpc.sklearn.save_model(_function_transformer(), path, skops_trusted_types=["_operator.neg"])
    assert mlgrpc.sklearn.load_model(path).transform(np.ones((1, 1))).tolist() == [[-1.0]]


def test_undeclared_skops_type_in_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "m"
    mlgrpc.sklearn.save_model(_function_transformer(), path, skops_trusted_types=["_operator.neg"])
    mlmodel = yaml.safe_load((path / "MLmodel").read_text())
    mlmodel["flavors"]["sklearn"]["skops_trusted_types"] = None
    (path / "MLmodel").write_text(yaml.safe_dump(mlmodel))
    with pytest.raises(UnsafeModelError, match="_operator.neg"):
        mlgrpc.sklearn.load_model(path)


def test_saving_into_a_non_empty_directory_is_refused(saved: Path, elastic_net: Any) -> None:
    with pytest.raises(FileExistsError):
        mlgrpc.sklearn.save_model(elastic_net, saved)


def test_unknown_serialization_format_is_refused(tmp_path: Path, elastic_net: Any) -> None:
    with pytest.raises(ValueError, match="serialization_format"):
        mlgrpc.sklearn.save_model(elastic_net, tmp_path / "m", serialization_format="joblib")


def test_foreign_loader_module_is_refused_clearly(saved: Path) -> None:
    mlmodel = yaml.safe_load((saved / "MLmodel").read_text())
    mlmodel["flavors"]["python_function"]["loader_module"] = "mlflow.pytorch"
    (saved / "MLmodel").write_text(yaml.safe_dump(mlmodel))
    with pytest.raises(ModelFormatError, match="mlflow.pytorch"):
        mlgrpc.pyfunc.load_model(saved)


def test_our_own_loader_module_name_is_accepted(saved: Path, wine_x: pd.DataFrame) -> None:
    mlmodel = yaml.safe_load((saved / "MLmodel").read_text())
    mlmodel["flavors"]["python_function"]["loader_module"] = "mlgrpc.sklearn"
    (saved / "MLmodel").write_text(yaml.safe_dump(mlmodel))
    assert len(mlgrpc.pyfunc.load_model(saved).predict(wine_x)) == len(wine_x)


def test_unknown_mlmodel_keys_survive_a_round_trip(saved: Path) -> None:
    mlmodel = yaml.safe_load((saved / "MLmodel").read_text())
    mlmodel["mlflow_version"] = "3.17.2"
    (saved / "MLmodel").write_text(yaml.safe_dump(mlmodel))
    assert Model.load(saved).to_dict()["mlflow_version"] == "3.17.2"


def test_importing_the_flavor_imports_no_server_code() -> None:
    code = (
        "import sys, mlgrpc.sklearn, mlgrpc.pyfunc, mlgrpc.models; "
        "bad = [m for m in sys.modules if m.split('.')[0] in "
        "('sqlalchemy', 'tracking_service', 'registry_service', 'scoring_service', "
        "'mlgrpc_server', 'skops', 'sklearn')]; print(bad)"
    )
    import sys

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_model_without_signature_matches_alphabetical_columns_by_fitted_names(
    tmp_path: Path, elastic_net: Any, wine_x: pd.DataFrame
) -> None:
    # The seed logs the model without a signature and its scoring request sorts the columns.
    mlgrpc.sklearn.save_model(elastic_net, tmp_path / "m")
    model = mlgrpc.pyfunc.load_model(tmp_path / "m")
    alphabetical = wine_x[sorted(wine_x.columns)]
    np.testing.assert_array_equal(model.predict(alphabetical), elastic_net.predict(wine_x))


def test_model_without_signature_names_a_missing_fitted_column(
    tmp_path: Path, elastic_net: Any, wine_x: pd.DataFrame
) -> None:
    mlgrpc.sklearn.save_model(elastic_net, tmp_path / "m")
    model = mlgrpc.pyfunc.load_model(tmp_path / "m")
    with pytest.raises(SchemaEnforcementError, match="'pH'"):
        model.predict(wine_x.drop(columns=["pH"]))


def test_declared_skops_type_is_refused_when_pickle_is_not_allowed(tmp_path: Path) -> None:
    path = tmp_path / "m"
    mlgrpc.sklearn.save_model(_function_transformer(), path, skops_trusted_types=["_operator.neg"])
    with pytest.raises(UnsafeModelError) as caught:
        mlgrpc.sklearn.load_model(path, allow_pickle=False)
    assert_names_the_clients_remedy(caught.value)
