"""LightGBM autologging: `lightgbm.train` params, per-iteration eval metrics, importance, model;
and the scikit-learn wrappers (`LGBMRegressor`, …), as MLflow: their `fit` logs through the
`train` call it makes, then the fitted wrapper's Booster is the model (LightGBM's text format,
where MLflow pickles the wrapper: we write no pickle)."""

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
    "params", "train_set", "valid_sets", "valid_names", "fobj", "feval", "init_model",
    "learning_rates", "callbacks",
)  # fmt: skip


def autolog(
    log_models: bool = True,
    log_input_examples: bool = True,
    log_model_signatures: bool = True,
    log_datasets: bool = True,
    disable: bool = False,
    exclusive: bool = False,
    silent: bool = False,
) -> None:
    """Log every `lightgbm.train` as MLflow's `mlflow.lightgbm.autolog()` does."""
    configure(
        "lightgbm",
        _patch,
        log_models=log_models,
        log_input_examples=log_input_examples,
        log_model_signatures=log_model_signatures,
        log_datasets=log_datasets,
        disable=disable,
        exclusive=exclusive,
        silent=silent,
    )


def _patch() -> None:
    import lightgbm
    import lightgbm.sklearn

    lightgbm.train = autologged("lightgbm", _log_train)(lightgbm.train)
    # The wrappers' own `train`, whose Booster is logged by `_log_fit` once `fit` returns.
    lightgbm.sklearn.train = autologged("lightgbm", _log_wrapper_train, takes_handed_down_run=True)(
        lightgbm.sklearn.train
    )
    for cls in wrapper_classes(lightgbm.sklearn, lightgbm.sklearn.LGBMModel):
        original = getattr(cls, "fit", None)  # inherited ones too (XGBRegressor's is XGBModel's)
        if original is not None and not hasattr(original, "__wrapped_by_mlgrpc__"):
            cls.fit = autologged("lightgbm", _log_fit)(original)


def _callback(run: AutologRun) -> Any:
    def log_evals(env: Any) -> None:
        values = {f"{r[0]}-{r[1]}": float(r[2]) for r in env.evaluation_result_list or ()}
        if values:
            run.log_metrics(values, step=env.iteration)

    return log_evals


def _log_fit(
    run: AutologRun, config: AutologConfig, original: Any, args: tuple[Any, ...], kwargs: Any
) -> Any:
    """`LGBMModel.fit`: its `train` logs; then the fitted wrapper is the model."""

    def save_model() -> Any:
        from mlgrpc import lightgbm as lightgbm_flavor

        return lightgbm_flavor.save_model

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
    run.log_params(train_params(original, args, kwargs, UNLOGGED))
    train_set = args[1] if len(args) > 1 else kwargs.get("train_set")
    # Before training: a Dataset frees its raw data once constructed (free_raw_data=True).
    data = getattr(train_set, "data", None)
    example = data[:5] if data is not None and hasattr(data, "__getitem__") else None
    if config.log_datasets and train_set is not None:
        log_dataset(run, train_set, "train")
        names = kwargs.get("valid_names") or []
        for i, valid in enumerate(kwargs.get("valid_sets") or ()):
            log_dataset(run, valid, "eval", name=names[i] if i < len(names) else f"valid_{i}")
    kwargs = dict(kwargs)
    kwargs["callbacks"] = [*(kwargs.get("callbacks") or []), _callback(run)]
    booster = original(*args, **kwargs)
    names = booster.feature_name()
    for kind in ("split", "gain"):
        try:
            values = booster.feature_importance(importance_type=kind).tolist()
            log_importance(run, kind, dict(zip(names, values, strict=True)))
        except Exception as exc:  # noqa: BLE001
            logger.warning("feature importance %s not logged: %s", kind, exc)
    if config.log_models and log_model:
        from mlgrpc import lightgbm as lightgbm_flavor

        log_autologged_model(
            run,
            config,
            lightgbm_flavor.save_model,
            booster,
            example,
            booster.predict,
            params_of_run=False,
            link_steps=None,  # MLflow logs every iteration about the model
        )
    return booster
