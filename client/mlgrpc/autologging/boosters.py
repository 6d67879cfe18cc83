"""What XGBoost's and LightGBM's autologging share: train() arguments as params, feature
importance files, the model with its signature."""

from __future__ import annotations

import inspect
import json
import logging
from collections.abc import Callable, Sequence
from typing import Any

from mlgrpc.autologging import AutologConfig, AutologRun

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


def log_booster_model(
    run: AutologRun,
    config: AutologConfig,
    log_model: Callable[..., Any],
    model: Any,
    example: Any,
    predict: Callable[[Any], Any],
) -> None:
    from mlgrpc.models.signature import infer_signature

    signature: Any = False
    if config.log_model_signatures and example is not None:
        try:
            signature = infer_signature(example, predict(example))
        except Exception as exc:  # noqa: BLE001 - as MLflow: only the signature is lost
            logger.warning("could not infer the model signature: %s", exc)
    try:
        log_model(
            model,
            name="model",
            signature=signature,
            input_example=example if config.log_input_examples else None,
            run_id=run.run_id,
        )
    except Exception as exc:  # noqa: BLE001
        logger.warning("the model was not logged: %s", exc)
