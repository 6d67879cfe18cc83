"""Custom Python models: `mlgrpc.pyfunc.log_model(python_model=…, artifacts=…, code_paths=…)`."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import pandas as pd
import pytest

import mlgrpc.pyfunc
from mlgrpc.models import ColSpec, ModelSignature, Schema, UnsafeModelError
from mlgrpc.scoring.v1 import scoring_service_pb2 as pb
from mlgrpc.scoring.v1 import scoring_service_pb2_grpc as pb_grpc
from mlgrpc_server.errors import FailedPrecondition
from scoring_service.config import ModelSpec, ServeConfig
from scoring_service.server import create_server


class AddOffset(mlgrpc.pyfunc.PythonModel):
    """x + the offset read from an artifact at load time, times the `scale` param."""

    def load_context(self, context: mlgrpc.pyfunc.PythonModelContext) -> None:
        self.offset = float(Path(context.artifacts["offset"]).read_text())

    def predict(self, context: Any, model_input: Any, params: dict[str, Any] | None = None) -> Any:
        scale = (params or {}).get("scale", 1.0)
        return (model_input["x"].to_numpy() + self.offset) * scale


SIGNATURE = ModelSignature(inputs=Schema([ColSpec("double", "x")]))


@pytest.fixture()
def saved(tmp_path: Path) -> Path:
    (tmp_path / "offset.txt").write_text("10")
    path = tmp_path / "model"
    mlgrpc.pyfunc.save_model(
        path,
        python_model=AddOffset(),
        artifacts={"offset": str(tmp_path / "offset.txt")},
        signature=SIGNATURE,
    )
    return path


def test_custom_model_predicts_with_its_artifact_and_params(saved: Path) -> None:
    model = mlgrpc.pyfunc.load_model(saved)
    out = model.predict(pd.DataFrame({"x": [1.0, 2.0]}), params={"scale": 2.0})
    assert np.asarray(out).tolist() == [22.0, 24.0]
    assert isinstance(model.get_raw_model(), AddOffset)


def test_custom_model_mlmodel_is_in_mlflow_layout(saved: Path) -> None:
    conf = mlgrpc.models.Model.load(saved).flavors["python_function"]
    assert conf["loader_module"] == "mlflow.pyfunc.model"
    assert conf["python_model"] == "python_model.pkl"
    assert conf["artifacts"]["offset"]["path"] == "artifacts/offset.txt"
    assert (saved / "artifacts" / "offset.txt").read_text() == "10"


def test_custom_model_signature_is_enforced(saved: Path) -> None:
    with pytest.raises(mlgrpc.models.SchemaEnforcementError, match=r"missing inputs \['x'\]"):
        mlgrpc.pyfunc.load_model(saved).predict(pd.DataFrame({"y": [1.0]}))


def test_custom_model_is_refused_without_allow_pickle(saved: Path) -> None:
    with pytest.raises(UnsafeModelError, match="allow_pickle=True") as caught:
        mlgrpc.pyfunc.load_model(saved, allow_pickle=False)
    assert caught.value.pickle_refused


def test_code_paths_make_the_model_class_importable_at_load(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    (source / "doubler_model.py").write_text(
        "import mlgrpc.pyfunc\n"
        "class Doubler(mlgrpc.pyfunc.PythonModel):\n"
        "    def predict(self, context, model_input, params=None):\n"
        "        return model_input * 2\n"
    )
    sys.path.insert(0, str(source))
    try:
        doubler = importlib.import_module("doubler_model").Doubler()
        mlgrpc.pyfunc.save_model(
            tmp_path / "m", python_model=doubler, code_paths=[str(source / "doubler_model.py")]
        )
    finally:
        sys.path.remove(str(source))
        sys.modules.pop("doubler_model", None)
    (source / "doubler_model.py").unlink()  # only the model's own copy is left
    model = mlgrpc.pyfunc.load_model(tmp_path / "m")
    assert np.asarray(model.predict(np.array([1.0, 3.0]))).tolist() == [2.0, 6.0]


def test_code_paths_stay_importable_after_load_and_are_added_once(tmp_path: Path) -> None:
    """As MLflow: the code directory stays on sys.path, for imports made by `predict`."""
    source = tmp_path / "src"
    source.mkdir()
    (source / "late_helper.py").write_text("def triple(x):\n    return x * 3\n")

    class LateImporter(mlgrpc.pyfunc.PythonModel):
        def predict(self, context, model_input, params=None):  # type: ignore[no-untyped-def]
            import late_helper  # only at predict time

            return late_helper.triple(model_input)

    mlgrpc.pyfunc.save_model(
        tmp_path / "m", python_model=LateImporter(), code_paths=[str(source / "late_helper.py")]
    )
    code_dir = str((tmp_path / "m" / "code").resolve())
    try:
        model = mlgrpc.pyfunc.load_model(tmp_path / "m")
        mlgrpc.pyfunc.load_model(tmp_path / "m")  # a reload adds nothing
        assert [Path(p).resolve() for p in sys.path].count(Path(code_dir)) == 1
        assert np.asarray(model.predict(np.array([1.0, 2.0]))).tolist() == [3.0, 6.0]
    finally:
        sys.path[:] = [p for p in sys.path if Path(p).resolve() != Path(code_dir)]
        sys.modules.pop("late_helper", None)


def test_scoring_service_refuses_a_custom_model_without_allow_pickle(saved: Path) -> None:
    with pytest.raises(FailedPrecondition, match="--allow-pickle"):
        create_server(ServeConfig(models=(ModelSpec(str(saved), "custom"),), port=0))


def test_scoring_service_serves_a_custom_model_with_allow_pickle(saved: Path) -> None:
    config = ServeConfig(models=(ModelSpec(str(saved), "custom"),), port=0, allow_pickle=True)
    server = create_server(config)
    try:
        with grpc.insecure_channel(server.address) as channel:
            stub = pb_grpc.ScoringServiceStub(channel)
            request = pb.PredictRequest(model_name="custom")
            request.dataframe_split.columns.append("x")
            request.dataframe_split.data.add().extend([5.0])
            response = stub.Predict(request, timeout=30)
            assert list(response.predictions) == [15.0]
            request = pb.PredictRequest(model_name="custom")
            request.dataframe_split.columns.append("y")
            request.dataframe_split.data.add().extend([5.0])
            with pytest.raises(grpc.RpcError) as caught:
                stub.Predict(request, timeout=30)
            assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert "'x'" in str(caught.value.details())
    finally:
        server.stop(grace=0)


def test_scoring_service_serves_a_custom_model_over_the_open_inference_protocol(
    saved: Path,
) -> None:
    from mlgrpc.inference import grpc_predict_v2_pb2 as oip
    from mlgrpc.inference import grpc_predict_v2_pb2_grpc as oip_grpc

    config = ServeConfig(models=(ModelSpec(str(saved), "custom"),), port=0, allow_pickle=True)
    server = create_server(config)
    try:
        with grpc.insecure_channel(server.address) as channel:
            stub = oip_grpc.GRPCInferenceServiceStub(channel)
            request = oip.ModelInferRequest(model_name="custom")
            tensor = request.inputs.add(name="x", datatype="FP64", shape=[2])
            tensor.contents.fp64_contents.extend([1.0, 5.0])
            response = stub.ModelInfer(request, timeout=30)
            got = list(response.outputs[0].contents.fp64_contents)
            assert got == [11.0, 15.0]  # x + the artifact's offset
            request.inputs[0].name = "y"
            with pytest.raises(grpc.RpcError) as caught:
                stub.ModelInfer(request, timeout=30)
            assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert "'x'" in str(caught.value.details())
    finally:
        server.stop(grace=0)
