"""`MlgrpcClient`: the low-level tracking client, method for method like `mlflow.MlflowClient`.

Every method is one (or, for splitting and paging, a few) RPCs on a shared channel, with a
deadline; results are the typed dataclasses of `mlgrpc.entities`, errors the typed exceptions of
`mlgrpc.exceptions`.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mlgrpc import _spool_replay, artifacts, config, spool
from mlgrpc._auth import with_client_token
from mlgrpc._batch_retry import (
    is_retryable,
    is_retryable_overwrite,
    new_batch_id,
    retry_seconds,
    retry_write,
    send_batch,
)
from mlgrpc._channel import call_unary, get_channel
from mlgrpc.async_logging import AsyncLogQueue, LogItem
from mlgrpc.entities import (
    Experiment,
    FileInfo,
    Metric,
    PagedList,
    Param,
    Run,
    RunInfo,
    RunStatus,
    RunTag,
    ViewType,
)
from mlgrpc.exceptions import MlgrpcException, NotFoundError, UnsentLogsError
from mlgrpc.logged_models import LoggedModelCalls
from mlgrpc.metric_step import checked_step
from mlgrpc.tls import ClientTls
from mlgrpc.tracking.v1 import tracking_service_pb2 as pb
from mlgrpc.tracking.v1 import tracking_service_pb2_grpc
from mlgrpc.uris import parse_service_uri

MAX_METRICS_PER_BATCH = 1000
MAX_PARAMS_PER_BATCH = 100
MAX_TAGS_PER_BATCH = 100

_async_queues: dict[str, AsyncLogQueue] = {}
_async_queues_lock = threading.Lock()


def now_ms() -> int:
    return time.time_ns() // 1_000_000


#: MlflowClient's registry methods, answered by the registry service through `RegistryClient`.
REGISTRY_METHODS = frozenset(
    {
        "create_registered_model",
        "get_registered_model",
        "rename_registered_model",
        "update_registered_model",
        "delete_registered_model",
        "search_registered_models",
        "set_registered_model_tag",
        "delete_registered_model_tag",
        "create_model_version",
        "get_model_version",
        "update_model_version",
        "delete_model_version",
        "search_model_versions",
        "set_model_version_tag",
        "delete_model_version_tag",
        "get_model_version_download_uri",
        "transition_model_version_stage",
        "get_latest_versions",
        "set_registered_model_alias",
        "delete_registered_model_alias",
        "get_model_version_by_alias",
        "resolve_model_uri",
        "watch_registered_model",
    }
)


class MlgrpcClient(LoggedModelCalls):
    """Client of the tracking service at `tracking_uri` (default: `mlgrpc.get_tracking_uri()`)
    and, for MlflowClient's registry methods, of the registry at `registry_uri`.

    `grpcs://` URIs speak TLS, verifying the service with the CA file `tls_ca` (default
    MLGRPC_TLS_CA, else the system's roots) and presenting `tls_cert`/`tls_key` (default
    MLGRPC_TLS_CERT/MLGRPC_TLS_KEY) to services that require mutual TLS.
    """

    def __init__(
        self,
        tracking_uri: str | None = None,
        registry_uri: str | None = None,
        *,
        tls_ca: str | None = None,
        tls_cert: str | None = None,
        tls_key: str | None = None,
        token: str | None = None,
    ) -> None:
        self.tracking_uri = tracking_uri or config.get_tracking_uri()
        self._target = parse_service_uri(self.tracking_uri)
        self._tls = ClientTls.resolve(tls_ca, tls_cert, tls_key)
        # `token`: this client's own bearer token (default: mlgrpc.set_token / MLGRPC_TOKEN).
        self._token = token
        self._stub = tracking_service_pb2_grpc.TrackingServiceStub(
            with_client_token(get_channel(self.tracking_uri, tls=self._tls), token)
        )
        self._registry_uri = registry_uri
        self._registry: Any = None

    @property
    def registry(self) -> Any:
        """The `RegistryClient` behind the registry methods (made on first use)."""
        if self._registry is None:
            from mlgrpc.registry_client import RegistryClient

            tls = self._tls
            self._registry = RegistryClient(
                self._registry_uri,
                tls_ca=tls.ca,
                tls_cert=tls.cert,
                tls_key=tls.key,
                token=self._token,
            )
        return self._registry

    def __getattr__(self, name: str) -> Any:
        # Only reached for names the class does not define: the registry's methods.
        if name in REGISTRY_METHODS:
            return getattr(self.registry, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __repr__(self) -> str:
        return f"MlgrpcClient({self.tracking_uri!r})"

    def _call(self, name: str, request: Any) -> Any:
        return call_unary(getattr(self._stub, name), request, name=name)

    def _write(self, name: str, request: Any, *, overwrites: bool = False) -> Any:
        """A write that leaves the same state when repeated, retried through a restart of the
        service (`mlgrpc._batch_retry`); `overwrites`: last writer wins (tags, run status)."""
        retryable = is_retryable_overwrite if overwrites else is_retryable
        owner = getattr(request, "run_id", "") or getattr(request, "experiment_id", "")
        what = f"{name} of {owner}"
        return retry_write(lambda: self._call(name, request), what=what, retryable=retryable)

    # ---- experiments ---------------------------------------------------------------------------

    def create_experiment(
        self,
        name: str,
        artifact_location: str | None = None,
        tags: dict[str, Any] | None = None,
    ) -> str:
        tag_list = [pb.ExperimentTag(key=k, value=str(v)) for k, v in (tags or {}).items()]
        request = pb.CreateExperimentRequest(
            name=name, artifact_location=artifact_location or "", tags=tag_list
        )
        return self._call("CreateExperiment", request).experiment_id

    def get_experiment(self, experiment_id: str) -> Experiment:
        request = pb.GetExperimentRequest(experiment_id=str(experiment_id))
        return Experiment.from_proto(self._call("GetExperiment", request).experiment)

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        """The experiment called `name`, or None if there is none (as in MLflow)."""
        try:
            response = self._call(
                "GetExperimentByName", pb.GetExperimentByNameRequest(experiment_name=name)
            )
        except NotFoundError:
            return None
        return Experiment.from_proto(response.experiment)

    def search_experiments(
        self,
        view_type: int = ViewType.ACTIVE_ONLY,
        max_results: int | None = None,
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Experiment]:
        request = pb.SearchExperimentsRequest(
            view_type=view_type,  # type: ignore[arg-type] # same numbers as the enum
            max_results=max_results or 0,
            filter=filter_string or "",
            order_by=list(order_by or []),
            page_token=page_token or "",
        )
        response = self._call("SearchExperiments", request)
        experiments = [Experiment.from_proto(e) for e in response.experiments]
        return PagedList(experiments, response.next_page_token)

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        request = pb.UpdateExperimentRequest(experiment_id=str(experiment_id), new_name=new_name)
        self._call("UpdateExperiment", request)

    def delete_experiment(self, experiment_id: str) -> None:
        self._call("DeleteExperiment", pb.DeleteExperimentRequest(experiment_id=str(experiment_id)))

    def restore_experiment(self, experiment_id: str) -> None:
        request = pb.RestoreExperimentRequest(experiment_id=str(experiment_id))
        self._call("RestoreExperiment", request)

    def set_experiment_tag(self, experiment_id: str, key: str, value: Any) -> None:
        request = pb.SetExperimentTagRequest(
            experiment_id=str(experiment_id), key=key, value=str(value)
        )
        self._write("SetExperimentTag", request, overwrites=True)

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        request = pb.DeleteExperimentTagRequest(experiment_id=str(experiment_id), key=key)
        self._call("DeleteExperimentTag", request)

    # ---- runs ----------------------------------------------------------------------------------

    def create_run(
        self,
        experiment_id: str,
        start_time: int | None = None,
        tags: dict[str, Any] | None = None,
        run_name: str | None = None,
        parent_run_id: str | None = None,
        user_id: str | None = None,
        params: dict[str, Any] | None = None,
    ) -> Run:
        """A new run; `params` are written with it in the same call and transaction (MLflow
        needs a `log_batch` after `create_run` for them)."""
        request = pb.CreateRunRequest(
            experiment_id=str(experiment_id),
            run_name=run_name or "",
            user_id=user_id if user_id is not None else _current_user(),
            tags=[pb.RunTag(key=k, value=str(v)) for k, v in (tags or {}).items()],
            parent_run_id=parent_run_id or "",
            params=[pb.Param(key=k, value=str(v)) for k, v in (params or {}).items()],
        )
        if start_time is not None:
            request.start_time = int(start_time)
        return Run.from_proto(self._call("CreateRun", request).run)

    def get_run(self, run_id: str) -> Run:
        return Run.from_proto(self._call("GetRun", pb.GetRunRequest(run_id=run_id)).run)

    def update_run(
        self,
        run_id: str,
        status: str | None = None,
        name: str | None = None,
        end_time: int | None = None,
    ) -> RunInfo:
        request = pb.UpdateRunRequest(
            run_id=run_id,
            status=RunStatus.to_number(status) if status else 0,  # type: ignore[arg-type]
            run_name=name or "",
        )
        if end_time is not None:
            request.end_time = int(end_time)
        return RunInfo.from_proto(self._write("UpdateRun", request, overwrites=True).run_info)

    def set_terminated(
        self, run_id: str, status: str | None = None, end_time: int | None = None
    ) -> RunInfo:
        """End a run: status FINISHED unless given, end time now unless given.

        Values of the run waiting in the spool are sent first. If the service cannot be reached
        (within the retry budget), the end is kept in the spool behind them and
        `UnsentLogsError` says how many values wait there."""
        status = status or RunStatus.FINISHED
        end_time = end_time or now_ms()
        run_spool = self._run_spool(run_id)
        refused = None
        try:
            if run_spool.exists():
                synced = _spool_replay.replay(self, run_spool, budget=0)
                refused = _spool_replay.refused(synced, run_spool)
            info = self.update_run(run_id, status=status, end_time=end_time)
        except MlgrpcException as error:
            if not is_retryable(error):
                raise
            run_spool.append(spool.SpooledEnd(status, end_time))
            unsent = spool.count_values(run_spool.read()[0])
            raise UnsentLogsError(
                {run_id: unsent},
                str(run_spool.path.parent),
                ended={run_id: status},
                cause=str(error),
            ) from error
        if refused is not None:
            raise refused
        return info

    def delete_run(self, run_id: str) -> None:
        self._call("DeleteRun", pb.DeleteRunRequest(run_id=run_id))

    def restore_run(self, run_id: str) -> None:
        self._call("RestoreRun", pb.RestoreRunRequest(run_id=run_id))

    def search_runs(
        self,
        experiment_ids: str | Sequence[str],
        filter_string: str = "",
        run_view_type: int = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Run]:
        """One page of runs; pass `.token` of the result as `page_token` for the next."""
        ids = [experiment_ids] if isinstance(experiment_ids, str) else list(experiment_ids)
        request = pb.SearchRunsRequest(
            experiment_ids=[str(i) for i in ids],
            filter=filter_string or "",
            run_view_type=run_view_type,  # type: ignore[arg-type]
            max_results=max_results or 0,
            order_by=list(order_by or []),
            page_token=page_token or "",
        )
        response = self._call("SearchRuns", request)
        return PagedList([Run.from_proto(r) for r in response.runs], response.next_page_token)

    # ---- metrics, params, tags -----------------------------------------------------------------

    def log_metric(
        self,
        run_id: str,
        key: str,
        value: float,
        timestamp: int | None = None,
        step: int | None = None,
        synchronous: bool | None = None,
    ) -> None:
        timestamp = now_ms() if timestamp is None else int(timestamp)
        step_number = checked_step(step, key)
        if not _is_synchronous(synchronous):
            self.async_queue().log_metric(run_id, key, float(value), timestamp, step_number)
            return
        request = pb.LogMetricRequest(
            run_id=run_id, key=key, value=float(value), timestamp=timestamp, step=step_number
        )
        self._write("LogMetric", request)

    def log_param(self, run_id: str, key: str, value: Any, synchronous: bool | None = None) -> Any:
        """Log a param (its `str()` is stored); returns `value` like MLflow."""
        if not _is_synchronous(synchronous):
            self.async_queue().log_param(run_id, key, str(value))
        else:
            self._write("LogParam", pb.LogParamRequest(run_id=run_id, key=key, value=str(value)))
        return value

    def set_tag(self, run_id: str, key: str, value: Any, synchronous: bool | None = None) -> None:
        if not _is_synchronous(synchronous):
            self.async_queue().set_tag(run_id, key, str(value))
            return
        request = pb.SetTagRequest(run_id=run_id, key=key, value=str(value))
        self._write("SetTag", request, overwrites=True)

    def delete_tag(self, run_id: str, key: str) -> None:
        """Delete a tag; retried through a restart, where NOT_FOUND for the tag after a failed
        attempt means that attempt deleted it."""
        request = pb.DeleteTagRequest(run_id=run_id, key=key)
        attempts = 0

        def attempt() -> None:
            nonlocal attempts
            attempts += 1
            try:
                self._call("DeleteTag", request)
            except NotFoundError as error:
                if attempts == 1 or error.field != "key":
                    raise

        retry_write(attempt, what=f"DeleteTag of {run_id}", retryable=is_retryable_overwrite)

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Sequence[Param] = (),
        tags: Sequence[RunTag] = (),
        synchronous: bool | None = None,
    ) -> None:
        """Log many values; inputs larger than one LogBatch are split (1000/100/100 per call).

        Metrics about a LoggedModel or a dataset (`model_id`, `dataset_name` set) are always
        written synchronously: the asynchronous queue carries plain values only."""
        linked = any(m.model_id or m.dataset_name or m.dataset_digest for m in metrics)
        if not linked and not _is_synchronous(synchronous):
            queue = self.async_queue()
            # Every step is checked before the first is queued: a refused batch queues nothing.
            steps = [checked_step(m.step, m.key) for m in metrics]
            for m, step in zip(metrics, steps, strict=True):
                queue.log_metric(run_id, m.key, float(m.value), int(m.timestamp), step)
            for p in params:
                queue.log_param(run_id, p.key, str(p.value))
            for t in tags:
                queue.set_tag(run_id, t.key, str(t.value))
            return
        metric_msgs = [
            pb.Metric(
                key=m.key,
                value=float(m.value),
                timestamp=int(m.timestamp),
                step=checked_step(m.step, m.key),
                model_id=m.model_id,
                dataset_name=m.dataset_name,
                dataset_digest=m.dataset_digest,
            )
            for m in metrics
        ]
        param_msgs = [pb.Param(key=p.key, value=str(p.value)) for p in params]
        tag_msgs = [pb.RunTag(key=t.key, value=str(t.value)) for t in tags]
        first = True
        while first or metric_msgs or param_msgs or tag_msgs:
            first = False
            request = pb.LogBatchRequest(
                run_id=run_id,
                metrics=metric_msgs[:MAX_METRICS_PER_BATCH],
                params=param_msgs[:MAX_PARAMS_PER_BATCH],
                tags=tag_msgs[:MAX_TAGS_PER_BATCH],
            )
            metric_msgs = metric_msgs[MAX_METRICS_PER_BATCH:]
            param_msgs = param_msgs[MAX_PARAMS_PER_BATCH:]
            tag_msgs = tag_msgs[MAX_TAGS_PER_BATCH:]
            self._log_batch_with_retry(request)

    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        """Every value of the metric, ordered by step then timestamp (all pages).

        Asks for the series view: three packed arrays per page instead of a message per point,
        half the bytes and a fraction of the time on both sides of a long history."""
        history: list[Metric] = []
        token = ""
        while True:
            request = pb.GetMetricHistoryRequest(
                run_id=run_id,
                metric_key=key,
                page_token=token,
                view=pb.METRIC_HISTORY_VIEW_SERIES,
            )
            response = self._call("GetMetricHistory", request)
            series = response.series
            history.extend(
                Metric(key, value, timestamp, step)
                for step, timestamp, value in zip(
                    series.steps, series.timestamps, series.values, strict=True
                )
            )
            token = response.next_page_token
            if not token:
                return history

    # ---- async logging -------------------------------------------------------------------------

    def async_queue(self) -> AsyncLogQueue:
        """The background log queue of this client's service (one per target and process)."""
        key = self._target.address
        queue = _async_queues.get(key)
        if queue is None:
            with _async_queues_lock:
                queue = _async_queues.get(key)
                if queue is None:
                    queue = AsyncLogQueue(self._send_log_items, name=f"mlgrpc-async-log:{key}")
                    _async_queues[key] = queue
        return queue

    def flush(self) -> None:
        """Wait until every value logged asynchronously through this service is written."""
        queue = _async_queues.get(self._target.address)
        if queue is not None:
            queue.flush()

    def sync_spool(
        self, run_ids: Sequence[str] | None = None, *, budget: float | None = None
    ) -> list[_spool_replay.SyncedRun]:
        """Send what async logging kept in the spool for this tracking service (`mlgrpc runs
        sync`): every run's spool, or those of `run_ids`, each call retried for `budget`
        seconds (default MLGRPC_LOG_RETRY_SECONDS). The first failure is raised; what was not
        sent stays in the spool."""
        budget = retry_seconds() if budget is None else budget
        wanted = None if run_ids is None else set(run_ids)
        synced = []
        for run_spool in spool.run_spools(self.spool_dir):
            if wanted is None or run_spool.run_id in wanted:
                synced.append(_spool_replay.replay(self, run_spool, budget))
        return synced

    @property
    def spool_dir(self) -> Path:
        """Where this tracking service's unsent values are kept (`mlgrpc.spool`)."""
        return spool.service_dir(self._target.address)

    def _run_spool(self, run_id: str) -> spool.RunSpool:
        return spool.RunSpool(self.spool_dir, run_id)

    def _send_log_items(
        self, run_id: str, metrics: list[LogItem], params: list[LogItem], tags: list[LogItem]
    ) -> None:
        # The hot loop of async logging: `add` is the cheapest way to fill repeated fields.
        request = pb.LogBatchRequest(run_id=run_id, batch_id=new_batch_id())
        add_metric = request.metrics.add
        for item in metrics:
            add_metric(key=item[2], value=item[3], timestamp=item[4], step=item[5])
        add_param = request.params.add
        for item in params:
            add_param(key=item[2], value=item[3])
        add_tag = request.tags.add
        for item in tags:
            add_tag(key=item[2], value=item[3])
        run_spool = self._run_spool(run_id)
        refused = None
        try:
            if run_spool.exists():  # earlier values of the run wait there: they go first
                synced = _spool_replay.replay(self, run_spool, budget=0)
                refused = _spool_replay.refused(synced, run_spool)
            self._log_batch_with_retry(request)
        except MlgrpcException as error:
            if not is_retryable(error):
                raise
            # Kept, with its batch id, behind the run's earlier unsent values: never dropped.
            batch = _spool_replay.spooled_batch(request)
            run_spool.append(batch)
            raise UnsentLogsError(
                {run_id: batch.values}, str(run_spool.path.parent), cause=str(error)
            ) from error
        if refused is not None:
            raise refused

    def _log_batch_with_retry(self, request: pb.LogBatchRequest) -> None:
        # A fresh id per batch, the same one on every retry: the service writes it once.
        if not request.batch_id:
            request.batch_id = new_batch_id()
        what = f"LogBatch of run {request.run_id}"
        send_batch(lambda: self._call("LogBatch", request), what=what)

    # ---- artifacts -----------------------------------------------------------------------------

    def log_artifact(
        self, run_id: str, local_path: str | os.PathLike[str], artifact_path: str | None = None
    ) -> None:
        """Upload one file as `artifact_path/<file name>`."""
        name = os.path.basename(os.fspath(local_path))
        path = artifacts.join_artifact_path(artifact_path, name)
        artifacts.upload_file(self._stub, run_id, local_path, path)

    def log_artifacts(
        self, run_id: str, local_dir: str | os.PathLike[str], artifact_path: str | None = None
    ) -> None:
        """Upload every file below `local_dir` under `artifact_path`, keeping the layout."""
        artifacts.upload_dir(self._stub, run_id, local_dir, artifact_path)

    def log_text(self, run_id: str, text: str, artifact_file: str) -> None:
        """Store `text` (UTF-8) as the artifact file `artifact_file`."""
        artifacts.upload_bytes(self._stub, run_id, text.encode("utf-8"), artifact_file)

    def log_dict(self, run_id: str, dictionary: dict[str, Any], artifact_file: str) -> None:
        """Store a dict as JSON, or YAML when `artifact_file` ends with .yaml / .yml."""
        data = artifacts.dict_to_bytes(dictionary, artifact_file)
        artifacts.upload_bytes(self._stub, run_id, data, artifact_file)

    def log_figure(
        self,
        run_id: str,
        figure: Any,
        artifact_file: str,
        *,
        save_kwargs: dict[str, Any] | None = None,
    ) -> None:
        """Store a matplotlib (or plotly) figure as `artifact_file`, e.g. `plots/loss.png`."""
        artifacts.upload_figure(self._stub, run_id, figure, artifact_file, save_kwargs)

    def list_artifacts(self, run_id: str, path: str | None = None) -> list[FileInfo]:
        return artifacts.list_artifacts(self._stub, run_id, path)

    def download_artifacts(
        self, run_id: str, path: str = "", dst_path: str | os.PathLike[str] | None = None
    ) -> str:
        """Download a file or directory of the run's artifacts; returns its local path."""
        return artifacts.download(self._stub, run_id, path, dst_path)


def _is_synchronous(synchronous: bool | None) -> bool:
    if synchronous is None:
        return not config.is_async_logging_enabled()
    return bool(synchronous)


def _current_user() -> str:
    try:
        import getpass

        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no user database in some containers
        return "unknown"
