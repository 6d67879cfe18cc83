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
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from mlgrpc.autologging import AutologConfig, AutologRun
from mlgrpc.autologging.background import UPLOADS
from mlgrpc.entities import Dataset, Metric
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
    metrics: Mapping[str, float] | None = None,
    dataset: Dataset | None = None,
    link_steps: tuple[int, ...] | None = (),
) -> bool:
    """Save `model` with `save_model` now; make it a LoggedModel of `run` in the background.
    True when the upload is under way (then it logs `metrics` too), False when nothing was saved
    (the caller logs `metrics` itself).

    `params_of_run`: the LoggedModel gets the run's params, as MLflow's `log_model` gives them;
    False for the boosters' `train`, whose LoggedModel MLflow creates before training, bare.
    `metrics`: values to log to the run about the model (and `dataset`, the training data),
    as MLflow's scikit-learn autologging logs its training metrics: the model lists them.
    `link_steps`: the steps whose values the run already logged in this call (per-iteration
    metrics) are linked to the model too, as MLflow does (None: every step). The service keeps
    one row per value, so the run's history does not grow."""
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
        return False
    from mlgrpc import fluent

    client, tags = run._client(), fluent._context_tags()
    model_params = {str(k): str(v) for k, v in (params or {}).items()}
    now = int(time.time() * 1000)
    values = [
        Metric(
            str(k),
            float(v),
            now,
            0,
            dataset_name=dataset.name if dataset else "",
            dataset_digest=dataset.digest if dataset else "",
        )
        for k, v in (metrics or {}).items()
    ]
    values += [m for m in run.logged_metrics if link_steps is None or m.step in link_steps]

    def upload() -> None:
        try:
            _upload(client, run, local, description, model_params, tags, params_of_run, values)
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    UPLOADS.submit("the model", upload)
    return True


def _upload(
    client: Any,
    run: AutologRun,
    local: Path,
    description: Model,
    params: dict[str, str],
    tags: dict[str, str],
    params_of_run: bool,
    metrics: list[Metric],
) -> None:
    if params_of_run:
        # As MLflow's Model.log: the run's params (as written so far) and the ones this call
        # logged, which the asynchronous queue may not have written yet.
        params = {**client.get_run(run.run_id).data.params, **run.logged_params, **params}
    try:
        logged = client.create_logged_model(
            run.experiment_id,
            name=MODEL_NAME,
            source_run_id=run.run_id,
            params=params,
            tags=tags,
        )
    except Exception:
        if metrics:  # the run keeps its metrics without the model
            client.log_batch(run.run_id, metrics=metrics, synchronous=True)
        raise
    try:
        if metrics:
            linked = [replace(m, model_id=logged.model_id) for m in metrics]
            client.log_batch(run.run_id, metrics=linked, synchronous=True)
        client.log_outputs(run.run_id, {logged.model_id: 0})
        description.model_id = description.model_uuid = logged.model_id
        description.artifact_path = logged.artifact_location
        description.save(local / MLMODEL_FILE_NAME)
        client.log_artifacts(logged.model_id, local)
    except Exception as exc:
        client.finalize_logged_model(logged.model_id, "FAILED", f"upload failed: {exc}")
        raise
    client.finalize_logged_model(logged.model_id, "READY")
