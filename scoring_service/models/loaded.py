"""What the server holds for one served model version."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

#: MLflow column types that the float64 fast path can carry without loss.
FAST_PATH_TYPES = frozenset({"double", "float", "long", "integer", "boolean"})


@dataclass(frozen=True)
class InputColumn:
    """One signature column: name (None for unnamed signatures), MLflow type, required."""

    name: str | None
    type: str
    required: bool = True


@dataclass(frozen=True)
class LoadedModel:
    """One model version ready to predict; immutable so that a swap is a reference assignment.

    `predict_frame` takes a pandas DataFrame whose columns follow `inputs` and returns whatever
    the model returns. `predict_matrix`, when set, takes a float64 matrix whose columns follow
    `matrix_columns` and skips pandas entirely (the numeric fast path). `finite_input_only`
    says the model is known to refuse NaN and ±inf in every numeric column (sklearn's linear
    models): the server then refuses them itself, naming the column and row, before the model
    (or a batch shared with other requests) sees them.
    """

    name: str
    version: str
    source_uri: str
    resolved_uri: str
    flavor: str
    run_id: str
    inputs: tuple[InputColumn, ...]
    outputs: tuple[InputColumn, ...]
    predict_frame: Callable[[Any], Any]
    predict_matrix: Callable[[np.ndarray], Any] | None = None
    matrix_columns: tuple[str, ...] = ()
    loaded_at_ms: int = 0
    finite_input_only: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @cached_property
    def has_named_inputs(self) -> bool:
        return bool(self.inputs) and all(c.name is not None for c in self.inputs)

    @cached_property
    def rows_fast_path(self) -> bool:
        """Whether rows of plain numbers may become the matrix in one step (`row_matrix`):
        a fast path, and a signature of named doubles (other types are checked per column)."""
        return (
            self.predict_matrix is not None
            and self.has_named_inputs
            and all(c.type == "double" for c in self.inputs)
        )

    @cached_property
    def row_layouts(self) -> dict[tuple[str, ...], Any]:
        """`row_matrix`'s cache: a request's column list → how to order it for the matrix."""
        return {}

    def with_identity(self, *, name: str, version: str, source_uri: str) -> LoadedModel:
        """The same model under the name and version it is served as."""
        from dataclasses import replace

        return replace(self, name=name, version=version, source_uri=source_uri)
