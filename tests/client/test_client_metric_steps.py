"""A metric's step is an integer wherever it enters the client; nothing is stored truncated."""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable

import numpy as np
import pytest

import mlgrpc
from mlgrpc import MlgrpcClient
from mlgrpc.entities import Metric

#: An entry point: log metric `key` with `step` to run `run_id`.
LogWithStep = Callable[[MlgrpcClient, str, str, object], None]


def client_log_metric(sync: bool) -> LogWithStep:
    def log(client: MlgrpcClient, run_id: str, key: str, step: object) -> None:
        client.log_metric(run_id, key, 1.0, step=step, synchronous=sync)  # type: ignore[arg-type]

    return log


def client_log_batch(sync: bool) -> LogWithStep:
    def log(client: MlgrpcClient, run_id: str, key: str, step: object) -> None:
        metrics = [Metric("fine", 1.0, 1, 0), Metric(key, 1.0, 1, step)]  # type: ignore[arg-type]
        client.log_batch(run_id, metrics=metrics, synchronous=sync)

    return log


def fluent_log_metric(sync: bool) -> LogWithStep:
    def log(client: MlgrpcClient, run_id: str, key: str, step: object) -> None:
        mlgrpc.log_metric(key, 1.0, step=step, synchronous=sync, run_id=run_id)  # type: ignore[arg-type]

    return log


def fluent_log_metrics(sync: bool) -> LogWithStep:
    def log(client: MlgrpcClient, run_id: str, key: str, step: object) -> None:
        mlgrpc.log_metrics({"fine": 1.0, key: 1.0}, step=step, synchronous=sync, run_id=run_id)  # type: ignore[arg-type]

    return log


ENTRY_POINTS = {
    f"{make.__name__}-{'sync' if sync else 'async'}": make(sync)
    for make in (client_log_metric, client_log_batch, fluent_log_metric, fluent_log_metrics)
    for sync in (True, False)
}

REFUSED: list[tuple[object, type[Exception]]] = [
    (1.5, ValueError),
    (np.float64(2.25), ValueError),
    (math.nan, ValueError),
    (math.inf, ValueError),
    (2**63, ValueError),
    ("1", TypeError),
    (True, TypeError),
    ([1], TypeError),
]

#: Accepted steps and the step stored for each: every cast here loses nothing.
ACCEPTED: list[tuple[object, int]] = [
    (7, 7),
    (np.int64(3), 3),
    (np.uint8(4), 4),
    (2.0, 2),
    (np.float32(5.0), 5),
    (-1, -1),
    (None, 0),
]


@pytest.fixture
def run_id(client: MlgrpcClient, tracking_uri: str) -> str:
    experiment_id = client.create_experiment(f"steps-{uuid.uuid4().hex[:10]}")
    return client.create_run(experiment_id).info.run_id


@pytest.mark.parametrize("entry", ENTRY_POINTS.values(), ids=ENTRY_POINTS.keys())
@pytest.mark.parametrize(("step", "error"), REFUSED, ids=[repr(s) for s, _ in REFUSED])
def test_a_step_that_is_not_an_integer_is_refused_and_nothing_is_logged(
    client: MlgrpcClient,
    run_id: str,
    entry: LogWithStep,
    step: object,
    error: type[Exception],
) -> None:
    with pytest.raises(error, match="step"):
        entry(client, run_id, "loss", step)
    client.flush()
    data = client.get_run(run_id).data
    assert data.metrics == {}


@pytest.mark.parametrize("entry", ENTRY_POINTS.values(), ids=ENTRY_POINTS.keys())
def test_integral_steps_of_any_numeric_type_are_stored_exactly(
    client: MlgrpcClient, run_id: str, entry: LogWithStep
) -> None:
    for index, (step, _) in enumerate(ACCEPTED):
        entry(client, run_id, f"m{index}", step)
    client.flush()
    stored = [client.get_metric_history(run_id, f"m{i}")[0].step for i in range(len(ACCEPTED))]
    assert stored == [expected for _, expected in ACCEPTED]


def test_the_error_names_the_metric_and_the_step(client: MlgrpcClient, run_id: str) -> None:
    with pytest.raises(ValueError, match=r"step of metric 'rmse' must be an integer, got 1\.5"):
        client.log_metric(run_id, "rmse", 0.5, step=1.5)
