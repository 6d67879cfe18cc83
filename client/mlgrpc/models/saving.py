"""What every flavor's `save_model` / `log_model` shares: the target directory, the signature
from an input example, the environment files, the MLmodel, the upload to a run."""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from mlgrpc.models import environment
from mlgrpc.models.input_example import save_input_example, to_model_input
from mlgrpc.models.model import (
    MLMODEL_FILE_NAME,
    PYFUNC_FLAVOR,
    Model,
    ModelInfo,
    directory_size_bytes,
)
from mlgrpc.models.signature import ModelSignature, infer_signature

logger = logging.getLogger(__name__)


def prepare_target_dir(path: Path) -> None:
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise FileExistsError(f"cannot save the model to {path}: the path exists and is not empty")
    path.mkdir(parents=True, exist_ok=True)


def save_into(path: str | Path, write: Callable[[Path], None]) -> None:
    """Run `write(target)` into a new directory `path`; on any failure nothing is left."""
    target = Path(path)
    prepare_target_dir(target)
    try:
        write(target)
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise


def add_example_and_signature(
    model: Model,
    target: Path,
    input_example: Any,
    signature: ModelSignature | None | bool,
    predict: Callable[[Any], Any] | None,
) -> None:
    """Save the input example; without a signature, infer one from it and `predict` on it."""
    if input_example is not None:
        model.saved_input_example_info = save_input_example(input_example, target)
        if signature is None and predict is not None:
            example = to_model_input(input_example)
            try:
                signature = infer_signature(example, predict(example))
            except Exception as exc:  # as MLflow: a failed inference only costs the signature
                logger.warning("could not infer the signature from the input example: %s", exc)
                signature = None
    if isinstance(signature, ModelSignature):
        model.signature = signature


def add_pyfunc_flavor(model: Model, loader_module: str, **conf: Any) -> None:
    model.add_flavor(
        PYFUNC_FLAVOR,
        loader_module=loader_module,
        python_version=environment.PythonEnv.current().python,
        env={"conda": environment.CONDA_ENV_FILE, "virtualenv": environment.PYTHON_ENV_FILE},
        **conf,
    )


def finish(
    model: Model,
    target: Path,
    default_requirements: Sequence[str],
    pip_requirements: Sequence[str] | None,
    extra_pip_requirements: Sequence[str] | None,
    metadata: dict[str, Any] | None,
) -> Model:
    """Environment files, size and the MLmodel file: the last steps of every save."""
    if metadata is not None:
        model.metadata = metadata
    requirements = environment.merge_requirements(
        default_requirements, pip_requirements, extra_pip_requirements
    )
    environment.write_environment_files(target, requirements)
    model.model_size_bytes = directory_size_bytes(target)
    model.save(target / MLMODEL_FILE_NAME)
    return model


def log_to_run(
    save: Callable[[Path, Model], Model],
    *,
    artifact_path: str | None,
    name: str | None,
    run_id: str | None,
    registered_model_name: str | None,
) -> ModelInfo:
    """Save with `save(local_dir, model)` and upload as artifacts of the active (or a new) run."""
    from mlgrpc import sklearn as sklearn_flavor
    from mlgrpc.client import MlgrpcClient

    if name and artifact_path and name != artifact_path:
        raise ValueError("pass either name or artifact_path (they mean the same), not both")
    path = (name or artifact_path or "model").strip("/")
    the_run_id = sklearn_flavor._active_or_new_run_id(run_id)
    model = Model(artifact_path=path, run_id=the_run_id)
    with tempfile.TemporaryDirectory(prefix="mlgrpc-model-") as tmp:
        local_dir = Path(tmp) / "model"
        save(local_dir, model)
        MlgrpcClient().log_artifacts(the_run_id, str(local_dir), path)
    model_uri = f"runs:/{the_run_id}/{path}"
    version = None
    if registered_model_name:
        version = sklearn_flavor._register(model_uri, registered_model_name)
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
