"""`python_function`: one `predict` for every model, with the signature enforced on the way in.

`load_model(uri)` reads the MLmodel's `python_function` flavor; the `loader_module` picks the
implementation (`mlflow.sklearn` or `mlgrpc.sklearn`; other flavors are not supported yet).

For the scoring service:
- `load_model_from_dir(model_dir, allow_pickle=False)` loads without resolving a URI and
  refuses formats whose loading runs code (see `mlgrpc.sklearn`);
- `PyFuncModel.numeric_plan` is a compiled plan when every input is a named numeric column, and
  `PyFuncModel.predict_numeric({name: 1-D array})` then predicts without building a DataFrame.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from mlgrpc.models.errors import ModelFormatError
from mlgrpc.models.input_example import load_input_example
from mlgrpc.models.model import PYFUNC_FLAVOR, Model
from mlgrpc.models.schema_enforcement import (
    NumericInputPlan,
    SchemaEnforcementError,
    enforce_schema,
    numeric_plan,
)
from mlgrpc.models.signature import Schema

logger = logging.getLogger(__name__)

FLAVOR_NAME = PYFUNC_FLAVOR

# sklearn warns on every call when an estimator fitted on a DataFrame gets an ndarray. The
# numeric fast path only hands over arrays whose columns it has put in the estimator's own
# feature order, so for it the warning is noise (and costs a formatted message per call).
_FEATURE_NAMES_WARNING = "X does not have valid feature names"


class _SklearnPyfunc:
    """The python_function implementation of a scikit-learn estimator."""

    def __init__(self, estimator: Any, predict_fn: str) -> None:
        self.estimator = estimator
        self._predict = getattr(estimator, predict_fn)

    def predict(self, data: Any) -> Any:
        return self._predict(data)

    def align_to_fitted_names(self, data: Any) -> Any:
        """Without a signature: a DataFrame re-ordered to the estimator's own feature names.

        scikit-learn refuses fitted names in another order, and clients often send columns
        sorted (the seed's request is alphabetical); matching by name is what the user means.
        """
        fitted = getattr(self.estimator, "feature_names_in_", None)
        if fitted is None or not hasattr(data, "columns"):
            return data
        names = [str(n) for n in fitted]
        if [str(c) for c in data.columns] == names:
            return data
        present = {str(c): c for c in data.columns}
        missing = [n for n in names if n not in present]
        if missing:
            extra = [c for c in present if c not in set(names)]
            message = f"Model is missing inputs {missing}."
            if extra:
                message += f" Note that there were extra inputs: {extra}."
            raise SchemaEnforcementError(message, missing=missing)
        extra = [c for c in present if c not in set(names)]
        if extra:
            logger.warning("dropping input columns the model was not fitted on: %s", extra)
        return data[[present[n] for n in names]]

    def matrix_plan(self, plan: NumericInputPlan) -> tuple[NumericInputPlan, bool]:
        """The plan re-ordered to the estimator's feature order, and whether an ndarray is OK.

        False means the estimator knows feature names that differ from the signature's: then
        it must get a DataFrame to check them itself.
        """
        fitted = getattr(self.estimator, "feature_names_in_", None)
        if fitted is None:
            return plan, True
        fitted_names = [str(n) for n in fitted]
        if sorted(fitted_names) != sorted(plan.names):
            return plan, False
        order = [plan.names.index(n) for n in fitted_names]
        warnings.filterwarnings("ignore", message=_FEATURE_NAMES_WARNING, category=UserWarning)
        return (
            NumericInputPlan(
                names=tuple(fitted_names),
                type_names=tuple(plan.type_names[i] for i in order),
                required=tuple(plan.required[i] for i in order),
                dtype=plan.dtype,
            ),
            True,
        )


class PyFuncModel:
    """A loaded model: `predict` enforces the input signature, then calls the model."""

    def __init__(self, model_meta: Model, impl: _SklearnPyfunc, model_dir: str) -> None:
        self._meta = model_meta
        self._impl = impl
        self._model_dir = model_dir
        plan = numeric_plan(model_meta.get_input_schema())
        self._numeric_plan: NumericInputPlan | None = None
        self._matrix_ok = False
        if plan is not None:
            self._numeric_plan, self._matrix_ok = impl.matrix_plan(plan)

    @property
    def metadata(self) -> Model:
        """The MLmodel: signature, run_id, flavors, …"""
        return self._meta

    @property
    def model_dir(self) -> str:
        return self._model_dir

    @property
    def input_schema(self) -> Schema | None:
        return self._meta.get_input_schema()

    @property
    def numeric_plan(self) -> NumericInputPlan | None:
        """Set when every input is a named numeric column: `predict_numeric` can be used."""
        return self._numeric_plan

    def get_raw_model(self) -> Any:
        """The underlying estimator."""
        return self._impl.estimator

    def load_input_example(self) -> Any:
        return load_input_example(self._model_dir, self._meta.saved_input_example_info)

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        """Predict on a DataFrame, ndarray, dict of columns or list of rows.

        With a signature, inputs are matched by name (any order; extras dropped) and converted
        only when safe; a mismatch raises `SchemaEnforcementError` (a ValueError) naming the
        columns. Without one, `data` goes to the model as given, except that a DataFrame is
        matched by name to the feature names the estimator was fitted with.
        """
        if params:
            logger.warning("this model takes no inference params; ignoring %s", sorted(params))
        schema = self.input_schema
        if schema is None:
            return self._impl.predict(self._impl.align_to_fitted_names(data))
        return self._impl.predict(enforce_schema(data, schema))

    def predict_numeric(self, columns: Mapping[str, Any]) -> Any:
        """Fast path: `{column name: 1-D array}` → predictions, with no DataFrame in between.

        Same checks as `predict` (by name, safe conversions, missing column named). Raises
        SchemaEnforcementError when the signature is not all named numeric columns.
        """
        plan = self._numeric_plan
        if plan is None:
            raise SchemaEnforcementError(
                "predict_numeric needs a signature of named numeric columns; use predict()"
            )
        matrix = plan.to_matrix(columns)
        if self._matrix_ok:
            return self._impl.predict(matrix)
        import pandas as pd

        return self._impl.predict(pd.DataFrame(matrix, columns=list(plan.names)))

    def __repr__(self) -> str:
        flavors = sorted(f for f in self._meta.flavors if f != PYFUNC_FLAVOR)
        return f"PyFuncModel(flavors={flavors}, run_id={self._meta.run_id!r})"


def load_model_from_dir(
    model_dir: str | os.PathLike[str], *, allow_pickle: bool = True
) -> PyFuncModel:
    """Load the python_function flavor of a local model directory."""
    from mlgrpc import sklearn as sklearn_flavor

    model_dir = Path(model_dir)
    meta = Model.load(model_dir)
    conf = meta.flavors.get(PYFUNC_FLAVOR)
    if conf is None:
        raise ModelFormatError(
            f"the model at {model_dir} has no python_function flavor "
            f"(flavors: {sorted(meta.flavors)}); load it with its own flavor's load_model"
        )
    loader = conf.get("loader_module")
    if loader not in sklearn_flavor.ACCEPTED_LOADER_MODULES:
        raise ModelFormatError(
            f"the model at {model_dir} needs loader_module {loader!r}; mlgrpc loads "
            f"{sorted(sklearn_flavor.ACCEPTED_LOADER_MODULES)} models"
        )
    estimator = sklearn_flavor.load_model_from_dir(model_dir, allow_pickle=allow_pickle)
    predict_fn = conf.get("predict_fn", "predict")
    if not hasattr(estimator, predict_fn):
        raise ModelFormatError(f"the {type(estimator).__name__} has no method {predict_fn!r}")
    return PyFuncModel(meta, _SklearnPyfunc(estimator, predict_fn), str(model_dir))


def load_model(
    model_uri: str | os.PathLike[str],
    suppress_warnings: bool = False,
    dst_path: str | None = None,
    *,
    allow_pickle: bool = True,
) -> PyFuncModel:
    """Load the model at `model_uri` (local path, `file:`, `runs:/…`, registered schemes).

    `allow_pickle=False` refuses pickle/cloudpickle models (their loading runs code).
    """
    from mlgrpc.model_uri import resolve_model_uri

    del suppress_warnings  # accepted for MLflow signature compatibility
    return load_model_from_dir(resolve_model_uri(model_uri, dst_path), allow_pickle=allow_pickle)


def as_numpy(predictions: Any) -> np.ndarray:
    """Predictions as one ndarray (DataFrame/Series/list too), for encoders."""
    if hasattr(predictions, "to_numpy"):
        return predictions.to_numpy()
    return np.asarray(predictions)
