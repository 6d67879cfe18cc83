"""What XGBoost's and LightGBM's autologging share: train() arguments as params, feature
importance files."""

from __future__ import annotations

import inspect
import json
import logging
from collections.abc import Callable, Sequence
from typing import Any

from mlgrpc.autologging import AutologRun

logger = logging.getLogger(__name__)


def train_params(
    fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], unlogged: Sequence[str]
) -> dict[str, Any]:
    """The booster params plus every other argument of `fn` (defaults included), as MLflow."""
    bound = inspect.signature(fn).bind_partial(*args, **kwargs)
    values = {
        name: bound.arguments.get(name, p.default)
        for name, p in inspect.signature(fn).parameters.items()
        if name not in unlogged and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    }
    params = dict(bound.arguments.get("params") or {})
    params.update(values)
    return params


def log_importance(run: AutologRun, kind: str, importance: dict[str, float]) -> None:
    """feature_importance_<kind>.json, and its bar chart when matplotlib is installed."""
    run.log_text(json.dumps(importance, indent=2), f"feature_importance_{kind}.json")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    names = list(importance)
    figure, axes = plt.subplots(figsize=(6, 0.3 * max(len(names), 4) + 1))
    axes.barh(range(len(names)), [importance[n] for n in names])
    axes.set_yticks(range(len(names)), names)
    axes.set_title(f"Feature importance ({kind})")
    figure.tight_layout()
    try:
        run.log_figure(figure, f"feature_importance_{kind}.png")
    finally:
        plt.close(figure)


def wrapper_classes(module: Any, base: type) -> list[type]:
    """The scikit-learn wrapper classes `module` defines: the subclasses of `base` (as MLflow
    picks the classes it patches)."""
    return [
        cls
        for _name, cls in inspect.getmembers(module, inspect.isclass)
        if issubclass(cls, base) and cls is not base and cls.__module__.startswith(module.__name__)
    ]
