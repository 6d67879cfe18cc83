"""Autologging: `mlgrpc.autolog()` and `mlgrpc.<flavor>.autolog()`, with MLflow's behaviour.

Each integration (`sklearn`, `xgboost`, `lightgbm` here) patches its library's training entry
point once; every patched call then asks its `AutologConfig` (the flags of the last `autolog`
call for that integration) whether and what to log. Only the outermost training call of a
thread logs (a Pipeline's fit calls its steps' fits). Without an active run, a run is started
for the call and ended after it, as MLflow does; with `exclusive=True`, runs the user started
are left alone. Params, metrics and tags go through the client's asynchronous queue
(`synchronous=False`), so training does not wait for the network; the model and the other
artifacts are written when training has finished.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import importlib.util
import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)

INTEGRATIONS = ("sklearn", "xgboost", "lightgbm")
#: The tag MLflow's autologging does not set on the run but we note nothing else: none.
_state = threading.local()


@dataclass
class AutologConfig:
    """The flags of one integration's last `autolog()` call."""

    disable: bool = True
    log_models: bool = True
    log_input_examples: bool = True
    log_model_signatures: bool = True
    log_datasets: bool = True
    exclusive: bool = False
    silent: bool = False


CONFIGS: dict[str, AutologConfig] = {}
_patched: set[str] = set()
_patch_lock = threading.Lock()


def configure(integration: str, patch: Callable[[], None], **flags: Any) -> AutologConfig:
    """Record the flags of `integration` and patch its library the first time it is enabled."""
    config = AutologConfig(**flags)
    CONFIGS[integration] = config
    if not config.disable:
        with _patch_lock:
            if integration not in _patched:
                patch()
                _patched.add(integration)
    return config


def is_enabled(integration: str) -> bool:
    config = CONFIGS.get(integration)
    return config is not None and not config.disable


@contextlib.contextmanager
def _outermost() -> Iterator[bool]:
    depth = getattr(_state, "depth", 0)
    _state.depth = depth + 1
    try:
        yield depth == 0
    finally:
        _state.depth = depth


class AutologRun:
    """The run a patched call logs into, and its asynchronous logging calls."""

    def __init__(self, run_id: str, started_here: bool) -> None:
        self.run_id = run_id
        self.started_here = started_here

    def _client(self) -> Any:
        from mlgrpc import fluent

        return fluent._client()

    def _safely(self, what: str, call: Callable[[], Any]) -> None:
        # As MLflow's autologging: a value that cannot be logged never breaks training.
        try:
            call()
        except Exception as exc:  # noqa: BLE001
            logger.warning("autologging could not log %s to run %s: %s", what, self.run_id, exc)

    def log_params(self, params: dict[str, Any]) -> None:
        from mlgrpc.entities import Param

        batch = [Param(str(k), _param_text(v)) for k, v in params.items()]
        self._safely(
            "params", lambda: self._client().log_batch(self.run_id, params=batch, synchronous=False)
        )

    def log_metrics(self, metrics: dict[str, float], step: int = 0) -> None:
        import time

        from mlgrpc.entities import Metric

        now = int(time.time() * 1000)
        batch = [Metric(str(k), float(v), now, step) for k, v in metrics.items()]
        self._safely(
            "metrics",
            lambda: self._client().log_batch(self.run_id, metrics=batch, synchronous=False),
        )

    def set_tags(self, tags: dict[str, str]) -> None:
        from mlgrpc.entities import RunTag

        batch = [RunTag(k, str(v)) for k, v in tags.items()]
        self._safely(
            "tags", lambda: self._client().log_batch(self.run_id, tags=batch, synchronous=False)
        )

    def log_dict(self, data: Any, path: str) -> None:
        self._safely(path, lambda: self._client().log_dict(self.run_id, data, path))

    def log_text(self, text: str, path: str) -> None:
        self._safely(path, lambda: self._client().log_text(self.run_id, text, path))

    def log_figure(self, figure: Any, path: str) -> None:
        self._safely(path, lambda: self._client().log_figure(self.run_id, figure, path))


def _param_text(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 6000 else text[:5997] + "..."


def log_dataset(run: AutologRun, data: Any, context: str, name: str = "dataset") -> None:
    """The training (or eval) data as a run input, in MLflow's shape: a `code` source, the
    digest, schema and profile of the data, the tag `mlflow.data.context`."""
    from mlgrpc import fluent

    log_inputs = getattr(fluent._client(), "log_inputs", None)
    if log_inputs is None:
        logger.debug("this client has no log_inputs: the dataset input is not logged")
        return
    try:
        from mlgrpc.autologging.datasets import dataset_input

        log_inputs(run.run_id, [dataset_input(data, name, context)])
    except Exception as exc:  # noqa: BLE001 - a dataset never breaks training
        logger.warning("the %s dataset was not logged: %s", context, exc)


def autologged(
    integration: str, log_call: Callable[..., Any]
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Wrap a training function: `log_call(run, original, args, kwargs)` trains and logs."""

    def wrap(original: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(original)
        def patched(*args: Any, **kwargs: Any) -> Any:
            config = CONFIGS.get(integration)
            with _outermost() as outermost:
                if config is None or config.disable or not outermost:
                    return original(*args, **kwargs)
                run = _run_for_call(config)
                if run is None:
                    return original(*args, **kwargs)
                status = "FAILED"
                try:
                    result = log_call(run, config, original, args, kwargs)
                    status = "FINISHED"
                    return result
                finally:
                    if run.started_here:
                        from mlgrpc import fluent

                        fluent.end_run(status)

        patched.__wrapped_by_mlgrpc__ = original  # type: ignore[attr-defined]
        return patched

    return wrap


def _run_for_call(config: AutologConfig) -> AutologRun | None:
    from mlgrpc import fluent

    active = fluent.active_run()
    if active is not None:
        if config.exclusive:
            return None
        return AutologRun(active.info.run_id, started_here=False)
    run = fluent.start_run()
    return AutologRun(run.info.run_id, started_here=True)


def autolog(
    log_models: bool = True,
    log_input_examples: bool = True,
    log_model_signatures: bool = True,
    log_datasets: bool = True,
    disable: bool = False,
    exclusive: bool = False,
    silent: bool = False,
) -> None:
    """Enable (or `disable=True`) autologging for every installed library mlgrpc knows."""
    flags = dict(
        log_models=log_models,
        log_input_examples=log_input_examples,
        log_model_signatures=log_model_signatures,
        log_datasets=log_datasets,
        disable=disable,
        exclusive=exclusive,
        silent=silent,
    )
    for name in INTEGRATIONS:
        library = "sklearn" if name == "sklearn" else name
        if importlib.util.find_spec(library) is None:
            continue
        module = importlib.import_module(f"mlgrpc.autologging.{name}")
        module.autolog(**flags)
