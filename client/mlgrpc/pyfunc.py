"""`python_function`: one `predict` for every model, with the signature enforced on the way in.

`load_model(uri)` reads the MLmodel's `python_function` flavor; its `loader_module` picks the
flavor in the registry (`mlgrpc.models.flavors`), which wraps the model as a `PyfuncImpl`.

For the scoring service:
- `load_model_from_dir(model_dir, allow_pickle=False)` loads without resolving a URI and
  refuses formats whose loading runs code (see `mlgrpc.sklearn`).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

from mlgrpc.models import flavors
from mlgrpc.models.errors import ModelFormatError
from mlgrpc.models.input_example import load_input_example
from mlgrpc.models.model import PYFUNC_FLAVOR, Model
from mlgrpc.models.schema_enforcement import (
    enforce_schema,
)
from mlgrpc.models.signature import Schema
from mlgrpc.python_model import PythonModel, PythonModelContext
from mlgrpc.python_model import log_model as _log_python_model
from mlgrpc.python_model import save_model as _save_python_model

logger = logging.getLogger(__name__)

FLAVOR_NAME = PYFUNC_FLAVOR
__all__ = [
    "PyFuncModel",
    "PythonModel",
    "PythonModelContext",
    "load_model",
    "load_model_from_dir",
    "log_model",
    "save_model",
]


def log_model(name: str | None = None, **kwargs: Any) -> Any:
    """Log a custom model: `log_model(name="m", python_model=…, artifacts=…, code_paths=…)`.

    See `mlgrpc.python_model.log_model`; the model is cloudpickled (loading it runs code).
    """
    return _log_python_model(name, **kwargs)


def save_model(path: str | os.PathLike[str], **kwargs: Any) -> Any:
    """Save a custom model directory: `save_model(path, python_model=…, artifacts=…)`."""
    return _save_python_model(path, **kwargs)


class PyFuncModel:
    """A loaded model: `predict` enforces the input signature, then calls the model."""

    def __init__(
        self, model_meta: Model, impl: flavors.PyfuncImpl, model_dir: str, flavor: str = ""
    ) -> None:
        self._meta = model_meta
        self._impl = impl
        self._model_dir = model_dir
        self._flavor = flavor

    @property
    def metadata(self) -> Model:
        """The MLmodel: signature, run_id, flavors, …"""
        return self._meta

    @property
    def model_dir(self) -> str:
        return self._model_dir

    @property
    def flavor(self) -> str:
        """The registered flavor that loaded the model ("sklearn", "xgboost", …)."""
        return self._flavor

    @property
    def impl(self) -> flavors.PyfuncImpl:
        """The flavor's wrapper (for its optional serving hooks)."""
        return self._impl

    @property
    def input_schema(self) -> Schema | None:
        return self._meta.get_input_schema()

    def get_raw_model(self) -> Any:
        """The underlying model (estimator, booster, PythonModel)."""
        return self._impl.get_raw_model()

    def load_input_example(self) -> Any:
        return load_input_example(self._model_dir, self._meta.saved_input_example_info)

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        """Predict on a DataFrame, ndarray, dict of columns or list of rows.

        With a signature, inputs are matched by name (any order; extras dropped) and converted
        only when safe; a mismatch raises `SchemaEnforcementError` (a ValueError) naming the
        columns. Without one, `data` goes to the model as given, except that a DataFrame is
        matched by name to the feature names the estimator was fitted with.
        """
        schema = self.input_schema
        if schema is None:
            align = getattr(self._impl, "align_input", None)
            return self._impl.predict(align(data) if align else data, params)
        return self._impl.predict(enforce_schema(data, schema), params)

    def __repr__(self) -> str:
        flavors = sorted(f for f in self._meta.flavors if f != PYFUNC_FLAVOR)
        return f"PyFuncModel(flavors={flavors}, run_id={self._meta.run_id!r})"


def load_model_from_dir(
    model_dir: str | os.PathLike[str], *, allow_pickle: bool = True
) -> PyFuncModel:
    """Load the python_function flavor of a local model directory."""
    model_dir = Path(model_dir)
    meta = Model.load(model_dir)
    conf = meta.flavors.get(PYFUNC_FLAVOR)
    if conf is None:
        raise ModelFormatError(
            f"the model at {model_dir} has no python_function flavor "
            f"(flavors: {sorted(meta.flavors)}); load it with its own flavor's load_model"
        )
    flavor = flavors.for_loader_module(conf.get("loader_module"), model_dir)
    impl = flavor.load_pyfunc(model_dir, conf, allow_pickle=allow_pickle)
    return PyFuncModel(meta, impl, str(model_dir), flavor.name)


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
