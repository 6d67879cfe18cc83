"""XGBoost autologging: `xgboost.train` params, per-iteration eval metrics, importance, model;
and the scikit-learn wrappers (`XGBRegressor`, `XGBClassifier`, …), as MLflow: their `fit` logs
through the `train` call it makes (params, metrics, importance), then the fitted wrapper as the
model."""

from __future__ import annotations

import logging
from typing import Any

from mlgrpc.autologging import (
    AutologConfig,
    AutologRun,
    autologged,
    configure,
    log_dataset,
)
from mlgrpc.autologging.boosters import (
    log_importance,
    log_wrapper_fit,
    train_params,
    wrapper_classes,
)
from mlgrpc.autologging.logged_model import log_autologged_model

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
    import xgboost.sklearn

    xgboost.train = autologged("xgboost", _log_train)(xgboost.train)
    # The wrappers' own `train`, whose Booster is not the model: the wrapper is (`_log_fit`).
    xgboost.sklearn.train = autologged("xgboost", _log_wrapper_train, takes_handed_down_run=True)(
        xgboost.sklearn.train
    )
    for cls in wrapper_classes(xgboost.sklearn, xgboost.sklearn.XGBModel):
        original = getattr(cls, "fit", None)  # inherited ones too (XGBRegressor's is XGBModel's)
        if original is not None and not hasattr(original, "__wrapped_by_mlgrpc__"):
            cls.fit = autologged("xgboost", _log_fit)(original)


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


def _log_fit(
    run: AutologRun, config: AutologConfig, original: Any, args: tuple[Any, ...], kwargs: Any
) -> Any:
    """`XGBModel.fit`: its `train` logs; then the fitted wrapper is the model."""

    def save_model() -> Any:
        from mlgrpc import xgboost as xgboost_flavor

        return xgboost_flavor.save_model

    return log_wrapper_fit(run, config, original, args, kwargs, save_model)


def _log_wrapper_train(
    run: AutologRun, config: AutologConfig, original: Any, args: tuple[Any, ...], kwargs: Any
) -> Any:
    return _log_train(run, config, original, args, kwargs, log_model=False)


def _log_train(
    run: AutologRun,
    config: AutologConfig,
    original: Any,
    args: tuple[Any, ...],
    kwargs: Any,
    log_model: bool = True,
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
    if config.log_models and log_model:
        from mlgrpc import xgboost as xgboost_flavor

        log_autologged_model(
            run,
            config,
            xgboost_flavor.save_model,
            booster,
            _example(dtrain),
            lambda x: booster.predict(xgboost.DMatrix(x)),
            params_of_run=False,
            link_steps=None,  # MLflow logs every iteration about the model
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
