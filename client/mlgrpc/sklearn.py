"""The scikit-learn flavor, in MLflow 3's on-disk format: `mlflow.sklearn` loads what we save and
we load what it saves.

Serialization formats and what loading them may do:
- `skops` (default, as in MLflow 3): a zip of JSON nodes; loading instantiates only types
  skops trusts by default plus the model's declared `skops_trusted_types`. No code from the
  file runs. We refuse a file whose untrusted types are not all declared in the MLmodel, and
  with `allow_pickle=False` any file needing types beyond skops' defaults (the declaration
  comes from the model itself, so it cannot be the server's reason to trust them).
- `pickle`, `cloudpickle`: loading EXECUTES CODE from the file. Allowed by default in the client
  (`allow_pickle=True`, as with `pickle.load`); with `allow_pickle=False` such models fail with
  `UnsafeModelError`. The scoring service passes `allow_pickle=False` unless started with
  `--allow-pickle`, and names that flag in its own message.

Writing the environment never starts pip: requirements are pinned from installed versions.
"""

from __future__ import annotations

import logging
import os
import pickle
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mlgrpc.models import environment
from mlgrpc.models.errors import ModelFormatError, UnsafeModelError
from mlgrpc.models.input_example import save_input_example, to_model_input
from mlgrpc.models.model import (
    MLMODEL_FILE_NAME,
    PYFUNC_FLAVOR,
    Model,
    ModelInfo,
    directory_size_bytes,
)
from mlgrpc.models.signature import ModelSignature, infer_signature
from mlgrpc.models.skops_import import import_skops_io

logger = logging.getLogger(__name__)

FLAVOR_NAME = "sklearn"
SERIALIZATION_FORMAT_SKOPS = "skops"
SERIALIZATION_FORMAT_PICKLE = "pickle"
SERIALIZATION_FORMAT_CLOUDPICKLE = "cloudpickle"
SUPPORTED_SERIALIZATION_FORMATS = (
    SERIALIZATION_FORMAT_SKOPS,
    SERIALIZATION_FORMAT_PICKLE,
    SERIALIZATION_FORMAT_CLOUDPICKLE,
)
#: Formats whose loading runs code stored in the model file.
CODE_EXECUTING_FORMATS = frozenset({SERIALIZATION_FORMAT_PICKLE, SERIALIZATION_FORMAT_CLOUDPICKLE})
#: `loader_module` we write (so that MLflow loads our models); the registry lists those we accept.
LOADER_MODULE = "mlflow.sklearn"

_MODEL_FILE = {
    SERIALIZATION_FORMAT_SKOPS: "model.skops",
    SERIALIZATION_FORMAT_PICKLE: "model.pkl",
    SERIALIZATION_FORMAT_CLOUDPICKLE: "model.pkl",
}


def get_default_pip_requirements(
    serialization_format: str = SERIALIZATION_FORMAT_SKOPS,
) -> list[str]:
    """Pinned requirements of a model in `serialization_format`, from installed versions."""
    names = ["numpy", "pandas", "scikit-learn", "scipy"]
    if serialization_format == SERIALIZATION_FORMAT_SKOPS:
        names.append("skops")
    elif serialization_format == SERIALIZATION_FORMAT_CLOUDPICKLE:
        names.append("cloudpickle")
    return sorted(environment.pinned_requirement(n) for n in names)


def _check_format(serialization_format: str) -> None:
    if serialization_format not in SUPPORTED_SERIALIZATION_FORMATS:
        raise ValueError(
            f"unknown serialization_format {serialization_format!r}; use one of "
            f"{list(SUPPORTED_SERIALIZATION_FORMATS)}"
        )


