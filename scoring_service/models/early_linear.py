"""Serving a linear model before scikit-learn is imported: the numpy-only early start.

Importing scikit-learn costs about a second (it imports scipy.stats and pandas), and skops
needs it to load any model; the fast path of a dense linear model is `X @ coef_ + intercept_`,
which needs numpy only. So at start, for a skops file whose root is one of `ALLOWED_CLASSES`
and whose whole tree is made of nodes skops trusts by default (JSON values, numeric arrays,
builtin containers), the server reads `coef_`, `intercept_` and `feature_names_in_` straight
from the zip — `schema.json` and `.npy` members read with `allow_pickle=False`, nothing
instantiated, no code from the file — and serves predictions at once, while the full load
(skops + scikit-learn, the verified fast path) runs in a background thread and replaces it.

The early predictor computes exactly what the full model's fast path computes
(`mlgrpc.models.sklearn_fast_path._linear_kernel`: the same float64 arrays, the same
`matrix @ weights + intercept`). Every allowed class refuses NaN and ±inf, so the stand-in is
`finite_input_only` as the full model is: such input is refused before either sees it, with
the same error. What it cannot answer alone — a request that needs a DataFrame, non-finite input
reaching it another way — waits for the full model. Anything not
recognised here (another class, another node type, pickle, no signature…) means no early
start: the model loads the normal way before the server reports SERVING.
"""

from __future__ import annotations

import functools
import io
import json
import logging
import threading
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from mlgrpc.models.model import Model
from mlgrpc_server.errors import Unavailable
from scoring_service.models.loaded import FAST_PATH_TYPES, InputColumn, LoadedModel
from scoring_service.models.loader import schema_columns

logger = logging.getLogger(__name__)

#: Estimators whose predict is LinearModel's dense `X @ coef_.T + intercept_` (the classes the
#: full fast path `_linear_kernel` accepts; tests/scoring check that it still accepts each).
ALLOWED_CLASSES = frozenset(
    {
        ("sklearn.linear_model._coordinate_descent", "ElasticNet"),
        ("sklearn.linear_model._coordinate_descent", "Lasso"),
        ("sklearn.linear_model._base", "LinearRegression"),
    }
)
SKOPS_PROTOCOL = 2
_CONTAINERS = {"DictNode": "dict", "ListNode": "list", "TupleNode": "tuple"}
_MAX_SCHEMA_BYTES = 8 << 20


class _NotEarly(Exception):
    """The model is not one the early start handles (the normal load takes it)."""


class PendingFullModel:
    """The full model loading behind a numpy stand-in: the model once loaded (it then replaces
    the stand-in), or why it could not be."""

    def __init__(self) -> None:
        self._done = threading.Event()
        self._model: LoadedModel | None = None
        self._error: BaseException | None = None

    def resolve(self, model: LoadedModel) -> None:
        self._model = model
        self._done.set()

    def fail(self, error: BaseException) -> None:
        self._error = error
        self._done.set()

    def get(self, timeout: float = 120.0) -> LoadedModel:
        if not self._done.wait(timeout):
            raise Unavailable("the model is still loading; retry shortly")
        if self._model is None:
            raise Unavailable(f"the model failed to load: {self._error}")
        return self._model


@functools.cache
def _numpy_scalar_types() -> frozenset[str]:
    """The numpy scalar types skops trusts by default (its NUMPY_DTYPE_TYPE_NAMES rule)."""
    names = {f"{t.__module__}.{t.__name__}" for t in np.sctypeDict.values()}
    return frozenset(n for n in names if n.startswith("numpy"))


