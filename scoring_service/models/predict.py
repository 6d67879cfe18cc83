"""Running a prediction, and the shapes a model's output is turned into."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from mlgrpc_server.errors import Internal, ServiceError
from scoring_service.models.enforce import ColumnBatch, check_rows, model_input
from scoring_service.models.loaded import LoadedModel

logger = logging.getLogger(__name__)


def predict(model: LoadedModel, batch: ColumnBatch, *, max_rows: int = 0) -> Any:
    """The model's raw output for `batch`, after enforcing its signature.

    An exception raised inside the model becomes INTERNAL carrying the model's own message and
    no traceback; the model stays loaded and the next request is served normally.
    """
    check_rows(batch, max_rows)
    is_matrix, data = model_input(model, batch)
    try:
        if is_matrix:
            assert model.predict_matrix is not None
            return model.predict_matrix(data)
        return model.predict_frame(data)
    except ServiceError:
        raise
    except Exception as exc:  # noqa: BLE001 - the model's failure, reported to the caller
        logger.warning("model %s v%s raised %r", model.name, model.version, exc)
        raise Internal(
            f"model {model.name!r} version {model.version} failed: {type(exc).__name__}: {exc}",
            metadata={"model_name": model.name, "model_version": model.version},
            reason="MODEL_ERROR",
        ) from None


def output_columns(output: Any, default_name: str = "predictions") -> list[tuple[str, np.ndarray]]:
    """The model's output as named columns: one per DataFrame column, else a single one."""
    if hasattr(output, "columns") and hasattr(output, "to_numpy"):  # DataFrame
        return [(str(c), output[c].to_numpy()) for c in output.columns]
    if isinstance(output, dict):
        return [(str(k), np.asarray(v)) for k, v in output.items()]
    if hasattr(output, "to_numpy"):  # Series
        return [(str(output.name or default_name), output.to_numpy())]
    return [(default_name, np.asarray(output))]


def output_records(output: Any) -> list[Any]:
    """The model's output as MLflow's `predictions` list (DataFrame → records)."""
    if hasattr(output, "columns") and hasattr(output, "to_dict"):
        return list(output.to_dict(orient="records"))
    if isinstance(output, np.ndarray):
        return output.tolist()
    if hasattr(output, "tolist"):
        return list(output.tolist())
    if isinstance(output, dict):
        return [output]
    return list(output)
