"""The fluent API (`mlgrpc.start_run`, `mlgrpc.log_metric`, …) with MLflow's names and behaviour.

State is per process, like MLflow's: the active experiment, a stack of active runs (the top one
receives `log_*` calls; nested runs sit above their parent) and the last ended run.
"""

from __future__ import annotations

import atexit
import logging
import os
import sys
import time
from collections.abc import Sequence
from types import TracebackType
from typing import Any, Literal

from mlgrpc import config
from mlgrpc.async_logging import flush_all
from mlgrpc.client import MlgrpcClient, _current_user, now_ms
from mlgrpc.entities import (
    Experiment,
    LifecycleStage,
    Metric,
    Param,
    Run,
    RunStatus,
    RunTag,
    ViewType,
    runs_to_dataframe,
)
from mlgrpc.exceptions import (
    FailedPreconditionError,
    InvalidArgumentError,
    MlgrpcException,
    UnsentLogsError,
)
from mlgrpc.metric_step import checked_step

logger = logging.getLogger(__name__)

DEFAULT_EXPERIMENT_ID = "0"
PARENT_RUN_ID_TAG = "mlflow.parentRunId"
RUN_NOTE_TAG = "mlflow.note.content"
#: MLflow's default page limit of the DataFrame search_runs.
SEARCH_MAX_RESULTS_PANDAS = 100_000


class ActiveRun:
    """The run `start_run` returned; a context manager that ends it (FAILED on an exception)."""

    def __init__(self, run: Run) -> None:
        self._run = run

    @property
    def info(self) -> Any:
        return self._run.info

    @property
    def data(self) -> Any:
        return self._run.data

    def __repr__(self) -> str:
        return f"<ActiveRun: run_id={self._run.info.run_id}, name={self._run.info.run_name!r}>"

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> Literal[False]:
        status = RunStatus.FINISHED if exc_type is None else RunStatus.FAILED
        if any(r.info.run_id == self._run.info.run_id for r in _active_run_stack):
            if exc_type is None:
                end_run(status)
            else:
                try:
                    end_run(status)
                except Exception as error:  # noqa: BLE001 - keep the user's exception primary
                    logger.warning("ending run %s failed: %s", self._run.info.run_id, error)
        return False


_active_run_stack: list[ActiveRun] = []
_active_experiment_id: str | None = None
_last_active_run_id: str | None = None
_client_cache: MlgrpcClient | None = None
_atexit_registered = False
#: Tracking URIs whose spool this process has sent at its first start_run.
_spools_sent: set[str] = set()


def _client() -> MlgrpcClient:
    """The client of the current tracking URI (rebuilt when `set_tracking_uri` changed it)."""
    global _client_cache
    uri = config.get_tracking_uri()
    client = _client_cache
    if client is None or client.tracking_uri != uri:
        client = _client_cache = MlgrpcClient(uri)
    return client


def set_tracking_uri(uri: str) -> None:
    """Point the fluent API at the tracking service `grpc://host:port` (or `host:port`)."""
    config.set_tracking_uri(uri)


def get_tracking_uri() -> str:
    return config.get_tracking_uri()


# ---- experiments -------------------------------------------------------------------------------


def set_experiment(
    experiment_name: str | None = None,
    experiment_id: str | None = None,
    *,
    name: str | None = None,
) -> Experiment:
    """Make an experiment active (runs start in it); created if it does not exist, by name."""
    global _active_experiment_id
    experiment_name = experiment_name or name
    if (experiment_name is None) == (experiment_id is None):
        raise InvalidArgumentError(
            "set_experiment needs exactly one of experiment_name or experiment_id",
            field="experiment_name",
        )
    client = _client()
    if experiment_name is not None:
        found = client.get_experiment_by_name(experiment_name)
        if found is None:
            logger.info("experiment %r does not exist; creating it", experiment_name)
            found = _create_or_get(client, experiment_name)
        experiment = found
    else:
        experiment = client.get_experiment(str(experiment_id))
    if experiment.lifecycle_stage == LifecycleStage.DELETED:
        raise FailedPreconditionError(
            f"cannot set the deleted experiment {experiment.name!r} (id {experiment.experiment_id})"
            " as the active experiment; restore it with restore_experiment() or choose another",
            field="experiment_id",
        )
    _active_experiment_id = experiment.experiment_id
    return experiment


def _create_or_get(client: MlgrpcClient, experiment_name: str) -> Experiment:
    from mlgrpc.exceptions import AlreadyExistsError

    try:
        return client.get_experiment(client.create_experiment(experiment_name))
    except AlreadyExistsError:  # another process created it between our two calls
        experiment = client.get_experiment_by_name(experiment_name)
        if experiment is None:
            raise
        return experiment


