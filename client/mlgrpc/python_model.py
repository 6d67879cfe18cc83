"""Custom Python models (`python_function` with a `PythonModel`), in MLflow 3's on-disk format.

    class AddN(mlgrpc.pyfunc.PythonModel):
        def load_context(self, context): self.n = int(Path(context.artifacts["n"]).read_text())
        def predict(self, context, model_input, params=None): return model_input + self.n

    mlgrpc.pyfunc.log_model(name="m", python_model=AddN(), artifacts={"n": "n.txt"})

The model object is CLOUDPICKLED (`python_model.pkl`): loading it runs code from the file, so it
follows the pickle rules of every flavor: `allow_pickle=False` refuses it (the scoring service
passes that unless started with `--allow-pickle`).

Both ways with MLflow: our `PythonModel` is written into the pickle as a reference to
`mlflow.pyfunc.model.PythonModel` (so that MLflow unpickles a subclass of its own base class),
and when MLflow is not installed here, loading reads that reference (and MLflow's own
`PythonModelContext`) as ours.
"""

from __future__ import annotations

import importlib
import io
import os
import pickle
import shutil
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mlgrpc.models import environment, saving
from mlgrpc.models.errors import ModelFormatError, UnsafeModelError
from mlgrpc.models.model import Model, ModelInfo
from mlgrpc.models.signature import ModelSignature

FLAVOR_NAME = "python_function"
#: MLflow's loader for custom models; we write it so that MLflow loads ours.
LOADER_MODULE = "mlflow.pyfunc.model"
PYTHON_MODEL_FILE = "python_model.pkl"
ARTIFACTS_DIR = "artifacts"
CODE_DIR = "code"
_MLFLOW_MODULE = "mlflow.pyfunc.model"


class PythonModelContext:
    """What `load_context` and `predict` get: local paths of the model's artifacts."""

    def __init__(self, artifacts: dict[str, str], model_config: dict[str, Any] | None = None):
        self._artifacts = artifacts
        self._model_config = model_config or {}

    @property
    def artifacts(self) -> dict[str, str]:
        return self._artifacts

    @property
    def model_config(self) -> dict[str, Any]:
        return self._model_config


class PythonModel:
    """Base class of custom models: override `predict`, and `load_context` if needed."""

    def load_context(self, context: PythonModelContext) -> None:
        """Called once at load time, with the artifacts; e.g. to read weights from a file."""

    def predict(
        self, context: PythonModelContext, model_input: Any, params: dict[str, Any] | None = None
    ) -> Any:
        raise NotImplementedError("a PythonModel must implement predict(context, model_input)")


def _import_module(name: str) -> Any:
    """`importlib.import_module`, reading MLflow's model module as ours where MLflow is absent."""
    if name == _MLFLOW_MODULE:
        try:
            return importlib.import_module(name)
        except ImportError:
            return sys.modules[__name__]
    return importlib.import_module(name)


class _Pickler:
    """cloudpickle with our base classes written as MLflow's (see the module docstring)."""

    @staticmethod
    def dump(obj: Any, out: io.BufferedWriter) -> None:
        import cloudpickle

        class Pickler(cloudpickle.Pickler):
            def reducer_override(self, value: Any) -> Any:
                if value is PythonModel or value is PythonModelContext:
                    module = _ModuleRef(_MLFLOW_MODULE)
                    return getattr, (module, value.__name__)
                return super().reducer_override(value)

        Pickler(out, protocol=pickle.DEFAULT_PROTOCOL).dump(obj)


class _ModuleRef:
    """Pickles as `importlib.import_module(name)`, which every Python can call."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return importlib.import_module, (self.name,)


class _TypeHints:
    """Stands in for MLflow's `_TypeHints`, which its PythonModel caches in the pickled state."""

    def __init__(self, input_: Any = None, output: Any = None) -> None:
        self.input = input_
        self.output = output


#: Classes of MLflow's that its pickled PythonModels reference, and ours for them.
_MLFLOW_STAND_INS = {("mlflow.models.signature", "_TypeHints"): _TypeHints}


