"""`import mlgrpc as mlflow` followed by MLflow's own submodule imports.

An MLflow training script starts with

    import mlflow
    import mlflow.sklearn

Changing the first line to `import mlgrpc as mlflow` is not enough on its own: the second line
makes Python import a *package* named `mlflow` (and rebind the name `mlflow` to it), which either
fails or silently brings MLflow back. This finder resolves `mlflow` and `mlflow.<sub>` to mlgrpc
and `mlgrpc.<sub>` — but only for an import statement executed where the name `mlflow` is already
bound to mlgrpc, i.e. in code that said `import mlgrpc as mlflow`. Everywhere else (a library that
probes `importlib.util.find_spec("mlflow")`, a module that wants the real MLflow) nothing changes.

Once aliased, `sys.modules["mlflow"]` is mlgrpc for the rest of the process: that is what the
script asked for, and it is what makes `mlflow.sklearn` the same module object as `mlgrpc.sklearn`
(never a second copy with its own state).
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
from types import FrameType, ModuleType

_ALIAS = "mlflow"
_TARGET = "mlgrpc"
# Frames of the import machinery itself, between the import statement and this finder.
_IMPORTLIB_DIR = os.path.dirname(importlib.__file__)


def _importing_frame() -> FrameType | None:
    """The frame whose code runs the import statement (the first outside importlib and here)."""
    frame: FrameType | None = sys._getframe(1)
    while frame is not None:
        filename = frame.f_code.co_filename
        inside = filename == __file__ or filename.startswith("<frozen importlib")
        if not (inside or filename.startswith(_IMPORTLIB_DIR)):
            return frame
        frame = frame.f_back
    return None


def _asked_for_by_alias() -> bool:
    frame = _importing_frame()
    if frame is None:
        return False
    target = sys.modules.get(_TARGET)
    bound = frame.f_locals.get(_ALIAS, frame.f_globals.get(_ALIAS))
    return target is not None and bound is target


class _AliasLoader(importlib.abc.Loader):
    """Hands out the already-imported mlgrpc module instead of executing anything."""

    def __init__(self, target_name: str) -> None:
        self._target_name = target_name
        self._original_spec: importlib.machinery.ModuleSpec | None = None

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        module = importlib.import_module(self._target_name)
        self._original_spec = module.__spec__
        return module

    def exec_module(self, module: ModuleType) -> None:
        # The import system stamped the alias spec on the module; mlgrpc's own spec must stay.
        module.__spec__ = self._original_spec


class MlflowAliasFinder(importlib.abc.MetaPathFinder):
    """Meta-path finder for `mlflow[.sub]` in code that bound `mlflow` to mlgrpc."""

    def find_spec(
        self,
        fullname: str,
        path: object = None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != _ALIAS and not fullname.startswith(_ALIAS + "."):
            return None
        mlgrpc_module = sys.modules.get(_TARGET)
        already_aliased = mlgrpc_module is not None and sys.modules.get(_ALIAS) is mlgrpc_module
        if not (already_aliased or _asked_for_by_alias()):
            return None
        target_name = _TARGET + fullname[len(_ALIAS) :]
        if importlib.util.find_spec(target_name) is None:
            return None  # mlgrpc has no such submodule: the usual ModuleNotFoundError follows
        is_package = hasattr(sys.modules.get(target_name) or ModuleType("_"), "__path__")
        return importlib.machinery.ModuleSpec(
            fullname, _AliasLoader(target_name), is_package=is_package
        )


def install() -> None:
    """Put the finder first on `sys.meta_path` (once): an explicit alias beats installed MLflow."""
    if not any(isinstance(finder, MlflowAliasFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, MlflowAliasFinder())
