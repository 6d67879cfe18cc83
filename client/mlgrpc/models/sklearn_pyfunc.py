"""scikit-learn behind `python_function`: the wrapper the sklearn flavor registers."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from mlgrpc.models import sklearn_fast_path
from mlgrpc.models.schema_enforcement import SchemaEnforcementError

logger = logging.getLogger(__name__)

# sklearn warns on every call when an estimator fitted on a DataFrame gets an ndarray. The
# numeric fast path only hands over arrays whose columns it has put in the estimator's own
# feature order, so for it the warning is noise (and costs a formatted message per call).


def align_to_names(data: Any, fitted: Sequence[Any] | None) -> Any:
    """A DataFrame re-ordered to the names a model was fitted with (other input: unchanged).

    Libraries refuse fitted names in another order, and clients often send columns sorted
    (the seed's request is alphabetical); matching by name is what the user means.
    """
    if fitted is None or not hasattr(data, "columns"):
        return data
    names = [str(n) for n in fitted]
    if [str(c) for c in data.columns] == names:
        return data
    present = {str(c): c for c in data.columns}
    missing = [n for n in names if n not in present]
    extra = [c for c in present if c not in set(names)]
    if missing:
        message = f"Model is missing inputs {missing}."
        if extra:
            message += f" Note that there were extra inputs: {extra}."
        raise SchemaEnforcementError(message, missing=missing)
    if extra:
        logger.warning("dropping input columns the model was not fitted on: %s", extra)
    return data[[present[n] for n in names]]


class SklearnPyfunc:
    """The python_function implementation of a scikit-learn estimator."""

    def __init__(self, estimator: Any, predict_fn: str) -> None:
        self.estimator = estimator
        self._predict = getattr(estimator, predict_fn)

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        if params:
            logger.warning("this model takes no inference params; ignoring %s", sorted(params))
        return self._predict(data)

    def get_raw_model(self) -> Any:
        return self.estimator

    def align_input(self, data: Any) -> Any:
        """Without a signature: a DataFrame re-ordered to the estimator's feature names."""
        return align_to_names(data, getattr(self.estimator, "feature_names_in_", None))

    def fast_path(
        self, columns: Sequence[str], probe: Any, predict_frame: Callable[[Any], Any]
    ) -> tuple[Callable[[np.ndarray], Any], tuple[str, ...]] | None:
        return sklearn_fast_path.matrix_predictor(self.estimator, columns, probe, predict_frame)

    def refuses_non_finite(self) -> bool:
        return sklearn_fast_path.refuses_non_finite(self.estimator)

    def feature_names(self) -> list[str] | None:
        names = getattr(self.estimator, "feature_names_in_", None)
        return None if names is None else [str(n) for n in names]