def _check_node(node: Any, seen: dict[int, str]) -> None:
    """Every node must be one skops trusts by default; ids must mean one node (skops memoizes
    by `__id__`, so two different nodes under one id could be read differently)."""
    if not isinstance(node, dict):
        raise _NotEarly("malformed skops node")
    loader, module, cls = node.get("__loader__"), node.get("__module__"), node.get("__class__")
    if "__id__" in node:
        canonical = json.dumps(node, sort_keys=True)
        if seen.setdefault(node["__id__"], canonical) != canonical:
            raise _NotEarly("one skops __id__ names different nodes")
    if loader in ("JsonNode", "TypeNode"):
        if (module, cls) != ("builtins", "str") and not (
            loader == "TypeNode" and module == "builtins" and cls in ("int", "float", "bool")
        ):
            raise _NotEarly(f"{loader} of {module}.{cls}")
        return
    if loader == "NdArrayNode":
        if module != "numpy" or (cls != "ndarray" and f"numpy.{cls}" not in _numpy_scalar_types()):
            raise _NotEarly(f"array node of {module}.{cls}")
        if node.get("type") == "json":
            for item in node.get("content") or ():
                _check_node(item, seen)
            _check_node(node.get("shape"), seen)
        elif node.get("type") != "numpy":
            raise _NotEarly("array node of unknown type")
        return
    if loader in _CONTAINERS:
        if (module, cls) != ("builtins", _CONTAINERS[loader]):
            raise _NotEarly(f"{loader} of {module}.{cls}")
        content = node.get("content")
        children = content.values() if isinstance(content, dict) else content or ()
        for child in children:
            _check_node(child, seen)
        if loader == "DictNode":
            # skops pairs key types with entries by position: a short list drops entries.
            key_types = node.get("key_types")
            _check_node(key_types, seen)
            n_key_types = len(key_types.get("content") or ())
            if not isinstance(content, dict) or n_key_types != len(content):
                raise _NotEarly("dict keys and key types differ in number")
        return
    raise _NotEarly(f"skops node {loader}")


def _array(archive: zipfile.ZipFile, node: dict[str, Any]) -> np.ndarray:
    if node.get("__loader__") == "JsonNode":
        value = json.loads(node["content"])
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _NotEarly("non-numeric attribute")
        return np.asarray(value, dtype=np.float64)
    if node.get("__loader__") != "NdArrayNode" or node.get("type") != "numpy":
        raise _NotEarly("attribute is not a numeric array")
    with archive.open(str(node["file"])) as member:
        array = np.load(io.BytesIO(member.read()), allow_pickle=False)
    if array.dtype.kind not in "fiu":
        raise _NotEarly(f"array of dtype {array.dtype}")
    return np.asarray(array, dtype=np.float64)


def _feature_names(node: dict[str, Any] | None) -> tuple[str, ...] | None:
    if node is None:
        return None
    if node.get("__loader__") != "NdArrayNode" or node.get("type") != "json":
        raise _NotEarly("feature_names_in_ is not an array of names")
    names = [json.loads(item["content"]) for item in node.get("content") or ()]
    if not all(isinstance(n, str) for n in names):
        raise _NotEarly("feature names are not strings")
    shape = [json.loads(item["content"]) for item in node["shape"].get("content") or ()]
    if shape != [len(names)]:
        raise _NotEarly("feature_names_in_ is not a 1-D array of its names")
    return tuple(names)


def read_linear_weights(
    skops_file: Path,
) -> tuple[np.ndarray, np.ndarray, tuple[str, ...] | None]:
    """(coef_, intercept_, feature_names_in_) of an allowlisted linear estimator's skops file."""
    with zipfile.ZipFile(skops_file) as archive:
        if archive.getinfo("schema.json").file_size > _MAX_SCHEMA_BYTES:
            raise _NotEarly("schema.json too large")
        schema = json.loads(archive.read("schema.json"))
        if not isinstance(schema, dict) or schema.get("protocol") != SKOPS_PROTOCOL:
            raise _NotEarly("unknown skops protocol")
        if schema.get("__loader__") != "ObjectNode" or (
            (schema.get("__module__"), schema.get("__class__")) not in ALLOWED_CLASSES
        ):
            raise _NotEarly(f"estimator {schema.get('__module__')}.{schema.get('__class__')}")
        state = schema.get("content")
        if not isinstance(state, dict) or state.get("__loader__") != "DictNode":
            raise _NotEarly("estimator state is not a dict")
        _check_node(state, {})
        attributes = state["content"]
        key_types = state["key_types"]["content"]
        if any((t["__module__"], t["__class__"]) != ("builtins", "str") for t in key_types):
            raise _NotEarly("attribute names that are not strings")
        if "coef_" not in attributes or "intercept_" not in attributes:
            raise _NotEarly("not fitted")
        coef = _array(archive, attributes["coef_"])
        intercept = _array(archive, attributes["intercept_"])
        names = _feature_names(attributes.get("feature_names_in_"))
    return coef, intercept, names