def create_experiment(
    name: str, artifact_location: str | None = None, tags: dict[str, Any] | None = None
) -> str:
    return _client().create_experiment(name, artifact_location, tags)


def get_experiment(experiment_id: str) -> Experiment:
    return _client().get_experiment(experiment_id)


def get_experiment_by_name(name: str) -> Experiment | None:
    return _client().get_experiment_by_name(name)


def search_experiments(
    view_type: int = ViewType.ACTIVE_ONLY,
    max_results: int | None = None,
    filter_string: str | None = None,
    order_by: Sequence[str] | None = None,
) -> list[Experiment]:
    """Every experiment matching the filter (all pages, up to `max_results`)."""
    client = _client()
    found: list[Experiment] = []
    token: str | None = None
    while max_results is None or len(found) < max_results:
        page_size = None if max_results is None else max_results - len(found)
        page = client.search_experiments(view_type, page_size, filter_string, order_by, token)
        found.extend(page)
        token = page.token
        if not token:
            break
    return found


def delete_experiment(experiment_id: str) -> None:
    _client().delete_experiment(experiment_id)


def set_experiment_tag(key: str, value: Any) -> None:
    _client().set_experiment_tag(_resolve_experiment_id(), key, value)


def set_experiment_tags(tags: dict[str, Any]) -> None:
    for key, value in tags.items():
        set_experiment_tag(key, value)


def _resolve_experiment_id() -> str:
    """Active experiment, else MLGRPC_EXPERIMENT_NAME / _ID, else the default experiment."""
    if _active_experiment_id is not None:
        return _active_experiment_id
    env_name = config.default_experiment_name()
    if env_name:
        return set_experiment(env_name).experiment_id
    return config.default_experiment_id() or DEFAULT_EXPERIMENT_ID


# ---- runs --------------------------------------------------------------------------------------


def start_run(
    run_id: str | None = None,
    experiment_id: str | None = None,
    run_name: str | None = None,
    nested: bool = False,
    tags: dict[str, Any] | None = None,
    description: str | None = None,
    log_system_metrics: bool | None = None,
) -> ActiveRun:
    """Start a new run, or resume `run_id`, and make it the active run (use it in `with`).

    `log_system_metrics`: sample CPU, memory, disk, network (and GPU) into the run until it
    ends; None follows `enable_system_metrics_logging()` (see `mlgrpc.system_metrics`)."""
    global _atexit_registered
    if _active_run_stack and not nested:
        active_id = _active_run_stack[-1].info.run_id
        raise FailedPreconditionError(
            f"run {active_id} is already active; end it first with mlgrpc.end_run(), or start "
            "a nested run with start_run(nested=True)",
            field="nested",
        )
    client = _client()
    _send_spool_once(client)
    user_tags = {str(k): str(v) for k, v in (tags or {}).items()}
    if description is not None:
        user_tags[RUN_NOTE_TAG] = description
    if run_id:
        run = _resume_run(client, run_id, user_tags, run_name)
    else:
        parent_run_id = _active_run_stack[-1].info.run_id if nested and _active_run_stack else None
        run = client.create_run(
            experiment_id=str(experiment_id)
            if experiment_id is not None
            else _resolve_experiment_id(),
            tags={**_context_tags(), **user_tags},
            run_name=run_name,
            parent_run_id=parent_run_id,
        )
    active = ActiveRun(run)
    _active_run_stack.append(active)
    _start_system_metrics(client, run.info.run_id, log_system_metrics)
    if not _atexit_registered:
        atexit.register(_end_runs_at_exit)
        _atexit_registered = True
    return active


_system_monitors: dict[str, Any] = {}


def _start_system_metrics(client: MlgrpcClient, run_id: str, wanted: bool | None) -> None:
    from mlgrpc import system_metrics

    if not (wanted if wanted is not None else system_metrics.is_enabled()):
        return

    def log(run: str, metrics: list[Any]) -> None:
        client.log_batch(run, metrics=metrics, synchronous=False)

    _system_monitors[run_id] = system_metrics.SystemMetricsMonitor(run_id, log).start()


def _send_spool_once(client: MlgrpcClient) -> None:
    """Send what an earlier process kept in the spool for this service, at the first start_run
    of this process with it: one try, a failure only logged (`mlgrpc runs sync` remains)."""
    if client.tracking_uri in _spools_sent:
        return
    _spools_sent.add(client.tracking_uri)
    try:
        synced = client.sync_spool(budget=0)
    except (MlgrpcException, OSError) as error:
        logger.warning("values kept in the spool %s were not sent: %s", client.spool_dir, error)
        return
    for run in synced:
        logger.info("sent %d values of run %s from the spool", run.values, run.run_id)
        for error in run.rejected:
            logger.warning("a spooled batch of run %s was refused: %s", run.run_id, error)


