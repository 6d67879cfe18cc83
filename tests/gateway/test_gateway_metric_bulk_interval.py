"""`metrics/get-history-bulk-interval`: the same points as `mlflow server` 3.17 samples for the
same history (the expected lists were read from it, with the same log-batch), and its errors."""

from __future__ import annotations

import uuid

import pytest
from gateway_helpers import Gateway

from gateway.metric_history_routes import sample_indices

ENDPOINT = "metrics/get-history-bulk-interval"
#: 23 points, two per step with values cycling 0..3, and a NaN at step 3 logged earliest.
HISTORY = [
    {"key": "loss", "value": float(i % 4), "timestamp": 1000 + i, "step": i // 2} for i in range(23)
] + [{"key": "loss", "value": "NaN", "timestamp": 5, "step": 3}]


@pytest.fixture(scope="module")
def run_id(gateway: Gateway) -> str:
    experiment = gateway.post("experiments/create", {"name": f"bulk-{uuid.uuid4().hex[:8]}"})
    run = gateway.post("runs/create", {"experiment_id": experiment.body["experiment_id"]})
    run_id = run.body["run"]["info"]["run_id"]
    assert gateway.post("runs/log-batch", {"run_id": run_id, "metrics": HISTORY}).status == 200
    return run_id


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"max_results": "3"}, [(0, 1000, 0.0), (3, 1007, 3.0), (11, 1022, 2.0)]),
        (
            {"max_results": "5"},
            [(0, 1000, 0.0), (2, 1005, 1.0), (4, 1009, 1.0), (7, 1014, 2.0), (11, 1022, 2.0)],
        ),
        ({"max_results": "1"}, [(11, 1022, 2.0)]),
        (
            {"max_results": "7", "start_step": "2", "end_step": "8"},
            [
                (2, 1004, 0.0),
                (3, 1006, 2.0),
                (4, 1008, 0.0),
                (5, 1010, 2.0),
                (6, 1012, 0.0),
                (7, 1014, 2.0),
                (8, 1017, 1.0),
            ],
        ),
    ],
)
def test_points_sampled_as_mlflow_server_samples_them(
    gateway: Gateway, run_id: str, query: dict, expected: list
) -> None:
    answer = gateway.get(ENDPOINT, run_ids=run_id, metric_key="loss", **query)
    assert answer.status == 200, answer
    points = [(m["step"], m["timestamp"], m["value"]) for m in answer.body["metrics"]]
    assert points == expected
    assert {(m["key"], m["run_id"]) for m in answer.body["metrics"]} == {("loss", run_id)}


def test_without_max_results_every_point_up_to_2500_with_nan(gateway: Gateway, run_id: str) -> None:
    answer = gateway.get(ENDPOINT, run_ids=run_id, metric_key="loss")
    points = [(m["step"], m["timestamp"], m["value"]) for m in answer.body["metrics"]]
    assert len(points) == 24
    assert points[6] == (3, 5, "NaN")


def test_several_runs_in_the_order_asked(gateway: Gateway, run_id: str) -> None:
    other = gateway.post("runs/create", {"experiment_id": "0"}).body["run"]["info"]["run_id"]
    gateway.post(
        "runs/log-metric",
        {"run_id": other, "key": "loss", "value": 9.5, "timestamp": 1, "step": 0},
    )
    answer = gateway.call(
        "GET",
        "/api/2.0/mlflow/" + ENDPOINT,
        query={"run_ids": [other, run_id], "metric_key": "loss", "max_results": "1"},
    )
    assert [(m["run_id"], m["value"]) for m in answer.body["metrics"]] == [
        (other, 9.5),
        (run_id, 2.0),
    ]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"metric_key": "loss"}, "run_ids"),
        ({"run_ids": "RUN"}, "metric_key"),
        ({"run_ids": "RUN", "metric_key": "loss", "max_results": "0"}, "max_results"),
        ({"run_ids": "RUN", "metric_key": "loss", "max_results": "2501"}, "max_results"),
        ({"run_ids": "RUN", "metric_key": "loss", "start_step": "3"}, "step"),
        ({"run_ids": "RUN", "metric_key": "loss", "start_step": "3", "end_step": "1"}, "step"),
        ({"run_ids": [f"r{i}" for i in range(101)], "metric_key": "loss"}, "run_ids"),
    ],
)
def test_bad_requests_are_400_naming_the_field(
    gateway: Gateway, run_id: str, query: dict, field: str
) -> None:
    if query.get("run_ids") == "RUN":
        query = query | {"run_ids": run_id}
    answer = gateway.call("GET", "/api/2.0/mlflow/" + ENDPOINT, query=query)
    assert answer.status == 400, answer
    assert answer.body["error_code"] == "INVALID_PARAMETER_VALUE"
    assert field in answer.body["message"]


def test_an_unknown_run_is_404(gateway: Gateway) -> None:
    answer = gateway.get(ENDPOINT, run_ids="0" * 32, metric_key="loss")
    assert answer.status == 404, answer
    assert answer.body["error_code"] == "RESOURCE_DOES_NOT_EXIST"


@pytest.mark.parametrize(
    ("total", "max_results", "expected"),
    [(0, 3, []), (2, 3, [0, 1]), (10, 3, [0, 4, 9]), (24, 5, [0, 5, 10, 15, 23]), (5, 1, [4])],
)
def test_sample_indices_are_ntile_firsts_and_the_last(
    total: int, max_results: int, expected: list[int]
) -> None:
    assert sample_indices(total, max_results) == expected
