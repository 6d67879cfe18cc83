"""sklearn autologging: estimator params, training metrics, the model, estimator.html, tags."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from mlgrpc.autologging import AutologConfig, AutologRun, autologged, configure, log_dataset

logger = logging.getLogger(__name__)

_FIT_METHODS = ("fit", "fit_transform", "fit_predict")


def autolog(
    log_models: bool = True,
    log_input_examples: bool = True,
    log_model_signatures: bool = True,
    log_datasets: bool = True,
    disable: bool = False,
    exclusive: bool = False,
    silent: bool = False,
) -> None:
    """Log every scikit-learn `fit` as MLflow's `mlflow.sklearn.autolog()` does."""
    configure(
        "sklearn",
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
    from sklearn.utils import all_estimators

    for _name, cls in all_estimators():
        for method in _FIT_METHODS:
            original = cls.__dict__.get(method)
            if original is None or hasattr(original, "__wrapped_by_mlgrpc__"):
                continue
            setattr(cls, method, autologged("sklearn", _log_fit)(original))


def _log_fit(
    run: AutologRun, config: AutologConfig, original: Any, args: tuple[Any, ...], kwargs: Any
) -> Any:
    estimator, x, y = args[0], _arg(args, kwargs, 1, "X"), _arg(args, kwargs, 2, "y")
    cls = type(estimator)
    run.set_tags(
        {"estimator_name": cls.__name__, "estimator_class": f"{cls.__module__}.{cls.__name__}"}
    )
    run.log_params(estimator.get_params(deep=True))
    dataset = None
    if config.log_datasets and x is not None:
        dataset = log_dataset(run, x, "train")
    result = original(*args, **kwargs)
    metrics: dict[str, float] = {}
    if x is not None and y is not None:
        try:
            metrics = training_metrics(estimator, x, y)
        except Exception as exc:  # noqa: BLE001 - as MLflow: a metric that fails is skipped
            logger.warning("training metrics not logged: %s", exc)
    try:
        from sklearn.utils import estimator_html_repr

        run.log_text(estimator_html_repr(estimator), "estimator.html")
    except Exception as exc:  # noqa: BLE001
        logger.warning("estimator.html not logged: %s", exc)
    # With a model, the training metrics are logged about it (as MLflow: they are the
    # LoggedModel's metrics too), once it exists, on the upload thread.
    model_takes_metrics = (
        config.log_models
        and x is not None
        and hasattr(estimator, "predict")
        and _log_model(run, config, estimator, x, metrics, dataset)
    )
    if metrics and not model_takes_metrics:
        run.log_metrics(metrics)
    return result


def _arg(args: tuple[Any, ...], kwargs: Any, index: int, name: str) -> Any:
    return args[index] if len(args) > index else kwargs.get(name)


def training_metrics(estimator: Any, x: Any, y: Any) -> dict[str, float]:
    """MLflow's training metrics: by estimator kind, each prefixed `training_`."""
    from sklearn import metrics
    from sklearn.base import is_classifier, is_regressor

    values: dict[str, float] = {}
    if is_regressor(estimator):
        pred = estimator.predict(x)
        mse = metrics.mean_squared_error(y, pred)
        values.update(
            mean_squared_error=mse,
            root_mean_squared_error=float(np.sqrt(mse)),
            mean_absolute_error=metrics.mean_absolute_error(y, pred),
            r2_score=metrics.r2_score(y, pred),
        )
    elif is_classifier(estimator):
        pred = estimator.predict(x)
        average = "binary" if len(np.unique(y)) == 2 else "weighted"
        values.update(
            accuracy_score=metrics.accuracy_score(y, pred),
            precision_score=metrics.precision_score(y, pred, average=average, zero_division=0),
            recall_score=metrics.recall_score(y, pred, average=average, zero_division=0),
            f1_score=metrics.f1_score(y, pred, average=average, zero_division=0),
        )
        if hasattr(estimator, "predict_proba"):
            proba = estimator.predict_proba(x)
            values["log_loss"] = metrics.log_loss(y, proba)
            if proba.shape[1] == 2:
                values["roc_auc"] = metrics.roc_auc_score(y, proba[:, 1])
            else:
                values["roc_auc"] = metrics.roc_auc_score(y, proba, multi_class="ovo")
    if hasattr(estimator, "score"):
        values["score"] = estimator.score(x, y)
    return {f"training_{k}": float(v) for k, v in values.items()}


def _log_model(
    run: AutologRun,
    config: AutologConfig,
    estimator: Any,
    x: Any,
    metrics: dict[str, float],
    dataset: Any,
) -> bool:
    from mlgrpc import sklearn as sklearn_flavor
    from mlgrpc.autologging.logged_model import log_autologged_model

    return log_autologged_model(
        run,
        config,
        sklearn_flavor.save_model,
        estimator,
        x[:5],
        estimator.predict,
        metrics=metrics,
        dataset=dataset.dataset if dataset is not None else None,
    )