def _resume_run(
    client: MlgrpcClient, run_id: str, tags: dict[str, str], run_name: str | None
) -> Run:
    existing = client.get_run(run_id)
    if existing.info.lifecycle_stage == LifecycleStage.DELETED:
        raise FailedPreconditionError(
            f"cannot start run {run_id}: it is deleted; restore it with restore_run() first",
            field="run_id",
        )
    if any(r.info.run_id == run_id for r in _active_run_stack):
        raise FailedPreconditionError(f"run {run_id} is already active", field="run_id")
    client.update_run(run_id, status=RunStatus.RUNNING, name=run_name)
    for key, value in tags.items():
        client.set_tag(run_id, key, value, synchronous=True)
    return client.get_run(run_id)


def _context_tags() -> dict[str, str]:
    """MLflow's default run context: who ran what."""
    source = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "<console>"
    return {
        "mlflow.user": _current_user(),
        "mlflow.source.name": source,
        "mlflow.source.type": "LOCAL",
    }


def end_run(status: str = RunStatus.FINISHED) -> None:
    """End the active run (the innermost one); its queued async values are written first.

    Values the service did not take within the retry budget, and then the run's end, are kept in
    the spool (`mlgrpc.spool`) and `UnsentLogsError` is raised with their count."""
    global _last_active_run_id
    if not _active_run_stack:
        return
    run_id = _active_run_stack[-1].info.run_id
    unsent: UnsentLogsError | None = None
    monitor = _system_monitors.pop(run_id, None)
    if monitor is not None:
        monitor.stop()  # before the flush, so that its last sample is written with the rest
    try:
        try:
            flush_all()
        except UnsentLogsError as error:
            unsent = error
    finally:
        _active_run_stack.pop()
        _last_active_run_id = run_id
        try:
            _client().set_terminated(run_id, status=status)
        except UnsentLogsError as error:
            # It counted the run's whole spool, flushed values included.
            unsent = error if unsent is None else unsent.merged(error, replace=True)
    if unsent is not None:
        raise unsent


def _end_runs_at_exit() -> None:
    while _active_run_stack:
        try:
            end_run(RunStatus.FINISHED)
        except Exception as error:  # noqa: BLE001 - nobody left to raise to at exit
            logger.error("ending the active run at exit failed: %s", error)


def active_run() -> ActiveRun | None:
    return _active_run_stack[-1] if _active_run_stack else None


def last_active_run() -> Run | None:
    """The active run, else the last run ended in this process (fetched fresh)."""
    if _active_run_stack:
        return get_run(_active_run_stack[-1].info.run_id)
    if _last_active_run_id is None:
        return None
    return get_run(_last_active_run_id)


def get_run(run_id: str) -> Run:
    return _client().get_run(run_id)


def delete_run(run_id: str) -> None:
    _client().delete_run(run_id)


def _run_id_or_start() -> str:
    """The active run's id; starts a run if none is active, as MLflow does."""
    if _active_run_stack:
        return _active_run_stack[-1]._run.info.run_id
    return start_run()._run.info.run_id


def flush() -> None:
    """Wait until every value logged asynchronously is written; raise a background failure."""
    flush_all()


flush_async_logging = flush


def search_runs(
    experiment_ids: Sequence[str] | None = None,
    filter_string: str = "",
    run_view_type: int = ViewType.ACTIVE_ONLY,
    max_results: int = SEARCH_MAX_RESULTS_PANDAS,
    order_by: Sequence[str] | None = None,
    output_format: str = "pandas",
    experiment_names: Sequence[str] | None = None,
) -> Any:
    """Runs matching the filter, every page up to `max_results`: a pandas DataFrame (columns
    run_id, experiment_id, status, artifact_uri, start_time, end_time, metrics.*, params.*,
    tags.*) or, with output_format="list", a list of Run."""
    if output_format not in ("pandas", "list"):
        raise InvalidArgumentError(
            f"output_format {output_format!r}: expected 'pandas' or 'list'", field="output_format"
        )
    client = _client()
    ids = [str(i) for i in experiment_ids or []]
    for name in experiment_names or []:
        experiment = client.get_experiment_by_name(name)
        if experiment is not None:
            ids.append(experiment.experiment_id)
    if not ids and not experiment_names:
        ids = [_resolve_experiment_id()]
    runs: list[Run] = []
    token: str | None = None
    while ids and len(runs) < max_results:
        page = client.search_runs(
            ids, filter_string, run_view_type, min(max_results - len(runs), 50_000), order_by, token
        )
        runs.extend(page)
        token = page.token
        if not token:
            break
    return runs if output_format == "list" else runs_to_dataframe(runs)


