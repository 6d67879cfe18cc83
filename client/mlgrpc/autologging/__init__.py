"""Autologging: `mlgrpc.autolog()` and `mlgrpc.<flavor>.autolog()`, with MLflow's behaviour.

Each integration (`sklearn`, `xgboost`, `lightgbm` here) patches its library's training entry
point once; every patched call then asks its `AutologConfig` (the flags of the last `autolog`
call for that integration) whether and what to log. Only the outermost training call of a
thread logs (a Pipeline's fit calls its steps' fits). Without an active run, a run is started
for the call and ended after it, as MLflow does; with `exclusive=True`, runs the user started
are left alone. Params, metrics and tags go through the client's asynchronous queue
(`synchronous=False`) and the artifacts (the model too) through one upload thread
(`autologging.background`), so training does not wait for the network; `end_run` waits for both.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import importlib.util
import logging
import shutil
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

    def __init__(self, run_id: str, experiment_id: str, started_here: bool) -> None:
        self.run_id = run_id
        self.experiment_id = experiment_id
        self.started_here = started_here
        #: The params this call logged (the LoggedModel gets them even if not yet written).
        self.logged_params: dict[str, str] = {}
        #: The metric values this call logged, to link to its LoggedModel once that exists.
        self.logged_metrics: list[Any] = []

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
        self.logged_params.update((p.key, p.value) for p in batch)
        self._safely(
            "params", lambda: self._client().log_batch(self.run_id, params=batch, synchronous=False)
        )

    def log_metrics(self, metrics: dict[str, float], step: int = 0) -> None:
        import time

        from mlgrpc.entities import Metric

        now = int(time.time() * 1000)
        batch = [Metric(str(k), float(v), now, step) for k, v in metrics.items()]
        self.logged_metrics.extend(batch)
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

    def log_text(self, text: str, path: str) -> None:
        """Upload `text` as the artifact `path`, in the background."""
        from mlgrpc.autologging.background import UPLOADS

        client = self._client()
        UPLOADS.submit(path, lambda: client.log_text(self.run_id, text, path))

    def log_figure(self, figure: Any, path: str) -> None:
        """Render `figure` now (the caller closes it), upload it in the background."""
        import tempfile
        from pathlib import Path

        from mlgrpc.autologging.background import UPLOADS

        folder = tempfile.mkdtemp(prefix="mlgrpc-autolog-")
        local = Path(folder) / Path(path).name
        try:
            figure.savefig(local)
        except Exception as exc:  # noqa: BLE001 - a plot never breaks training
            logger.warning("autologging could not render %s: %s", path, exc)
            shutil.rmtree(folder, ignore_errors=True)
            return
        client, directory = self._client(), str(Path(path).parent).strip(".") or None

        def upload() -> None:
            try:
                client.log_artifact(self.run_id, local, directory)
            finally:
                shutil.rmtree(folder, ignore_errors=True)

        UPLOADS.submit(path, upload)


def _param_text(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 6000 else text[:5997] + "..."


def log_dataset(run: AutologRun, data: Any, context: str, name: str = "dataset") -> Any:
    """The training (or eval) data as a run input, in MLflow's shape: a `code` source, the
    digest, schema and profile of the data, the tag `mlflow.data.context`. Described now (the
    data may change after `fit`), sent on the upload thread. Returns the `DatasetInput`, or
    None."""
    from mlgrpc import fluent
    from mlgrpc.autologging.background import UPLOADS

    log_inputs = getattr(fluent._client(), "log_inputs", None)
    if log_inputs is None:
        logger.debug("this client has no log_inputs: the dataset input is not logged")
        return None
    try:
        from mlgrpc.autologging.datasets import dataset_input

        item = dataset_input(data, name, context)
    except Exception as exc:  # noqa: BLE001 - a dataset never breaks training
        logger.warning("the %s dataset was not described: %s", context, exc)
        return None
    UPLOADS.submit(f"the {context} dataset", lambda: log_inputs(run.run_id, [item]))
    return item


def autologged(
    integration: str, log_call: Callable[..., Any], *, takes_handed_down_run: bool = False
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Wrap a training function: `log_call(run, original, args, kwargs)` trains and logs.

    `takes_handed_down_run`: a nested call logs into the run `hand_down` gave (the boosters'
    `train` inside their wrappers' `fit`); other nested calls never log."""

    def wrap(original: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(original)
        def patched(*args: Any, **kwargs: Any) -> Any:
            config = CONFIGS.get(integration)
            with _outermost() as outermost:
                if config is None or config.disable:
                    return original(*args, **kwargs)
                run = _take_handed_down_run() if takes_handed_down_run else None
                if run is None and not outermost:
                    return original(*args, **kwargs)
                run = run or _run_for_call(config)
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


@contextlib.contextmanager
def hand_down(run: AutologRun) -> Iterator[None]:
    """Let the first patched call inside this block log into `run` although it is nested: the
    boosters' scikit-learn wrappers (`XGBRegressor.fit`) log their params and per-iteration
    metrics from the `train` call they make, as MLflow's do."""
    previous = getattr(_state, "handed_down", None)
    child = AutologRun(run.run_id, run.experiment_id, started_here=False)  # the run's owner ends it
    child.logged_params = run.logged_params
    child.logged_metrics = run.logged_metrics
    _state.handed_down = child
    try:
        yield
    finally:
        _state.handed_down = previous


def _take_handed_down_run() -> AutologRun | None:
    run = getattr(_state, "handed_down", None)
    _state.handed_down = None
    return run


def _run_for_call(config: AutologConfig) -> AutologRun | None:
    from mlgrpc import fluent

    active = fluent.active_run()
    if active is not None:
        if config.exclusive:
            return None
        return AutologRun(active.info.run_id, active.info.experiment_id, started_here=False)
    run = fluent.start_run()
    return AutologRun(run.info.run_id, run.info.experiment_id, started_here=True)


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
