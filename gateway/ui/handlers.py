"""What the UI asks beyond MLflow's REST endpoints, as plain functions of the tracking calls
and the query (the routes in `gateway.ui.routes` only decode, run them off the loop, encode)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gateway import convert as c
from gateway.errors import RequestError
from gateway.tracking_calls import TrackingCalls
from gateway.tracking_routes import search_runs_request
from gateway.ui.downsample import Series, finite_or_none, min_max_buckets, within_steps
from mlgrpc.tracking.v1 import tracking_service_pb2 as pb

Query = Mapping[str, str]
#: Points a chart asks for by default: about two per horizontal pixel of a wide chart.
DEFAULT_POINTS = 2000
MAX_POINTS = 20000
#: SearchRuns' largest page: counting an experiment's runs takes few round trips.
COUNT_PAGE = 50000


def experiment_summary(tracking: TrackingCalls, experiment_id: str) -> c.Json:
    """An experiment with its number of active runs and its last activity (the latest of its own
    update and its runs' starts and ends), for the experiments list."""
    experiment = tracking.call(
        "GetExperiment", pb.GetExperimentRequest(experiment_id=experiment_id)
    ).experiment
    count, last = 0, experiment.last_update_time
    token = ""
    while True:
        page = tracking.call(
            "SearchRuns",
            pb.SearchRunsRequest(
                experiment_ids=[experiment_id], max_results=COUNT_PAGE, page_token=token
            ),
        )
        count += len(page.runs)
        for run in page.runs:
            last = max(last, run.info.start_time, run.info.end_time)
        token = page.next_page_token
        if not token:
            break
    return {"experiment_id": experiment_id, "run_count": count, "last_activity": last}


def runs_page(tracking: TrackingCalls, body: Mapping[str, Any]) -> c.Json:
    """A page of MLflow's runs/search (same body) in the runs table's lean shape: per run the
    info the table shows and its metrics, params and tags as key → value objects. A quarter of
    MLflow's JSON for a page of runs with 20 metrics, and a third of its cost to build: each
    metric's timestamp and step, the artifact URI, inputs and outputs are left out."""
    return lean_runs_page(tracking.call("SearchRuns", search_runs_request(body)))


def lean_runs_page(response: pb.SearchRunsResponse) -> c.Json:
    """SearchRuns' answer in the runs table's lean shape (`runs_page`)."""
    runs = []
    status_names = c.RUN_STATUS_NAMES
    for run in response.runs:
        info, data = run.info, run.data
        metrics = {}
        for metric in data.metrics:
            value = metric.value
            # `v - v == 0` holds for every finite float: NaN and ±inf take the slow way.
            metrics[metric.key] = value if value - value == 0 else c.json_double(value)
        runs.append(
            {
                "info": {
                    "run_id": info.run_id,
                    "run_name": info.run_name,
                    "status": status_names.get(info.status, "RUNNING"),
                    "start_time": info.start_time,
                    "end_time": info.end_time if info.HasField("end_time") else None,
                },
                "metrics": metrics,
                "params": {p.key: p.value for p in data.params},
                "tags": {t.key: t.value for t in data.tags},
            }
        )
    return {"runs": runs, "next_page_token": response.next_page_token}


def metric_history(tracking: TrackingCalls, query: Query) -> c.Json:
    """One metric of one run, downsampled to `points` by min/max buckets over the steps in
    [`min_step`, `max_step`]; `total` is how many points that range holds."""
    run_id = _required(query, "run_id")
    key = _required(query, "key")
    points = _int(query, "points", DEFAULT_POINTS)
    if not 2 <= points <= MAX_POINTS:
        raise RequestError(f"points must be between 2 and {MAX_POINTS}, not {points}.")
    series = within_steps(
        read_history(tracking, run_id, key),
        _optional_int(query, "min_step"),
        _optional_int(query, "max_step"),
    )
    shown = min_max_buckets(series, points)
    return {
        "run_id": run_id,
        "key": key,
        "total": len(series),
        "steps": shown.steps,
        "timestamps": shown.timestamps,
        "values": shown.values,
    }


def read_history(tracking: TrackingCalls, run_id: str, key: str) -> Series:
    """Every point of the metric, read in pages of the compact series view."""
    steps: list[int] = []
    timestamps: list[int] = []
    values: list[float | None] = []
    token = ""
    while True:
        page = tracking.call(
            "GetMetricHistory",
            pb.GetMetricHistoryRequest(
                run_id=run_id,
                metric_key=key,
                page_token=token,
                view=pb.METRIC_HISTORY_VIEW_SERIES,
            ),
        )
        steps.extend(page.series.steps)
        timestamps.extend(page.series.timestamps)
        values.extend(finite_or_none(v) for v in page.series.values)
        token = page.next_page_token
        if not token:
            return Series(steps, timestamps, values)


def _required(query: Query, name: str) -> str:
    value = query.get(name, "")
    if not value:
        raise RequestError(f"Missing value for required parameter '{name}'.")
    return value


def _int(query: Query, name: str, default: int) -> int:
    value = _optional_int(query, name)
    return default if value is None else value


def _optional_int(query: Query, name: str) -> int | None:
    raw = query.get(name, "")
    if raw == "":
        return None
    try:
        return int(raw)
    except ValueError:
        raise RequestError(f"{name} must be an integer, not {raw!r}.") from None


def run_state(run: pb.Run) -> Any:
    """What, when it changes, a live page must redraw: status, end and latest metrics."""
    metrics = sorted((m.key, m.step, m.timestamp, repr(m.value)) for m in run.data.metrics)
    return (run.info.status, run.info.end_time, tuple(metrics))
