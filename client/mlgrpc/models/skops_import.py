"""`import skops.io` in tens of milliseconds instead of ≈0.5 s, with the same trusted types.

Importing `skops.io` computes skops' default trusted-type lists at module level, and two of them
cost almost the whole import:
- the scikit-learn estimator names, from `sklearn.utils.all_estimators()`, which imports every
  public sklearn module (and, through `sklearn.utils._testing`, pytest when installed) and walks
  the package: ≈0.35 s;
- the `scipy.special` ufunc names, each found by scanning `sys.modules` (ufuncs have no
  `__module__`): ≈0.15 s, more the more modules are loaded.

Both depend only on the installed packages, so the first process computes them the normal way
and stores the resulting names in a small JSON file keyed by the versions and location of
skops, scikit-learn, scipy, numpy and Python. Later processes import `skops.io` with those two
computations answered from the file, for the duration of the execution of
`skops.io._trusted_types` only (an import hook wraps that one module's loader). skops still
builds, checks and uses its lists itself: `skops.io.load` trusts exactly what it would trust
without the cache, and `skops.io.dump` writes the same files.

The file decides which types skops trusts, so it is used only when it belongs to the current
user and nobody else can write it, and only if every name it holds lies in the package it must
come from (`sklearn.` / `scipy.`). Location: `$MLGRPC_SKOPS_TYPES_CACHE`, else
`$XDG_CACHE_HOME/mlgrpc/skops-types` (default `~/.cache/...`); `MLGRPC_SKOPS_TYPES_CACHE=off`
disables it. Any problem with the file means a plain import, never an error.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import importlib.abc
import importlib.machinery
import json
import logging
import os
import stat
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

logger = logging.getLogger(__name__)

_TRUSTED_TYPES_MODULE = "skops.io._trusted_types"
_CACHE_ENV = "MLGRPC_SKOPS_TYPES_CACHE"
_FORMAT = 1
_lock = threading.Lock()


def cache_dir() -> Path | None:
    """Where the type lists are kept, or None when the cache is disabled."""
    configured = os.environ.get(_CACHE_ENV, "")
    if configured.lower() in ("off", "0", "false", "no"):
        return None
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "mlgrpc" / "skops-types"


def _cache_key() -> str:
    """What the lists depend on: versions and locations of the packages that define them."""
    import numpy
    import scipy
    import sklearn
    import skops

    sklearn_init = Path(sklearn.__file__)
    parts = [
        f"format={_FORMAT}",
        f"python={sys.version}",
        f"skops={skops.__version__}",
        f"sklearn={sklearn.__version__}@{sklearn_init.parent}:{sklearn_init.stat().st_mtime_ns}",
        f"scipy={scipy.__version__}@{Path(scipy.__file__).parent}",
        f"numpy={numpy.__version__}@{Path(numpy.__file__).parent}",
    ]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]


def _valid_names(value: Any, prefix: str) -> list[str] | None:
    if not isinstance(value, list) or not value:
        return None
    if not all(isinstance(v, str) and v.startswith(prefix) for v in value):
        return None
    return value


def _read_cache(path: Path) -> dict[str, list[str]] | None:
    try:
        with open(path, "rb") as f:
            info = os.fstat(f.fileno())
            if info.st_uid != os.getuid() or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
                logger.warning("ignoring %s: not owned by this user or writable by others", path)
                return None
            data = json.loads(f.read())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        logger.debug("skops type cache %s unreadable: %s", path, exc)
        return None
    if not isinstance(data, dict):
        return None
    sklearn_names = _valid_names(data.get("sklearn_estimators"), "sklearn.")
    scipy_names = _valid_names(data.get("scipy_ufuncs"), "scipy.")
    if sklearn_names is None or scipy_names is None:
        return None
    return {"sklearn_estimators": sklearn_names, "scipy_ufuncs": scipy_names}


def _write_cache(path: Path, trusted_types: ModuleType) -> None:
    data = {
        "sklearn_estimators": list(trusted_types.SKLEARN_ESTIMATOR_TYPE_NAMES),
        "scipy_ufuncs": list(trusted_types.SCIPY_UFUNC_TYPE_NAMES),
    }
    if _valid_names(data["sklearn_estimators"], "sklearn.") is None:
        return
    if _valid_names(data["scipy_ufuncs"], "scipy.") is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(data, out)
            os.replace(tmp, path)  # atomic: a concurrent reader sees the old file or the new
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    except OSError as exc:  # a read-only home only costs the speed-up
        logger.debug("cannot write the skops type cache %s: %s", path, exc)


@contextlib.contextmanager
def _answered_from(cached: dict[str, list[str]]) -> Iterator[None]:
    """While skops computes its lists, its two expensive sources return the cached names."""
    import scipy.special
    import sklearn.utils

    # Loaded by then: skops.io._persist imports it before the modules that need the lists.
    skops_utils = importlib.import_module("skops.io._utils")

    real_all_estimators = sklearn.utils.all_estimators
    real_public_names = skops_utils.get_public_type_names

    def all_estimators(type_filter: Any = None) -> list[tuple[str, type]]:
        if type_filter is not None:
            return real_all_estimators(type_filter)
        # skops only reads f"{cls.__module__}.{cls.__name__}" of each class: stand-ins that
        # carry the cached module and name give it back exactly the cached names.
        stand_ins = []
        for full_name in cached["sklearn_estimators"]:
            module, _, name = full_name.rpartition(".")
            stand_ins.append((name, type(name, (), {"__module__": module})))
        return stand_ins

    def get_public_type_names(module: ModuleType, oftype: type) -> list[str]:
        if module is scipy.special:
            return list(cached["scipy_ufuncs"])
        return real_public_names(module=module, oftype=oftype)

    sklearn.utils.all_estimators = all_estimators
    skops_utils.get_public_type_names = get_public_type_names
    try:
        yield
    finally:
        sklearn.utils.all_estimators = real_all_estimators
        skops_utils.get_public_type_names = real_public_names


class _CachedTypesLoader(importlib.abc.Loader):
    """Runs the real loader of `skops.io._trusted_types` with the cached answers in place."""

    def __init__(self, real: Any, cached: dict[str, list[str]]) -> None:
        self._real = real
        self._cached = cached

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self._real.create_module(spec)  # type: ignore[no-any-return]

    def exec_module(self, module: ModuleType) -> None:
        with _answered_from(self._cached):
            self._real.exec_module(module)

    def __getattr__(self, name: str) -> Any:  # get_source, get_code… for tracebacks
        return getattr(self._real, name)


class _CachedTypesFinder(importlib.abc.MetaPathFinder):
    def __init__(self, cached: dict[str, list[str]]) -> None:
        self._cached = cached

    def find_spec(
        self, fullname: str, path: Any, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != _TRUSTED_TYPES_MODULE:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path, target)
        if spec is None or spec.loader is None:
            return None
        spec.loader = _CachedTypesLoader(spec.loader, self._cached)
        return spec


def import_skops_io() -> ModuleType:
    """`skops.io`, imported with the trusted-type lists from the cache when there is one."""
    module = sys.modules.get("skops.io")
    if module is not None:
        return module
    with _lock:
        return _import_locked()


def _import_locked() -> ModuleType:
    directory = cache_dir()
    path = None
    cached = None
    if directory is not None:
        try:
            path = directory / f"{_cache_key()}.json"
        except (ImportError, OSError, AttributeError) as exc:
            logger.debug("no skops type cache: %s", exc)
        else:
            cached = _read_cache(path)
    if cached is None:
        import skops.io

        if path is not None:
            _write_cache(path, sys.modules[_TRUSTED_TYPES_MODULE])
        return skops.io
    finder = _CachedTypesFinder(cached)
    sys.meta_path.insert(0, finder)
    try:
        import skops.io
    finally:
        sys.meta_path.remove(finder)
    return skops.io