def linear_kernel(
    coef: np.ndarray, intercept: np.ndarray, fallback: Callable[[np.ndarray], Any]
) -> Callable[[np.ndarray], Any]:
    """`_linear_kernel`'s arithmetic; non-finite input goes to `fallback` (the full model)."""
    weights = coef if coef.ndim == 1 else coef.T

    def predict(matrix: np.ndarray) -> Any:
        if not np.isfinite(matrix).all():
            return fallback(matrix)
        return matrix @ weights + intercept

    return predict


def numpy_stand_in(model_dir: Path, full: PendingFullModel) -> LoadedModel | None:
    """An early stand-in for the model in `model_dir`, or None when it takes the normal load."""
    try:
        return _numpy_stand_in(model_dir, full)
    except _NotEarly as reason:
        logger.info("no early start for %s: %s", model_dir, reason)
    except Exception as exc:  # noqa: BLE001 - a file this reader cannot read: the normal load
        logger.info("no early start for %s: %r", model_dir, exc)
    return None


def _numpy_stand_in(model_dir: Path, full: PendingFullModel) -> LoadedModel:
    meta = Model.load(model_dir)
    sklearn_conf = meta.flavors.get("sklearn") or {}
    pyfunc_conf = meta.flavors.get("python_function") or {}
    if sklearn_conf.get("serialization_format") != "skops" or sklearn_conf.get("code"):
        raise _NotEarly("not a plain skops sklearn model")
    if pyfunc_conf.get("predict_fn", "predict") != "predict":
        raise _NotEarly("predict_fn is not predict")
    if pyfunc_conf.get("loader_module") not in ("mlflow.sklearn", "mlgrpc.sklearn"):
        raise _NotEarly("unknown loader_module")
    coef, intercept, names = read_linear_weights(model_dir / str(sklearn_conf["pickled_model"]))
    inputs = schema_columns(meta.get_input_schema())
    if not inputs and names is not None:
        inputs = tuple(InputColumn(n, "double") for n in names)
    if not inputs or not all(c.name is not None and c.type in FAST_PATH_TYPES for c in inputs):
        raise _NotEarly("inputs are not all named numeric columns")
    signature_columns = tuple(str(c.name) for c in inputs)
    columns = names if names is not None else signature_columns
    if not set(columns) <= set(signature_columns) or coef.shape[-1] != len(columns):
        raise _NotEarly("feature names do not match the signature")
    if coef.ndim not in (1, 2) or intercept.ndim > 1:
        raise _NotEarly("unexpected coef_/intercept_ shape")

    def full_matrix(matrix: np.ndarray) -> Any:
        model = full.get()
        if model.predict_matrix is not None and model.matrix_columns == columns:
            return model.predict_matrix(matrix)
        import pandas as pd

        return model.predict_frame(pd.DataFrame(matrix, columns=list(columns)))

    return LoadedModel(
        name=model_dir.name,
        version="1",
        source_uri=str(model_dir),
        resolved_uri=str(model_dir.resolve()),
        flavor="sklearn",
        run_id=meta.run_id or "",
        inputs=inputs,
        outputs=schema_columns(meta.get_output_schema()),
        predict_frame=lambda frame: full.get().predict_frame(frame),
        predict_matrix=linear_kernel(coef, intercept, full_matrix),
        matrix_columns=columns,
        loaded_at_ms=int(time.time() * 1000),
        finite_input_only=True,  # as `sklearn_fast_path.refuses_non_finite` says of ALLOWED_CLASSES
        extra={"early": full},
    )
