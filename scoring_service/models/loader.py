"""Loading a model directory (MLflow's MLmodel format) into a `LoadedModel`.

`mlgrpc.pyfunc` loads the model through the flavor registry (pickle only with `allow_pickle`);
the server asks the flavor's wrapper for its optional fast path (a float64 matrix, no pandas)
and adds its own wire-level enforcement (`enforce.py`: JSON numbers are doubles, so integral
doubles are accepted for integer columns).
"""

from __future__ import annotations

import logging
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from mlgrpc.exceptions import MlgrpcException
from mlgrpc.models import flavors
from mlgrpc.models.errors import UnsafeModelError
from mlgrpc.models.signature import ColSpec, Schema, TensorSpec
from mlgrpc_server.errors import FailedPrecondition, InvalidArgument, NotFound, ServiceError
from scoring_service.models.loaded import FAST_PATH_TYPES, InputColumn, LoadedModel

logger = logging.getLogger(__name__)


def schema_columns(schema: Schema | None) -> tuple[InputColumn, ...]:
    """A signature's columns as the server enforces them (tensor specs as typed columns)."""
    if schema is None:
        return ()
    columns: list[InputColumn] = []
    for spec in schema:
        if isinstance(spec, ColSpec):
            type_name = spec.type if isinstance(spec.type, str) else "any"
            columns.append(InputColumn(spec.name, type_name, spec.required))
        elif isinstance(spec, TensorSpec):
            kind = np.dtype(spec.dtype).kind
            type_name = {"f": "double", "i": "long", "u": "long", "b": "boolean"}.get(
                kind, "string"
            )
            columns.append(InputColumn(spec.name, type_name, True))
    return tuple(columns)


def _probe_frame(model: Any, inputs: tuple[InputColumn, ...]) -> Any:
    """A small DataFrame in signature order: the saved input example, or a row of ones."""
    import pandas as pd

    names = [str(c.name) for c in inputs]
    try:
        example = model.load_input_example()
        if example is not None:
            return pd.DataFrame(example)[names].astype(np.float64).head(5)
    except Exception as exc:  # noqa: BLE001 - the example is only a convenience
        logger.debug("input example unusable as probe: %s", exc)
    return pd.DataFrame([[1.0] * len(names)], columns=names)


#: The service's way to allow what the library refused with `allow_pickle=False`.
ALLOW_PICKLE_REMEDY = (
    "start the scoring service with --allow-pickle or MLGRPC_ALLOW_PICKLE=1 to load it, "
    "only if you trust the model's author"
)


def _service_error(exc: MlgrpcException) -> ServiceError:
    """The client library's exception as the server's, keeping code, reason and field."""
    kinds = {cls.code: cls for cls in (InvalidArgument, NotFound, FailedPrecondition)}
    kind = kinds.get(exc.code, FailedPrecondition)
    message = exc.message
    if isinstance(exc, UnsafeModelError) and exc.pickle_refused:
        # The library names its own parameter; here the operator's flag is the remedy.
        message = f"{exc.problem} ({ALLOW_PICKLE_REMEDY})"
    return kind(message, field=exc.field or "model_uri", reason=exc.reason)


def log_version_mismatches(model_flavors: dict[str, dict[str, Any]], model_dir: Path) -> None:
    """Warn when the model was saved by another library or Python version than the running one."""
    from importlib import metadata

    for flavor in flavors.registered():
        recorded = (model_flavors.get(flavor.name) or {}).get(flavor.version_key or "")
        if not recorded:
            continue
        running = getattr(sys.modules.get(flavor.library or ""), "__version__", None)
        if running is None:
            try:
                running = metadata.version(flavor.distribution)
            except metadata.PackageNotFoundError:
                continue
        if str(recorded) != running:
            logger.warning(
                "model %s was saved with %s %s; this server runs %s",
                model_dir,
                flavor.distribution or flavor.library,
                recorded,
                running,
            )
    recorded_python = (model_flavors.get("python_function") or {}).get("python_version")
    if recorded_python:
        running = platform.python_version()
        if str(recorded_python).split(".")[:2] != running.split(".")[:2]:
            logger.warning(
                "model %s was saved with Python %s; this server runs %s",
                model_dir,
                recorded_python,
                running,
            )


def load_model_dir(path: str | Path, *, allow_pickle: bool) -> LoadedModel:
    """Load the model saved in directory `path`; name and version are set by the caller."""
    from mlgrpc import pyfunc

    model_dir = Path(path)
    try:
        model = pyfunc.load_model_from_dir(model_dir, allow_pickle=allow_pickle)
    except FileNotFoundError as exc:
        raise NotFound(str(exc), field="model_uri") from exc
    except MlgrpcException as exc:
        raise _service_error(exc) from exc
    except (ValueError, OSError) as exc:
        raise FailedPrecondition(f"cannot load the model in {model_dir}: {exc}") from exc
    meta = model.metadata
    log_version_mismatches(meta.flavors, model_dir)
    inputs = schema_columns(meta.get_input_schema())
    impl = model.impl
    feature_names = getattr(impl, "feature_names", None)
    if not inputs and feature_names is not None and (names := feature_names()) is not None:
        inputs = tuple(InputColumn(n, "double") for n in names)
    fast: tuple[Any, tuple[str, ...]] | None = None
    named = bool(inputs) and all(c.name is not None for c in inputs)
    fast_path = getattr(impl, "fast_path", None)
    if fast_path is not None and named and all(c.type in FAST_PATH_TYPES for c in inputs):
        fast = fast_path([str(c.name) for c in inputs], _probe_frame(model, inputs), model.predict)
    refuses_non_finite = getattr(impl, "refuses_non_finite", None)
    return LoadedModel(
        name=model_dir.name,
        version="1",
        source_uri=str(model_dir),
        resolved_uri=str(model_dir.resolve()),
        flavor=model.flavor if model.flavor in meta.flavors else "python_function",
        run_id=meta.run_id or "",
        inputs=inputs,
        outputs=schema_columns(meta.get_output_schema()),
        predict_frame=model.predict,
        predict_matrix=fast[0] if fast else None,
        matrix_columns=fast[1] if fast else (),
        loaded_at_ms=int(time.time() * 1000),
        finite_input_only=bool(refuses_non_finite and refuses_non_finite()),
        extra={"pyfunc": model},
    )
