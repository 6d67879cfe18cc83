"""What XGBoost's and LightGBM's autologging share: train() arguments as params, feature
importance files, and a scikit-learn wrapper's `fit` (its `train` logs, then the wrapper is the
model)."""

from __future__ import annotations

import inspect
import json
import logging
from collections.abc import Callable, Sequence
from typing import Any

from mlgrpc.autologging import AutologConfig, AutologRun, hand_down
from mlgrpc.autologging.logged_model import log_autologged_model

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


def log_wrapper_fit(
    run: AutologRun,
    config: AutologConfig,
    original: Any,
    args: tuple[Any, ...],
    kwargs: Any,
    save_model: Callable[[], Callable[..., Any]],
) -> Any:
    """A wrapper's `fit` (`XGBModel.fit`, `LGBMModel.fit`): the `train` it calls logs into `run`
    (handed down), then the fitted wrapper is logged as the model with `save_model()` (a
    function returning the flavor's save function: the flavor is imported only here)."""
    estimator = args[0]
    x = args[1] if len(args) > 1 else kwargs.get("X")
    example = _head(x)
    with hand_down(run):
        result = original(*args, **kwargs)
    if config.log_models:
        log_autologged_model(
            run,
            config,
            save_model(),
            estimator,
            example,
            estimator.predict,
            link_steps=(0,),  # as MLflow's log_model: the run's values at step 0
        )
    return result


def _head(x: Any) -> Any:
    """A copy of the first rows of the training data (before `fit` may change it), or None."""
    import copy

    try:
        return copy.deepcopy(x[:5])
    except Exception as exc:  # noqa: BLE001 - as MLflow: no example, no signature
        logger.debug("no input example from %s: %s", type(x).__name__, exc)
        return None
