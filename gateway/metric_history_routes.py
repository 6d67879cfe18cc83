"""`metrics/get-history-bulk-interval`: one metric of up to 100 runs, each run's points sampled
down to `max_results` as MLflow's server samples them, for its UI's charts.

Our tracking contract has no such RPC: each run's history is read with GetMetricHistory in its
compact SERIES view, page by page, and sampled here. MLflow 3.17's SQL store samples *rows*
ordered by (step, timestamp, value): NTILE(max_results) buckets, the first row of each, and the
last row kept (replacing the last sample when the page is full) — `sample_indices` below.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from gateway import convert as c
from gateway.errors import RequestError
from gateway.tracking_calls import TrackingCalls
from mlgrpc.tracking.v1 import tracking_service_pb2 as pb

Body = Mapping[str, Any]
Handler = Callable[[TrackingCalls, Body], c.Json]

#: MLflow's limits (`mlflow/server/handlers.py`): runs per request, points per run.
MAX_RUNS = 100
MAX_RESULTS_PER_RUN = 2500

Point = tuple[int, int, float]  # step, timestamp, value


def sample_indices(total: int, max_results: int) -> list[int]:
    """Indices of the points kept out of `total` ordered ones: the first of each of
    `max_results` NTILE buckets (SQL's NTILE: the first `total % n` buckets one longer), and the
    last point, which replaces the last sample when there are already `max_results`."""
    if total <= 0:
        return []
    buckets = min(max_results, total)
    size, longer = divmod(total, max_results)
    indices = [i * size + min(i, longer) for i in range(buckets)]
    if indices[-1] != total - 1:
        if len(indices) >= max_results:
            indices[-1] = total - 1
        else:
            indices.append(total - 1)
    return indices


def get_metric_history_bulk_interval(tracking: TrackingCalls, body: Body) -> c.Json:
    run_ids = c.string_list(body, "run_ids")
    if not run_ids:
        raise c.missing("run_ids")
    if len(run_ids) > MAX_RUNS:
        raise RequestError(
            f"GetMetricHistoryBulkInterval request must specify at most {MAX_RUNS} run_ids. "
            f"Received {len(run_ids)} run_ids."
        )
    metric_key = c.required_str(body, "metric_key")
    max_results = c.optional_int(body, "max_results", bits=32)
    if max_results is None:
        max_results = MAX_RESULTS_PER_RUN
    if not 1 <= max_results <= MAX_RESULTS_PER_RUN:
        raise RequestError(f"max_results must be between 1 and {MAX_RESULTS_PER_RUN}.")
    start_step = c.optional_int(body, "start_step")
    end_step = c.optional_int(body, "end_step")
    if (start_step is None) != (end_step is None):
        raise RequestError(
            "If either start step or end step are specified, both must be specified."
        )
    if start_step is not None and end_step is not None and start_step > end_step:
        raise RequestError(
            "end_step must be greater than start_step. "
            f"Found start_step={start_step} and end_step={end_step}."
        )

    metrics: list[c.Json] = []
    for run_id in run_ids:
        points = _history(tracking, run_id, metric_key)
        if start_step is not None and end_step is not None:
            points = [point for point in points if start_step <= point[0] <= end_step]
        points.sort(key=_order)
        for index in sample_indices(len(points), max_results):
            step, timestamp, value = points[index]
            metrics.append(
                {
                    "key": metric_key,
                    "value": c.json_double(value),
                    "timestamp": timestamp,
                    "step": step,
                    "run_id": run_id,
                }
            )
    return c.page_json("metrics", metrics, "")


def _order(point: Point) -> tuple[int, int, float, bool]:
    """(step, timestamp, value, is_nan) as MLflow's SQL orders them: it stores NaN as 0."""
    step, timestamp, value = point
    is_nan = math.isnan(value)
    return step, timestamp, 0.0 if is_nan else value, is_nan


def _history(tracking: TrackingCalls, run_id: str, metric_key: str) -> list[Point]:
    points: list[Point] = []
    page_token = ""
    while True:
        request = pb.GetMetricHistoryRequest(
            run_id=run_id,
            metric_key=metric_key,
            page_token=page_token,
            view=pb.METRIC_HISTORY_VIEW_SERIES,
        )
        response = tracking.call("GetMetricHistory", request)
        series = response.series
        points += zip(series.steps, series.timestamps, series.values, strict=True)
        page_token = response.next_page_token
        if not page_token:
            return points


#: (method, path under /api/2.0/mlflow/) → handler, as MLflow's service.proto routes it.
ROUTES: dict[tuple[str, str], Handler] = {
    ("GET", "metrics/get-history-bulk-interval"): get_metric_history_bulk_interval,
}
