"""The autologged model as MLflow 3 records it: a LoggedModel named `model`, whose source run is
the training run, with the run's params, the context tags (`mlflow.user`, `mlflow.source.*`), its
files under the LoggedModel's own artifact location, the run's output link, and READY (or FAILED
with the reason) once uploaded. `models:/<model_id>` loads it, and so does `runs:/<run>/model`.

The model is saved to a local directory inside `fit` (a snapshot: refitting the estimator later
does not change it); creating the LoggedModel and uploading happen on the upload thread.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from mlgrpc.autologging import AutologConfig, AutologRun
from mlgrpc.autologging.background import UPLOADS
from mlgrpc.models.model import MLMODEL_FILE_NAME, Model

logger = logging.getLogger(__name__)

#: The name MLflow's autologging gives the model.
MODEL_NAME = "model"

#: A flavor's save_model: (model, path, signature=, input_example=, mlflow_model=) -> Model.
SaveModel = Callable[..., Any]


def log_autologged_model(
    run: AutologRun,
    config: AutologConfig,
    save_model: SaveModel,
    model: Any,
    example: Any,
    predict: Callable[[Any], Any],
    params: Mapping[str, Any] | None = None,
    *,
    params_of_run: bool = True,
) -> None:
    """Save `model` with `save_model` now; make it a LoggedModel of `run` in the background.

    `params_of_run`: the LoggedModel gets the run's params, as MLflow's `log_model` gives them;
    False for the boosters' `train`, whose LoggedModel MLflow creates before training, bare."""
    from mlgrpc.models.signature import infer_signature

    signature: Any = False
    if config.log_model_signatures and example is not None:
        try:
            signature = infer_signature(example, predict(example))
        except Exception as exc:  # noqa: BLE001 - as MLflow: only the signature is lost
            logger.warning("could not infer the model signature: %s", exc)
    folder = Path(tempfile.mkdtemp(prefix="mlgrpc-autolog-model-"))
    local = folder / MODEL_NAME
    description = Model(artifact_path=MODEL_NAME, run_id=run.run_id)
    try:
        save_model(
            model,
            local,
            signature=signature,
            input_example=example if config.log_input_examples else None,
            mlflow_model=description,
        )
    except Exception as exc:  # noqa: BLE001 - e.g. skops cannot serialize a custom class
        logger.warning("the model was not logged: %s", exc)
        shutil.rmtree(folder, ignore_errors=True)
        return
    from mlgrpc import fluent

    client, tags = run._client(), fluent._context_tags()
    model_params = {str(k): str(v) for k, v in (params or {}).items()}

    def upload() -> None:
        try:
            _upload(client, run, local, description, model_params, tags, params_of_run)
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    UPLOADS.submit("the model", upload)


def _upload(
    client: Any,
    run: AutologRun,
    local: Path,
    description: Model,
    params: dict[str, str],
    tags: dict[str, str],
    params_of_run: bool,
) -> None:
    if params_of_run:
        # As MLflow's Model.log: the run's params (as written so far) and the ones this call
        # logged, which the asynchronous queue may not have written yet.
        params = {**client.get_run(run.run_id).data.params, **run.logged_params, **params}
    logged = client.create_logged_model(
        run.experiment_id,
        name=MODEL_NAME,
        source_run_id=run.run_id,
        params=params,
        tags=tags,
    )
    try:
        client.log_outputs(run.run_id, {logged.model_id: 0})
        description.model_id = description.model_uuid = logged.model_id
        description.artifact_path = logged.artifact_location
        description.save(local / MLMODEL_FILE_NAME)
        client.log_artifacts(logged.model_id, local)
    except Exception as exc:
        client.finalize_logged_model(logged.model_id, "FAILED", f"upload failed: {exc}")
        raise
    client.finalize_logged_model(logged.model_id, "READY")
