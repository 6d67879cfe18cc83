"""MLflow's tracking endpoints (`/api/2.0/mlflow/experiments/*`, `runs/*`,
`metrics/get-history`): decode MLflow's JSON → one call to the tracking service → MLflow's JSON.

Each handler takes the request's fields (the JSON body, or the query of a GET) and returns the
response body; errors are raised (`RequestError`, `MlgrpcException`) and shaped in `gateway.app`.
The calls a training script makes at every step (log a metric, a param, a tag, a batch; create,
get and end a run) are coroutines, awaited on the event loop over its aio channel: no thread of
the pool is woken and waited for on each (`gateway.app` runs the others in the pool).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from gateway import convert as c
from gateway.tracking_calls import TrackingCalls
from mlgrpc.tracking.v1 import tracking_service_pb2 as pb

Body = Mapping[str, Any]
Handler = Callable[[TrackingCalls, Body], c.Json | Awaitable[c.Json]]

#: Page sizes MLflow's server uses when the request gives none.
SEARCH_EXPERIMENTS_DEFAULT = 1000
SEARCH_RUNS_DEFAULT = 1000


def create_experiment(tracking: TrackingCalls, body: Body) -> c.Json:
    request = pb.CreateExperimentRequest(
        name=c.required_str(body, "name"),
        artifact_location=c.optional_str(body, "artifact_location"),
        tags=c.tags_of(body, pb.ExperimentTag),
    )
    return {"experiment_id": tracking.call("CreateExperiment", request).experiment_id}


def get_experiment(tracking: TrackingCalls, body: Body) -> c.Json:
    request = pb.GetExperimentRequest(experiment_id=c.required_str(body, "experiment_id"))
    return {"experiment": c.experiment_json(tracking.call("GetExperiment", request).experiment)}


def get_experiment_by_name(tracking: TrackingCalls, body: Body) -> c.Json:
    request = pb.GetExperimentByNameRequest(experiment_name=c.required_str(body, "experiment_name"))
    response = tracking.call("GetExperimentByName", request)
    return {"experiment": c.experiment_json(response.experiment)}


def search_experiments(tracking: TrackingCalls, body: Body) -> c.Json:
    request = pb.SearchExperimentsRequest(
        max_results=c.optional_int(body, "max_results", bits=32) or SEARCH_EXPERIMENTS_DEFAULT,
        page_token=c.optional_str(body, "page_token"),
        filter=c.optional_str(body, "filter"),
        order_by=c.string_list(body, "order_by"),
        view_type=c.view_type(body, "view_type"),
    )
    response = tracking.call("SearchExperiments", request)
    experiments = [c.experiment_json(experiment) for experiment in response.experiments]
    return c.page_json("experiments", experiments, response.next_page_token)


def update_experiment(tracking: TrackingCalls, body: Body) -> c.Json:
    request = pb.UpdateExperimentRequest(
        experiment_id=c.required_str(body, "experiment_id"),
        new_name=c.optional_str(body, "new_name"),
    )
    tracking.call("UpdateExperiment", request)
    return {}


def delete_experiment(tracking: TrackingCalls, body: Body) -> c.Json:
    experiment_id = c.required_str(body, "experiment_id")
    tracking.call("DeleteExperiment", pb.DeleteExperimentRequest(experiment_id=experiment_id))
    return {}


def restore_experiment(tracking: TrackingCalls, body: Body) -> c.Json:
    experiment_id = c.required_str(body, "experiment_id")
    tracking.call("RestoreExperiment", pb.RestoreExperimentRequest(experiment_id=experiment_id))
    return {}


def set_experiment_tag(tracking: TrackingCalls, body: Body) -> c.Json:
    request = pb.SetExperimentTagRequest(
        experiment_id=c.required_str(body, "experiment_id"),
        key=c.required_str(body, "key"),
        value=c.optional_str(body, "value"),
    )
    tracking.call("SetExperimentTag", request)
    return {}


async def create_run(tracking: TrackingCalls, body: Body) -> c.Json:
    request = pb.CreateRunRequest(
        experiment_id=c.optional_str(body, "experiment_id"),
        run_name=c.optional_str(body, "run_name"),
        user_id=c.optional_str(body, "user_id"),
        tags=c.tags_of(body, pb.RunTag),
    )
    start_time = c.optional_int(body, "start_time")
    if start_time is not None:
        request.start_time = start_time
    return {"run": c.run_json((await tracking.call_async("CreateRun", request)).run)}


async def get_run(tracking: TrackingCalls, body: Body) -> c.Json:
    request = pb.GetRunRequest(run_id=c.run_id_of(body))
    return {"run": c.run_json((await tracking.call_async("GetRun", request)).run)}


async def update_run(tracking: TrackingCalls, body: Body) -> c.Json:
    request = pb.UpdateRunRequest(
        run_id=c.run_id_of(body),
        status=c.run_status(body, "status"),
        run_name=c.optional_str(body, "run_name"),
    )
    end_time = c.optional_int(body, "end_time")
    if end_time is not None:
        request.end_time = end_time
    response = await tracking.call_async("UpdateRun", request)
    return {"run_info": c.run_info_json(response.run_info)}


def delete_run(tracking: TrackingCalls, body: Body) -> c.Json:
    tracking.call("DeleteRun", pb.DeleteRunRequest(run_id=c.required_str(body, "run_id")))
    return {}


def restore_run(tracking: TrackingCalls, body: Body) -> c.Json:
    tracking.call("RestoreRun", pb.RestoreRunRequest(run_id=c.required_str(body, "run_id")))
    return {}


async def log_metric(tracking: TrackingCalls, body: Body) -> c.Json:
    request = pb.LogMetricRequest(
        run_id=c.run_id_of(body),
        key=c.required_str(body, "key"),
        value=c.required_double(body, "value"),
        model_id=c.optional_str(body, "model_id"),
        dataset_name=c.optional_str(body, "dataset_name"),
        dataset_digest=c.optional_str(body, "dataset_digest"),
    )
    request.timestamp = c.required_int(body, "timestamp")  # required by MLflow's server
    step = c.optional_int(body, "step")
    if step is not None:
        request.step = step
    await tracking.call_async("LogMetric", request)
    return {}


async def log_param(tracking: TrackingCalls, body: Body) -> c.Json:
    request = pb.LogParamRequest(
        run_id=c.run_id_of(body),
        key=c.required_str(body, "key"),
        value=c.optional_str(body, "value"),
    )
    await tracking.call_async("LogParam", request)
    return {}


async def set_tag(tracking: TrackingCalls, body: Body) -> c.Json:
    request = pb.SetTagRequest(
        run_id=c.run_id_of(body),
        key=c.required_str(body, "key"),
        value=c.optional_str(body, "value"),
    )
    await tracking.call_async("SetTag", request)
    return {}


async def delete_tag(tracking: TrackingCalls, body: Body) -> c.Json:
    request = pb.DeleteTagRequest(
        run_id=c.required_str(body, "run_id"), key=c.required_str(body, "key")
    )
    await tracking.call_async("DeleteTag", request)
    return {}


async def log_batch(tracking: TrackingCalls, body: Body) -> c.Json:
    request = pb.LogBatchRequest(run_id=c.required_str(body, "run_id"))
    c.add_metrics(request.metrics, c.object_list(body, "metrics"))  # added in place: no copy
    request.params.extend(c.params_of(body))
    request.tags.extend(c.tags_of(body, pb.RunTag))
    await tracking.call_async("LogBatch", request)
    return {}


def get_metric_history(tracking: TrackingCalls, body: Body) -> c.Json:
    request = pb.GetMetricHistoryRequest(
        run_id=c.run_id_of(body),
        metric_key=c.required_str(body, "metric_key"),
        max_results=c.optional_int(body, "max_results", bits=32) or 0,
        page_token=c.optional_str(body, "page_token"),
    )
    response = tracking.call("GetMetricHistory", request)
    metrics = [c.metric_json(metric) for metric in response.metrics]
    return c.page_json("metrics", metrics, response.next_page_token)


def search_runs_request(body: Body) -> pb.SearchRunsRequest:
    """MLflow's runs/search body as SearchRuns' request (the UI's lean page reads it too)."""
    return pb.SearchRunsRequest(
        experiment_ids=c.string_list(body, "experiment_ids"),
        filter=c.optional_str(body, "filter"),
        run_view_type=c.view_type(body, "run_view_type"),
        max_results=c.optional_int(body, "max_results", bits=32) or SEARCH_RUNS_DEFAULT,
        order_by=c.string_list(body, "order_by"),
        page_token=c.optional_str(body, "page_token"),
    )


def search_runs(tracking: TrackingCalls, body: Body) -> c.Json:
    response = tracking.call("SearchRuns", search_runs_request(body))
    runs = [c.run_json(run) for run in response.runs]
    return c.page_json("runs", runs, response.next_page_token)


def list_artifacts(tracking: TrackingCalls, body: Body) -> c.Json:
    run_id = c.run_id_of(body)
    request = pb.ListArtifactsRequest(run_id=run_id, path=c.optional_str(body, "path"))
    response = tracking.call("ListArtifacts", request)
    files = [c.file_info_json(file) for file in response.files]
    experiment_id = tracking.call("GetRun", pb.GetRunRequest(run_id=run_id)).run.info.experiment_id
    root_uri = c.proxied_artifact_uri(experiment_id, run_id)
    return c.page_json("files", files, "") | {"root_uri": root_uri}


#: (method, path under /api/2.0/mlflow/) → handler, as MLflow's service.proto routes them.
ROUTES: dict[tuple[str, str], Handler] = {
    ("POST", "experiments/create"): create_experiment,
    ("GET", "experiments/get"): get_experiment,
    ("GET", "experiments/get-by-name"): get_experiment_by_name,
    ("GET", "experiments/search"): search_experiments,
    ("POST", "experiments/search"): search_experiments,
    ("POST", "experiments/update"): update_experiment,
    ("POST", "experiments/delete"): delete_experiment,
    ("POST", "experiments/restore"): restore_experiment,
    ("POST", "experiments/set-experiment-tag"): set_experiment_tag,
    ("POST", "runs/create"): create_run,
    ("GET", "runs/get"): get_run,
    ("POST", "runs/update"): update_run,
    ("POST", "runs/delete"): delete_run,
    ("POST", "runs/restore"): restore_run,
    ("POST", "runs/log-metric"): log_metric,
    ("POST", "runs/log-parameter"): log_param,
    ("POST", "runs/set-tag"): set_tag,
    ("POST", "runs/delete-tag"): delete_tag,
    ("POST", "runs/log-batch"): log_batch,
    ("POST", "runs/search"): search_runs,
    ("GET", "metrics/get-history"): get_metric_history,
    ("GET", "artifacts/list"): list_artifacts,
}
