"""XGBoost and LightGBM flavors: native files, pyfunc with signatures, served by Predict and OIP."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import pandas as pd
import pytest

import mlgrpc.lightgbm
import mlgrpc.pyfunc
import mlgrpc.xgboost
from mlgrpc.inference import grpc_predict_v2_pb2 as oip
from mlgrpc.inference import grpc_predict_v2_pb2_grpc as oip_grpc
from mlgrpc.models import Model, ModelFormatError, SchemaEnforcementError
from mlgrpc.models.flavors import Flavor
from mlgrpc.scoring.v1 import scoring_service_pb2 as pb
from mlgrpc.scoring.v1 import scoring_service_pb2_grpc as pb_grpc
from scoring_service.config import ModelSpec, ServeConfig
from scoring_service.server import create_server


def _xgb_regressor(x: pd.DataFrame, y: pd.Series) -> Any:
    import xgboost as xgb

    return xgb.XGBRegressor(n_estimators=8, max_depth=3).fit(x, y)


def _xgb_booster(x: pd.DataFrame, y: pd.Series) -> Any:
    import xgboost as xgb

    return xgb.train({"max_depth": 3}, xgb.DMatrix(x, label=y), num_boost_round=8)


def _lgb_booster(x: pd.DataFrame, y: pd.Series) -> Any:
    import lightgbm as lgb

    return lgb.train({"verbose": -1, "num_leaves": 8}, lgb.Dataset(x, label=y), num_boost_round=8)


def _lgb_regressor(x: pd.DataFrame, y: pd.Series) -> Any:
    import lightgbm as lgb

    return lgb.LGBMRegressor(n_estimators=8, num_leaves=8, verbose=-1).fit(x, y)


def _native_predict(model: Any, x: pd.DataFrame) -> np.ndarray:
    if type(model).__name__ == "Booster" and type(model).__module__.startswith("xgboost"):
        import xgboost as xgb

        return np.asarray(model.predict(xgb.DMatrix(x)))
    return np.asarray(model.predict(x))


CASES: dict[str, tuple[Any, Callable[..., Any], dict[str, Any]]] = {
    "xgb-regressor-ubj": (mlgrpc.xgboost, _xgb_regressor, {}),
    "xgb-booster-json": (mlgrpc.xgboost, _xgb_booster, {"model_format": "json"}),
    "lgb-booster": (mlgrpc.lightgbm, _lgb_booster, {}),
    "lgb-regressor": (mlgrpc.lightgbm, _lgb_regressor, {}),
}


@pytest.fixture(scope="module", params=sorted(CASES))
def saved(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, wine: pd.DataFrame
) -> tuple[Path, Any]:
    flavor, train, kwargs = CASES[request.param]
    x, y = wine.drop(columns=["quality"]), wine["quality"]
    model = train(x, y)
    path = tmp_path_factory.mktemp("boosters") / request.param
    flavor.save_model(model, path, input_example=x.head(3), **kwargs)
    return path, model


def test_saved_files_are_native_and_the_mlmodel_names_the_flavor(saved: tuple[Path, Any]) -> None:
    path, _ = saved
    meta = Model.load(path)
    flavor = "xgboost" if "xgboost" in meta.flavors else "lightgbm"
    data = meta.flavors[flavor]["data"]
    assert data in ("model.ubj", "model.json", "model.lgb")
    assert not list(path.glob("*.pkl")) and not list(path.glob("*.skops"))
    assert meta.flavors["python_function"]["loader_module"] == f"mlflow.{flavor}"
    assert meta.signature is not None


def test_pyfunc_predicts_what_the_library_predicts_with_columns_in_any_order(
    saved: tuple[Path, Any], wine: pd.DataFrame
) -> None:
    path, native = saved
    x = wine.drop(columns=["quality"])
    model = mlgrpc.pyfunc.load_model(path, allow_pickle=False)
    shuffled = x[sorted(x.columns, reverse=True)]
    np.testing.assert_allclose(
        np.asarray(model.predict(shuffled)), _native_predict(native, x), rtol=1e-6
    )


def test_flavor_load_model_gives_the_library_object(saved: tuple[Path, Any]) -> None:
    path, native = saved
    module = mlgrpc.xgboost if "xgboost" in Model.load(path).flavors else mlgrpc.lightgbm
    loaded = module.load_model(str(path))
    expected = type(native) if type(native).__name__ != "LGBMRegressor" else type(native.booster_)
    assert type(loaded) is expected


def test_pyfunc_signature_names_a_missing_column(
    saved: tuple[Path, Any], wine: pd.DataFrame
) -> None:
    model = mlgrpc.pyfunc.load_model(saved[0])
    with pytest.raises(SchemaEnforcementError, match=r"missing inputs \['alcohol'\]"):
        model.predict(wine.drop(columns=["quality", "alcohol"]))


@pytest.fixture(scope="module")
def server(saved: tuple[Path, Any]) -> Iterator[Any]:
    # No --allow-pickle: native formats run no code when loaded.
    server = create_server(ServeConfig(models=(ModelSpec(str(saved[0]), "booster"),), port=0))
    yield server
    server.stop(grace=0)


def test_predict_rpc_matches_the_library_with_columns_by_name(
    server: Any, saved: tuple[Path, Any], wine: pd.DataFrame
) -> None:
    x = wine.drop(columns=["quality"]).head(4)
    columns = sorted(x.columns)
    request = pb.PredictRequest(model_name="booster")
    request.dataframe_split.columns.extend(columns)
    for row in x[columns].itertuples(index=False):
        request.dataframe_split.data.add().extend(float(v) for v in row)
    with grpc.insecure_channel(server.address) as channel:
        response = pb_grpc.ScoringServiceStub(channel).Predict(request, timeout=30)
    np.testing.assert_allclose(list(response.predictions), _native_predict(saved[1], x), rtol=1e-6)


def test_oip_infer_matches_the_library_and_enforces_the_signature(
    server: Any, saved: tuple[Path, Any], wine: pd.DataFrame
) -> None:
    x = wine.drop(columns=["quality"]).head(2)
    request = oip.ModelInferRequest(model_name="booster")
    for name in reversed(x.columns):
        tensor = request.inputs.add(name=name, datatype="FP64", shape=[len(x)])
        tensor.contents.fp64_contents.extend(float(v) for v in x[name])
    with grpc.insecure_channel(server.address) as channel:
        stub = oip_grpc.GRPCInferenceServiceStub(channel)
        response = stub.ModelInfer(request, timeout=30)
        got = list(response.outputs[0].contents.fp64_contents) or list(
            response.outputs[0].contents.fp32_contents
        )
        np.testing.assert_allclose(got, _native_predict(saved[1], x), rtol=1e-6)
        del request.inputs[0]  # the first one added: "alcohol"
        with pytest.raises(grpc.RpcError) as caught:
            stub.ModelInfer(request, timeout=30)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "alcohol" in str(caught.value.details())


def test_a_missing_library_is_one_line_naming_the_extra() -> None:
    flavor = Flavor(
        "nolib", "mlgrpc.sklearn", ("x.nolib",), library="no_such_lib_xyz", extra="nolib"
    )
    with pytest.raises(ModelFormatError) as caught:
        flavor.import_module()
    assert "pip install 'mlgrpc[nolib]'" in caught.value.message
    assert "\n" not in caught.value.message
