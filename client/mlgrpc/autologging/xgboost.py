"""XGBoost autologging: `xgboost.train` params, per-iteration eval metrics, importance, model."""

from __future__ import annotations

import logging
from typing import Any

from mlgrpc.autologging import AutologConfig, AutologRun, autologged, configure, log_dataset
from mlgrpc.autologging.boosters import log_booster_model, log_importance, train_params

logger = logging.getLogger(__name__)

UNLOGGED = (
    "params", "dtrain", "evals", "obj", "feval", "evals_result", "xgb_model", "callbacks",
    "learning_rates",
)  # fmt: skip


def autolog(
    importance_types: tuple[str, ...] = ("weight",),
    log_models: bool = True,
    log_input_examples: bool = True,
    log_model_signatures: bool = True,
    log_datasets: bool = True,
    disable: bool = False,
    exclusive: bool = False,
    silent: bool = False,
) -> None:
    """Log every `xgboost.train` as MLflow's `mlflow.xgboost.autolog()` does."""
    global _importance_types
    _importance_types = tuple(importance_types)
    configure(
        "xgboost",
        _patch,
        log_models=log_models,
        log_input_examples=log_input_examples,
        log_model_signatures=log_model_signatures,
        log_datasets=log_datasets,
        disable=disable,
        exclusive=exclusive,
        silent=silent,
    )


_importance_types: tuple[str, ...] = ("weight",)


def _patch() -> None:
    import xgboost

    xgboost.train = autologged("xgboost", _log_train)(xgboost.train)


def _callback(run: AutologRun) -> Any:
    import xgboost

    class LogEvals(xgboost.callback.TrainingCallback):
        def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
            values = {
                f"{data}-{metric}": float(history[-1] if not isinstance(history[-1], tuple)
                                          else history[-1][0])
                for data, metrics in evals_log.items()
                for metric, history in metrics.items()
            }  # fmt: skip
            if values:
                run.log_metrics(values, step=epoch)
            return False

    return LogEvals()


def _log_train(
    run: AutologRun, config: AutologConfig, original: Any, args: tuple[Any, ...], kwargs: Any
) -> Any:
    import xgboost

    run.log_params(train_params(original, args, kwargs, UNLOGGED))
    dtrain = args[1] if len(args) > 1 else kwargs.get("dtrain")
    if config.log_datasets and dtrain is not None:
        log_dataset(run, dtrain, "train")
        for _data, name in kwargs.get("evals") or ():
            log_dataset(run, _data, "eval", name=name)
    kwargs = dict(kwargs)
    kwargs["callbacks"] = [*(kwargs.get("callbacks") or []), _callback(run)]
    booster = original(*args, **kwargs)
    for kind in _importance_types:
        try:
            log_importance(run, kind, booster.get_score(importance_type=kind))
        except Exception as exc:  # noqa: BLE001
            logger.warning("feature importance %s not logged: %s", kind, exc)
    if config.log_models:
        from mlgrpc import xgboost as xgboost_flavor

        example = _example(dtrain)
        log_booster_model(
            run,
            config,
            xgboost_flavor.log_model,
            booster,
            example,
            lambda x: booster.predict(xgboost.DMatrix(x)),
        )
    return booster


def _example(dtrain: Any) -> Any:
    """The first rows of a DMatrix as a DataFrame (DMatrix keeps no original frame)."""
    try:
        import pandas as pd

        data = dtrain.get_data()[:5].toarray()
        return pd.DataFrame(data, columns=dtrain.feature_names)
    except Exception as exc:  # noqa: BLE001
        logger.debug("no input example from the DMatrix: %s", exc)
        return None