def _dump(sk_model: Any, path: Path, serialization_format: str, trusted: Sequence[str]) -> None:
    if serialization_format == SERIALIZATION_FORMAT_SKOPS:
        skops_io = import_skops_io()
        try:
            skops_io.dump(sk_model, path)
        except Exception as exc:
            raise ModelFormatError(
                f"skops cannot serialize this {type(sk_model).__name__}: {exc}. skops handles "
                "estimators built from importable classes and functions; for anything else "
                "pass serialization_format='cloudpickle' (loading it then runs code)."
            ) from exc
        untrusted = [t for t in skops_io.get_untrusted_types(file=path) if t not in trusted]
        if untrusted:
            path.unlink()
            raise UnsafeModelError(
                f"the model references types skops does not trust by default: {untrusted}. If "
                "loading them is safe, pass skops_trusted_types=[...] listing them.",
                field="skops_trusted_types",
            )
        return
    # The default protocol, not the newest, so that older Pythons can read the file (as MLflow).
    with open(path, "wb") as out:
        if serialization_format == SERIALIZATION_FORMAT_CLOUDPICKLE:
            import cloudpickle

            cloudpickle.dump(sk_model, out, protocol=pickle.DEFAULT_PROTOCOL)
        else:
            pickle.dump(sk_model, out, protocol=pickle.DEFAULT_PROTOCOL)


def _prepare_target_dir(path: Path) -> None:
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise FileExistsError(f"cannot save the model to {path}: the path exists and is not empty")
    path.mkdir(parents=True, exist_ok=True)


def save_model(
    sk_model: Any,
    path: str | os.PathLike[str],
    serialization_format: str = SERIALIZATION_FORMAT_SKOPS,
    signature: ModelSignature | None | bool = None,
    input_example: Any = None,
    pip_requirements: Sequence[str] | None = None,
    extra_pip_requirements: Sequence[str] | None = None,
    pyfunc_predict_fn: str = "predict",
    metadata: dict[str, Any] | None = None,
    skops_trusted_types: Sequence[str] | None = None,
    mlflow_model: Model | None = None,
) -> Model:
    """Save `sk_model` as an MLflow-format model directory at `path`; returns its MLmodel.

    Without a `signature` but with an `input_example`, the signature is inferred from the
    example and the model's predictions on it; `signature=False` saves none.
    """
    serialization_format = serialization_format or SERIALIZATION_FORMAT_SKOPS
    _check_format(serialization_format)
    if serialization_format in CODE_EXECUTING_FORMATS:
        logger.warning(
            "saving in the %s format: loading it runs code from the file; prefer 'skops'",
            serialization_format,
        )
    target = Path(path)
    _prepare_target_dir(target)
    try:
        return _save_into(
            sk_model,
            target,
            serialization_format,
            signature,
            input_example,
            pip_requirements,
            extra_pip_requirements,
            pyfunc_predict_fn,
            metadata,
            list(skops_trusted_types or []),
            mlflow_model or Model(),
        )
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise


def _save_into(
    sk_model: Any,
    target: Path,
    serialization_format: str,
    signature: ModelSignature | None | bool,
    input_example: Any,
    pip_requirements: Sequence[str] | None,
    extra_pip_requirements: Sequence[str] | None,
    pyfunc_predict_fn: str,
    metadata: dict[str, Any] | None,
    skops_trusted_types: list[str],
    model: Model,
) -> Model:
    import sklearn

    if input_example is not None:
        model.saved_input_example_info = save_input_example(input_example, target)
        if signature is None:
            example = to_model_input(input_example)
            try:
                output = getattr(sk_model, pyfunc_predict_fn)(example)
                signature = infer_signature(example, output)
            except Exception as exc:  # as MLflow: a failed inference only costs the signature
                logger.warning("could not infer the signature from the input example: %s", exc)
                signature = None
    if isinstance(signature, ModelSignature):
        model.signature = signature
    if metadata is not None:
        model.metadata = metadata

    model_file = _MODEL_FILE[serialization_format]
    _dump(sk_model, target / model_file, serialization_format, skops_trusted_types)

    if hasattr(sk_model, pyfunc_predict_fn):
        model.add_flavor(
            PYFUNC_FLAVOR,
            loader_module=LOADER_MODULE,
            model_path=model_file,
            predict_fn=pyfunc_predict_fn,
            python_version=environment.PythonEnv.current().python,
            env={"conda": environment.CONDA_ENV_FILE, "virtualenv": environment.PYTHON_ENV_FILE},
        )
    else:
        logger.warning("the model has no %s method: no python_function flavor", pyfunc_predict_fn)
    model.add_flavor(
        FLAVOR_NAME,
        pickled_model=model_file,
        sklearn_version=sklearn.__version__,
        serialization_format=serialization_format,
        code=None,
        skops_trusted_types=skops_trusted_types or None,
    )
    requirements = environment.merge_requirements(
        get_default_pip_requirements(serialization_format),
        pip_requirements,
        extra_pip_requirements,
    )
    environment.write_environment_files(target, requirements)
    model.model_size_bytes = directory_size_bytes(target)
    model.save(target / MLMODEL_FILE_NAME)
    return model


