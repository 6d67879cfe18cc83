"""The flavor registry: the one place that knows which model formats mlgrpc reads and writes.

A flavor is one module (e.g. `mlgrpc.xgboost`) that provides, by name:
- `FLAVOR_NAME`, `save_model(model, path, …)`, `load_model(model_uri, …)`, `log_model(…)`;
- `get_default_pip_requirements()`: pinned requirements written beside the model;
- `load_pyfunc(model_dir, conf, *, allow_pickle) -> PyfuncImpl`: the model wrapped for
  `python_function` (`conf` is the MLmodel's python_function section).
and one `register(Flavor(...))` line at the bottom of this file. The client's
`mlgrpc.pyfunc.load_model`, the scoring service's loader and the MLmodel code all find a flavor
here, by the `loader_module` written in the MLmodel (ours or MLflow's name for it).

A flavor module is imported only when a model needs it, so that a missing optional library
(xgboost, lightgbm) costs nothing until then, and then a one-line error naming the pip extra.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol, runtime_checkable

from mlgrpc.models.errors import ModelFormatError


@runtime_checkable
class PyfuncImpl(Protocol):
    """What a flavor hands to `PyFuncModel`: the model behind `python_function`'s predict.

    Optional methods a wrapper may add (found with getattr):
    - `align_input(data)`: without a signature, the input matched to the model's own feature
      names (scikit-learn and the boosters know them);
    - `fast_path(columns, probe, predict_frame)`: `(predict on a float64 matrix, its column
      order)` or None — the serving fast path, verified by the flavor against `predict_frame`;
    - `refuses_non_finite()`: True when the model is known to refuse NaN and ±inf everywhere.
    """

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any: ...

    def get_raw_model(self) -> Any: ...


@dataclass(frozen=True)
class Flavor:
    """One model format: its MLmodel key, its module, and what it needs installed."""

    #: The key under `flavors:` in the MLmodel file ("sklearn", "xgboost", …).
    name: str
    #: The mlgrpc module implementing the flavor contract (see the module docstring).
    module: str
    #: python_function `loader_module` values this flavor loads (MLflow's name first: we
    #: write it, so that MLflow loads our models).
    loader_modules: tuple[str, ...]
    #: The import the flavor needs beyond mlgrpc's own dependencies, and the pip extra that
    #: installs it (None: always installed).
    library: str | None = None
    extra: str | None = None
    #: The flavor-section key holding the library version the model was saved with, and the
    #: distribution whose installed version it is compared with.
    version_key: str | None = None
    distribution: str = ""

    @property
    def loader_module(self) -> str:
        """The `loader_module` we write."""
        return self.loader_modules[0]

    def import_module(self) -> ModuleType:
        """The flavor's module; a missing optional library is one line naming the extra."""
        if self.library is not None:
            try:
                importlib.import_module(self.library)
            except ImportError as exc:
                raise ModelFormatError(
                    f"the {self.name} flavor needs the {self.library!r} package: "
                    f"pip install 'mlgrpc[{self.extra}]'"
                ) from exc
        return importlib.import_module(self.module)

    def load_pyfunc(self, model_dir: Path, conf: dict[str, Any], *, allow_pickle: bool) -> Any:
        loader: Callable[..., Any] = self.import_module().load_pyfunc
        return loader(model_dir, conf, allow_pickle=allow_pickle)


_BY_NAME: dict[str, Flavor] = {}
_BY_LOADER: dict[str, Flavor] = {}


def register(flavor: Flavor) -> Flavor:
    """Make `flavor` known to every loader; a second flavor claiming a name is an error."""
    if flavor.name in _BY_NAME and _BY_NAME[flavor.name] != flavor:
        raise ValueError(f"flavor {flavor.name!r} is already registered")
    _BY_NAME[flavor.name] = flavor
    for loader in flavor.loader_modules:
        _BY_LOADER[loader] = flavor
    return flavor


def registered() -> Sequence[Flavor]:
    return tuple(_BY_NAME.values())


def get(name: str) -> Flavor:
    try:
        return _BY_NAME[name]
    except KeyError:
        raise ModelFormatError(
            f"unknown flavor {name!r}; mlgrpc knows {sorted(_BY_NAME)}"
        ) from None


def for_loader_module(loader_module: str | None, model_dir: Path | str = "") -> Flavor:
    """The flavor that loads a python_function section with this `loader_module`."""
    flavor = _BY_LOADER.get(str(loader_module))
    if flavor is None:
        where = f"the model at {model_dir} needs" if model_dir else "this model needs"
        raise ModelFormatError(
            f"{where} loader_module {loader_module!r}; mlgrpc loads {sorted(_BY_LOADER)} models"
        )
    return flavor


# ---- the flavors mlgrpc ships: one line each ---------------------------------------------------
register(Flavor("sklearn", "mlgrpc.sklearn", ("mlflow.sklearn", "mlgrpc.sklearn"),
                version_key="sklearn_version", distribution="scikit-learn"))  # fmt: skip
register(Flavor("python_function", "mlgrpc.python_model", ("mlflow.pyfunc.model",)))
register(Flavor("xgboost", "mlgrpc.xgboost", ("mlflow.xgboost", "mlgrpc.xgboost"),
                library="xgboost", extra="xgboost", version_key="xgb_version"))  # fmt: skip
register(Flavor("lightgbm", "mlgrpc.lightgbm", ("mlflow.lightgbm", "mlgrpc.lightgbm"),
                library="lightgbm", extra="lightgbm", version_key="lgb_version"))  # fmt: skip
