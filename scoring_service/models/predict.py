"""Running a prediction, and the shapes a model's output is turned into."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

import numpy as np

from mlgrpc_server.errors import Internal, InvalidArgument, ServiceError
from scoring_service.models.enforce import (
    ColumnBatch,
    Where,
    check_rows,
    first_non_finite,
    model_input,
)
from scoring_service.models.loaded import LoadedModel

logger = logging.getLogger(__name__)


def predict(model: LoadedModel, batch: ColumnBatch, *, max_rows: int = 0) -> Any:
    """The model's raw output for `batch`, after enforcing its signature.

    The model refusing the request's values (ValueError, TypeError) is INVALID_ARGUMENT; any
    other exception raised inside the model is INTERNAL. Both carry the model's own message and
    no traceback; the model stays loaded and the next request is served normally.
    """
    check_rows(batch, max_rows)
    is_matrix, data = model_input(model, batch)
    return _run(model, is_matrix, data, lambda: batch)


def predict_matrix(
    model: LoadedModel, matrix: np.ndarray, batch_of: Callable[[], ColumnBatch]
) -> Any:
    """`predict` for input already enforced into the fast path's matrix (`row_matrix`).

    `batch_of` gives the request's named columns, asked for only to name a value the model
    refused; errors are those of `predict`.
    """
    return _run(model, True, matrix, batch_of)


def _run(
    model: LoadedModel, is_matrix: bool, data: Any, batch_of: Callable[[], ColumnBatch]
) -> Any:
    try:
        if is_matrix:
            assert model.predict_matrix is not None
            return model.predict_matrix(data)
        return model.predict_frame(data)
    except ServiceError:
        raise
    except (ValueError, TypeError) as exc:
        # By here the request fits the signature, and the model is the one that loaded and
        # answered before: what varies is the caller's values. numpy, pandas and scikit-learn
        # (check_array, encoders, imputers) say "I cannot take this value" with ValueError or
        # TypeError — NaN where no missing value is allowed, ±inf, an unknown category, a
        # string where a number goes — and the same request would fail again however often it
        # is retried: it is the caller who must change it. INTERNAL stays for what the caller
        # cannot help (any other exception). A model whose own code raises ValueError is the
        # rare case misreported; its message, quoted, and the warning logged still show it.
        logger.warning("model %s v%s refused the input: %r", model.name, model.version, exc)
        raise _refused(model, batch_of(), is_matrix, data, exc) from None
    except Exception as exc:  # noqa: BLE001 - the model's failure, reported to the caller
        logger.warning("model %s v%s raised %r", model.name, model.version, exc)
        raise Internal(
            f"model {model.name!r} version {model.version} failed: {type(exc).__name__}: {exc}",
            metadata={"model_name": model.name, "model_version": model.version},
            reason="MODEL_ERROR",
        ) from None


#: How numpy, pandas and scikit-learn say that a value was missing ("Input X contains NaN",
#: "cannot convert float NaN to integer") or infinite ("Input X contains infinity").
_SAYS_MISSING = re.compile(r"\b(nan|missing)\b", re.IGNORECASE)
_SAYS_INFINITE = re.compile(r"\b(inf|infinity|infinite)\b", re.IGNORECASE)


def _refused(
    model: LoadedModel, batch: ColumnBatch, is_matrix: bool, data: Any, exc: Exception
) -> InvalidArgument:
    """INVALID_ARGUMENT quoting the model; when the model says it refused a missing or
    infinite value, the first one in the input is named (the model only knows its matrix)."""
    message = f"model {model.name!r} version {model.version} cannot take the input"
    field = getattr(exc, "field", None)
    said = str(exc)
    nan, inf = bool(_SAYS_MISSING.search(said)), bool(_SAYS_INFINITE.search(said))
    found = _non_finite_cell(model, batch, is_matrix, data, nan, inf) if nan or inf else None
    if found is not None:
        where, row, what = found
        message = f"{where.text} row {row} is {what}; {message}"
        field = where.field
    return InvalidArgument(
        f"{message}: {type(exc).__name__}: {exc}",
        field=field if isinstance(field, str) and field else None,
        metadata={"model_name": model.name, "model_version": model.version},
    )


def _non_finite_cell(
    model: LoadedModel, batch: ColumnBatch, is_matrix: bool, data: Any, nan: bool, inf: bool
) -> tuple[Where, int, str] | None:
    if is_matrix:
        columns = list(zip(model.matrix_columns, np.asarray(data).T, strict=False))
    elif hasattr(data, "columns"):
        columns = [(str(c), data[c].to_numpy()) for c in data.columns]
    elif isinstance(data, np.ndarray) and data.ndim == 2:  # an unnamed signature's matrix
        columns = list(zip(batch.columns, data.T, strict=False))
    else:
        columns = []
    return first_non_finite(batch, columns, nan=nan, inf=inf)


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