# ---- loading -------------------------------------------------------------------------------

#: How a caller of this library allows what `allow_pickle=False` refused.
ALLOW_PICKLE_REMEDY = (
    "pass allow_pickle=True to load_model to load it, only if you trust the model's author"
)


def _load_skops(path: Path, declared_trusted: Sequence[str] | None, allow_pickle: bool) -> Any:
    skops_io = import_skops_io()
    untrusted = skops_io.get_untrusted_types(file=path)
    if untrusted and not allow_pickle:
        # The extra trust list comes from the model's own MLmodel, so a crafted model could
        # whitelist anything: where pickle is refused, such models are refused too.
        raise UnsafeModelError(
            f"{path.name} needs types beyond skops' default trusted set ({sorted(untrusted)}), "
            "trusted only by the model's own MLmodel; refused because pickle loading is disabled",
            remedy=ALLOW_PICKLE_REMEDY,
            pickle_refused=True,
            field="skops_trusted_types",
        )
    undeclared = sorted(set(untrusted) - set(declared_trusted or ()))
    if undeclared:
        raise UnsafeModelError(
            f"{path.name} references types that are neither trusted by skops nor listed in the "
            f"MLmodel's skops_trusted_types: {undeclared}; refusing to load it",
            field="skops_trusted_types",
        )
    return skops_io.load(path, trusted=untrusted)


def load_model_file(
    path: str | os.PathLike[str],
    serialization_format: str,
    *,
    skops_trusted_types: Sequence[str] | None = None,
    allow_pickle: bool = True,
) -> Any:
    """Deserialize one model file; pickle formats only when `allow_pickle`."""
    path = Path(path)
    _check_format(serialization_format)
    if serialization_format == SERIALIZATION_FORMAT_SKOPS:
        return _load_skops(path, skops_trusted_types, allow_pickle)
    if not allow_pickle:
        raise UnsafeModelError(
            f"{path.name} is a {serialization_format} file and loading it would run code from "
            "it; refused because pickle loading is disabled",
            remedy=f"{ALLOW_PICKLE_REMEDY}, or save the model with serialization_format='skops'",
            pickle_refused=True,
            field="serialization_format",
        )
    with open(path, "rb") as f:
        if serialization_format == SERIALIZATION_FORMAT_CLOUDPICKLE:
            import cloudpickle

            return cloudpickle.load(f)
        return pickle.load(f)


def _flavor_conf(model_dir: Path) -> dict[str, Any]:
    model = Model.load(model_dir)
    conf = model.flavors.get(FLAVOR_NAME)
    if conf is None:
        raise ModelFormatError(
            f"the model at {model_dir} has no sklearn flavor (flavors: {sorted(model.flavors)})"
        )
    return conf


def load_model_from_dir(model_dir: str | os.PathLike[str], *, allow_pickle: bool = True) -> Any:
    """The scikit-learn estimator of a local model directory."""
    model_dir = Path(model_dir)
    conf = _flavor_conf(model_dir)
    if conf.get("code"):
        raise ModelFormatError(
            "models with code paths ('code' in the sklearn flavor) are not supported"
        )
    return load_model_file(
        model_dir / conf["pickled_model"],
        # MLflow < 2.? wrote no serialization_format: those files are pickles.
        conf.get("serialization_format", SERIALIZATION_FORMAT_PICKLE),
        skops_trusted_types=conf.get("skops_trusted_types"),
        allow_pickle=allow_pickle,
    )