class _Unpickler(pickle.Unpickler):
    """Resolves MLflow's model module (and the helpers its state names) to ours when MLflow is
    not installed."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == ("importlib", "import_module"):
            return _import_module
        if module in (_MLFLOW_MODULE, "mlflow.pyfunc"):
            return getattr(_import_module(_MLFLOW_MODULE), name)
        try:
            return super().find_class(module, name)
        except ImportError:
            stand_in = _MLFLOW_STAND_INS.get((module, name))
            if stand_in is None:
                raise
            return stand_in


# ---- saving --------------------------------------------------------------------------------


def _copy_into(source: str | os.PathLike[str], directory: Path) -> str:
    """Copy a local file or directory into `directory`; its path relative to the model dir."""
    src = Path(source)
    if not src.exists():
        raise FileNotFoundError(
            f"no file or directory at {src} (artifacts and code_paths are local paths)"
        )
    directory.mkdir(parents=True, exist_ok=True)
    dest = directory / src.name
    if src.is_dir():
        shutil.copytree(src, dest)
    else:
        shutil.copy2(src, dest)
    return f"{directory.name}/{src.name}"


def get_default_pip_requirements() -> list[str]:
    return [environment.pinned_requirement("cloudpickle")]


def save_model(
    path: str | os.PathLike[str],
    python_model: PythonModel,
    artifacts: Mapping[str, str] | None = None,
    code_paths: Sequence[str] | None = None,
    signature: ModelSignature | None | bool = None,
    input_example: Any = None,
    pip_requirements: Sequence[str] | None = None,
    extra_pip_requirements: Sequence[str] | None = None,
    metadata: dict[str, Any] | None = None,
    model_config: dict[str, Any] | None = None,
    mlflow_model: Model | None = None,
) -> Model:
    """Save `python_model` (cloudpickled) with its artifacts and code as a model directory."""
    if not isinstance(python_model, PythonModel) and not hasattr(python_model, "predict"):
        raise TypeError("python_model must be a PythonModel (a class with predict(context, …))")
    model = mlflow_model or Model()

    def write(target: Path) -> None:
        import cloudpickle

        conf: dict[str, Any] = {"cloudpickle_version": cloudpickle.__version__}
        saved_artifacts = {
            key: {"path": _copy_into(uri, target / ARTIFACTS_DIR), "uri": str(uri)}
            for key, uri in (artifacts or {}).items()
        }
        code = None
        for code_path in code_paths or ():
            _copy_into(code_path, target / CODE_DIR)
            code = CODE_DIR
        with open(target / PYTHON_MODEL_FILE, "wb") as out:
            _Pickler.dump(python_model, out)
        conf["python_model"] = PYTHON_MODEL_FILE
        if saved_artifacts:
            conf["artifacts"] = saved_artifacts
        context = PythonModelContext(
            {k: str(target / v["path"]) for k, v in saved_artifacts.items()}, model_config
        )

        def predict(data: Any) -> Any:
            python_model.load_context(context)
            return python_model.predict(context, data)

        saving.add_example_and_signature(model, target, input_example, signature, predict)
        saving.add_pyfunc_flavor(
            model, LOADER_MODULE, code=code, streamable=False, model_config=model_config, **conf
        )
        saving.finish(
            model,
            target,
            get_default_pip_requirements(),
            pip_requirements,
            extra_pip_requirements,
            metadata,
        )

    saving.save_into(path, write)
    return model


def log_model(
    name: str | None = None,
    python_model: PythonModel | None = None,
    artifacts: Mapping[str, str] | None = None,
    code_paths: Sequence[str] | None = None,
    *,
    artifact_path: str | None = None,
    signature: ModelSignature | None | bool = None,
    input_example: Any = None,
    registered_model_name: str | None = None,
    pip_requirements: Sequence[str] | None = None,
    extra_pip_requirements: Sequence[str] | None = None,
    metadata: dict[str, Any] | None = None,
    model_config: dict[str, Any] | None = None,
    run_id: str | None = None,
) -> ModelInfo:
    """Save `python_model` and upload it as artifacts of the active run (one is started if none)."""
    if python_model is None:
        raise ValueError("log_model needs python_model=… (a PythonModel instance)")

    def save(local_dir: Path, model: Model) -> Model:
        return save_model(
            local_dir,
            python_model,
            artifacts=artifacts,
            code_paths=code_paths,
            signature=signature,
            input_example=input_example,
            pip_requirements=pip_requirements,
            extra_pip_requirements=extra_pip_requirements,
            metadata=metadata,
            model_config=model_config,
            mlflow_model=model,
        )

    return saving.log_to_run(
        save,
        artifact_path=artifact_path,
        name=name,
        run_id=run_id,
        registered_model_name=registered_model_name,
    )


# ---- loading -------------------------------------------------------------------------------


def _add_code_to_sys_path(code_dir: Path) -> None:
    """Put the model's `code_paths` copy first on `sys.path`, as MLflow's pyfunc loader does.

    Kept for the life of the process, as MLflow keeps it: the unpickled model may import from
    it at any later time (an import inside `predict`), so removing it after loading would break
    such models. Unlike MLflow, a directory already on the path is not added again, so loading
    the same model repeatedly (a reloading scoring worker) does not grow `sys.path`."""
    entry = str(code_dir)
    if entry not in sys.path:
        sys.path.insert(0, entry)


class PythonModelPyfunc:
    """A loaded PythonModel behind `python_function`: predict(context, input, params)."""

    def __init__(self, python_model: Any, context: PythonModelContext) -> None:
        self.python_model = python_model
        self.context = context

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        return self.python_model.predict(self.context, data, params=params)

    def get_raw_model(self) -> Any:
        return self.python_model


def load_pyfunc(model_dir: Path, conf: dict[str, Any], *, allow_pickle: bool) -> PythonModelPyfunc:
    """Unpickle the PythonModel (only when `allow_pickle`), then call its `load_context`."""
    from mlgrpc.sklearn import ALLOW_PICKLE_REMEDY

    if conf.get("model_code_path") or not conf.get("python_model"):
        raise ModelFormatError(
            f"the model at {model_dir} is a models-from-code pyfunc; mlgrpc loads cloudpickled "
            "PythonModel instances only"
        )
    if conf.get("python_model_compression"):
        raise ModelFormatError(
            f"the model at {model_dir} is compressed ({conf['python_model_compression']}); "
            "mlgrpc reads uncompressed python_model files only"
        )
    path = model_dir / conf["python_model"]
    if not allow_pickle:
        raise UnsafeModelError(
            f"{path.name} is a cloudpickled PythonModel and loading it would run code from it; "
            "refused because pickle loading is disabled",
            remedy=ALLOW_PICKLE_REMEDY,
            pickle_refused=True,
            field="python_model",
        )
    code = conf.get("code")
    if code:
        _add_code_to_sys_path(model_dir / code)
    with open(path, "rb") as f:
        python_model = _Unpickler(f).load()
    artifacts = {
        key: str(model_dir / info["path"]) for key, info in (conf.get("artifacts") or {}).items()
    }
    context = PythonModelContext(artifacts, conf.get("model_config"))
    python_model.load_context(context)
    return PythonModelPyfunc(python_model, context)
