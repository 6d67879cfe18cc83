"""The sklearn flavor's fast serving path: predictions on a float64 matrix, without pandas.

Offered to the scoring service through the flavor's pyfunc wrapper (`fast_path`,
`refuses_non_finite` in `mlgrpc.models.flavors.PyfuncImpl`); the portable path (a DataFrame
through `predict`) stays the reference the fast path is verified against at load time.
"""

from __future__ import annotations

import copy
import logging
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)


def _strip_feature_names(estimator: Any) -> Any:
    """A copy of the estimator (and its nested estimators) that forgot its feature names.

    sklearn checks (and warns about) feature names on every predict call on an estimator fitted
    on a DataFrame. The fast path builds the matrix in `feature_names_in_` order itself, so the
    copy without names predicts the same values without the check and without a warning.
    """
    stripped = copy.deepcopy(estimator)
    seen: list[Any] = [stripped]
    if hasattr(stripped, "get_params"):
        seen.extend(v for v in stripped.get_params(deep=True).values() if hasattr(v, "__dict__"))
    for obj in seen:
        if "feature_names_in_" in getattr(obj, "__dict__", {}):
            del obj.feature_names_in_
    return stripped


def _is_dense_linear_model(estimator: Any) -> bool:
    """Whether `estimator`'s predict is sklearn's LinearModel arithmetic (no override of
    `_decision_function` other than the sparse branch of the coordinate-descent models)."""
    if not type(estimator).__module__.startswith("sklearn."):
        return False
    from sklearn.linear_model import _base, _coordinate_descent

    kind = type(estimator)
    allowed_decisions = {
        _base.LinearModel._decision_function,
        _coordinate_descent.ElasticNet._decision_function,
    }
    if not isinstance(estimator, _base.LinearModel) or kind._decision_function not in (
        allowed_decisions
    ):
        return False
    return not (
        "predict" in vars(kind)
        and kind.predict is not getattr(_base, "MultiOutputLinearModel", _base.LinearModel).predict
    )


def refuses_non_finite(estimator: Any) -> bool:
    """Whether the estimator is known to refuse NaN and ±inf in every column.

    Known by class, not by sklearn's `allow_nan` tag: a Pipeline whose imputer fills NaN in
    reports `allow_nan=False` and still predicts. LinearModel's `_decision_function` validates
    its input with sklearn's defaults, which refuse any non-finite value.
    """
    return _is_dense_linear_model(estimator)


def _linear_kernel(estimator: Any) -> Callable[[np.ndarray], Any] | None:
    """`X @ coef_ + intercept_` for a dense linear model, skipping sklearn's per-call checks.

    Only for `_is_dense_linear_model` estimators. A non-finite input goes to the estimator
    itself, so that it fails exactly as sklearn does (the server refuses such input before it
    gets here: `LoadedModel.finite_input_only`).
    """
    if not _is_dense_linear_model(estimator):
        return None
    coef = np.asarray(getattr(estimator, "coef_", None), dtype=np.float64)
    intercept = np.asarray(getattr(estimator, "intercept_", 0.0), dtype=np.float64)
    if coef.ndim not in (1, 2):
        return None
    weights = coef if coef.ndim == 1 else coef.T
    fallback = estimator.predict

    def predict(matrix: np.ndarray) -> Any:
        if not np.isfinite(matrix).all():
            return fallback(matrix)
        return matrix @ weights + intercept

    return predict


def matrix_predictor(
    estimator: Any,
    signature_columns: Sequence[str],
    probe: Any,
    predict_frame: Callable[[Any], Any],
) -> tuple[Callable[[np.ndarray], Any], tuple[str, ...]] | None:
    """(predict on a float64 matrix, its column order), or None when the model needs pandas.

    The fast path is accepted only when it predicts exactly what the DataFrame path predicts on
    `probe` (a DataFrame in signature order) without a warning.
    """
    names = getattr(estimator, "feature_names_in_", None)
    columns = tuple(str(n) for n in names) if names is not None else tuple(signature_columns)
    if not set(columns) <= set(signature_columns):
        return None
    try:
        stripped = _strip_feature_names(estimator)
        predict = _linear_kernel(stripped) or stripped.predict
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            fast = np.asarray(predict(probe[list(columns)].to_numpy(dtype=np.float64)))
        slow = np.asarray(predict_frame(probe))
        if fast.shape != slow.shape or not np.allclose(fast, slow, rtol=1e-12, atol=0):
            logger.info("fast path disabled: matrix and DataFrame predictions differ")
            return None
    except Exception as exc:  # noqa: BLE001 - any failure just means: use pandas
        logger.info("fast path disabled: %s", exc)
        return None
    return predict, columns