def load_pyfunc(model_dir: Path, conf: dict[str, Any], *, allow_pickle: bool) -> Any:
    """The estimator wrapped for `python_function` (the flavor registry's entry point)."""
    from mlgrpc.models.sklearn_pyfunc import SklearnPyfunc

    estimator = load_model_from_dir(model_dir, allow_pickle=allow_pickle)
    predict_fn = conf.get("predict_fn", "predict")
    if not hasattr(estimator, predict_fn):
        raise ModelFormatError(f"the {type(estimator).__name__} has no method {predict_fn!r}")
    return SklearnPyfunc(estimator, predict_fn)


def load_model(
    model_uri: str | os.PathLike[str], dst_path: str | None = None, *, allow_pickle: bool = True
) -> Any:
    """Load the scikit-learn estimator at `model_uri` (local path, `file:`, `runs:/…`)."""
    from mlgrpc.model_uri import resolve_model_uri

    return load_model_from_dir(resolve_model_uri(model_uri, dst_path), allow_pickle=allow_pickle)


# ---- logging to a run ------------------------------------------------------------------------


def _active_or_new_run_id(run_id: str | None) -> str:
    if run_id:
        return run_id
    from mlgrpc import fluent

    run = fluent.active_run()
    if run is None:
        # As MLflow's fluent API: logging a model outside a run starts one.
        run = fluent.start_run()
    return str(run.info.run_id)


def log_model(
    sk_model: Any,
    artifact_path: str | None = None,
    *,
    name: str | None = None,
    serialization_format: str = SERIALIZATION_FORMAT_SKOPS,
    signature: ModelSignature | None | bool = None,
    input_example: Any = None,
    registered_model_name: str | None = None,
    pip_requirements: Sequence[str] | None = None,
    extra_pip_requirements: Sequence[str] | None = None,
    pyfunc_predict_fn: str = "predict",
    metadata: dict[str, Any] | None = None,
    skops_trusted_types: Sequence[str] | None = None,
    run_id: str | None = None,
) -> ModelInfo:
    """Save `sk_model` and upload it as artifacts of the active run (one is started if none).

    `name` (MLflow 3) and `artifact_path` (MLflow 2) are the same thing: the directory under
    the run's artifacts; default "model". Returns a ModelInfo whose `model_uri` is
    `runs:/<run_id>/<artifact_path>`.
    """
    if name and artifact_path and name != artifact_path:
        raise ValueError("pass either name or artifact_path (they mean the same), not both")
    path = (name or artifact_path or "model").strip("/")
    the_run_id = _active_or_new_run_id(run_id)
    model = Model(artifact_path=path, run_id=the_run_id)
    with tempfile.TemporaryDirectory(prefix="mlgrpc-model-") as tmp:
        local_dir = Path(tmp) / "model"
        save_model(
            sk_model,
            local_dir,
            serialization_format=serialization_format,
            signature=signature,
            input_example=input_example,
            pip_requirements=pip_requirements,
            extra_pip_requirements=extra_pip_requirements,
            pyfunc_predict_fn=pyfunc_predict_fn,
            metadata=metadata,
            skops_trusted_types=skops_trusted_types,
            mlflow_model=model,
        )
        from mlgrpc.client import MlgrpcClient

        MlgrpcClient().log_artifacts(the_run_id, str(local_dir), path)
    model_uri = f"runs:/{the_run_id}/{path}"
    version = None
    if registered_model_name:
        version = _register(model_uri, registered_model_name)
    return ModelInfo(
        artifact_path=path,
        run_id=the_run_id,
        model_uri=model_uri,
        flavors=model.flavors,
        signature=model.signature,
        model_uuid=model.model_uuid,
        utc_time_created=model.utc_time_created,
        saved_input_example_info=model.saved_input_example_info,
        registered_model_version=version,
        metadata=model.metadata,
    )


def _register(model_uri: str, name: str) -> int | None:
    import mlgrpc

    register = getattr(mlgrpc, "register_model", None)
    if register is None:
        raise ModelFormatError(
            f"registered_model_name={name!r} needs the model registry client "
            "(mlgrpc.register_model), which is not available in this installation"
        )
    registered = register(model_uri, name)
    version = getattr(registered, "version", None)
    return int(version) if version is not None else None


def autolog(**flags: Any) -> None:
    """Autologging of sklearn training, as MLflow's (see `mlgrpc.autologging.sklearn`)."""
    from mlgrpc.autologging.sklearn import autolog as enable

    enable(**flags)