# ---- metrics, params, tags ---------------------------------------------------------------------


def log_metric(
    key: str,
    value: float,
    step: int | None = None,
    timestamp: int | None = None,
    synchronous: bool | None = None,
    run_id: str | None = None,
) -> None:
    # Checked before a run is started for it: a refused call leaves nothing behind.
    step_number = checked_step(step, key)
    run_id = run_id or _run_id_or_start()
    client = _client()
    if synchronous is None:
        synchronous = not config.is_async_logging_enabled()
    if not synchronous:
        if timestamp is None:
            timestamp = time.time_ns() // 1_000_000
        client.async_queue().log_metric(run_id, key, float(value), int(timestamp), step_number)
        return
    client.log_metric(run_id, key, value, timestamp, step_number, synchronous=True)


def log_metrics(
    metrics: dict[str, float],
    step: int | None = None,
    synchronous: bool | None = None,
    run_id: str | None = None,
    timestamp: int | None = None,
) -> None:
    step_number = checked_step(step)
    run_id = run_id or _run_id_or_start()
    ts = now_ms() if timestamp is None else int(timestamp)
    batch = [Metric(k, float(v), ts, step_number) for k, v in metrics.items()]
    _client().log_batch(run_id, metrics=batch, synchronous=synchronous)


def log_param(key: str, value: Any, synchronous: bool | None = None) -> Any:
    return _client().log_param(_run_id_or_start(), key, value, synchronous=synchronous)


def log_params(params: dict[str, Any], synchronous: bool | None = None) -> None:
    batch = [Param(str(k), str(v)) for k, v in params.items()]
    _client().log_batch(_run_id_or_start(), params=batch, synchronous=synchronous)


def set_tag(key: str, value: Any, synchronous: bool | None = None) -> None:
    _client().set_tag(_run_id_or_start(), key, value, synchronous=synchronous)


def set_tags(tags: dict[str, Any], synchronous: bool | None = None) -> None:
    batch = [RunTag(str(k), str(v)) for k, v in tags.items()]
    _client().log_batch(_run_id_or_start(), tags=batch, synchronous=synchronous)


def delete_tag(key: str) -> None:
    _client().delete_tag(_run_id_or_start(), key)


def log_batch(
    metrics: Sequence[Metric] = (),
    params: Sequence[Param] = (),
    tags: Sequence[RunTag] = (),
    synchronous: bool | None = None,
) -> None:
    _client().log_batch(_run_id_or_start(), metrics, params, tags, synchronous=synchronous)


# ---- artifacts ---------------------------------------------------------------------------------


def log_artifact(local_path: str | os.PathLike[str], artifact_path: str | None = None) -> None:
    _client().log_artifact(_run_id_or_start(), local_path, artifact_path)


def log_artifacts(local_dir: str | os.PathLike[str], artifact_path: str | None = None) -> None:
    _client().log_artifacts(_run_id_or_start(), local_dir, artifact_path)


def get_artifact_uri(artifact_path: str | None = None) -> str:
    """The artifact URI of the active run (or of a path below it)."""
    root = get_run(_run_id_or_start()).info.artifact_uri
    return root.rstrip("/") + "/" + artifact_path.strip("/") if artifact_path else root


def log_text(text: str, artifact_file: str) -> None:
    """Store `text` as the artifact file `artifact_file` (e.g. `notes/readme.txt`)."""
    _client().log_text(_run_id_or_start(), text, artifact_file)


def log_dict(dictionary: dict[str, Any], artifact_file: str) -> None:
    """Store a dict as JSON, or YAML when `artifact_file` ends with .yaml / .yml."""
    _client().log_dict(_run_id_or_start(), dictionary, artifact_file)


def log_figure(
    figure: Any, artifact_file: str, *, save_kwargs: dict[str, Any] | None = None
) -> None:
    """Store a matplotlib figure (or a plotly one) as `artifact_file`, e.g. `plots/loss.png`."""
    _client().log_figure(_run_id_or_start(), figure, artifact_file, save_kwargs=save_kwargs)


def _reset_state() -> None:
    """Forget the active runs, experiment and client without ending anything (tests use it)."""
    global _active_experiment_id, _last_active_run_id, _client_cache
    _active_run_stack.clear()
    _active_experiment_id = _last_active_run_id = None
    _client_cache = None
    _spools_sent.clear()
    while _system_monitors:
        _system_monitors.popitem()[1].stop()
