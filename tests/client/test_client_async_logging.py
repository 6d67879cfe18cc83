"""Async logging end to end: the background queue writing to the real tracking service."""

from __future__ import annotations

import subprocess
import sys
import uuid

import pytest

import mlgrpc as mlflow
from mlgrpc.exceptions import MlgrpcException


def run_python(script: str) -> str:
    """Run `script` in a fresh interpreter; its stdout, or a failure showing its stderr."""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


@pytest.fixture
def experiment(tracking_uri: str) -> mlflow.Experiment:
    return mlflow.set_experiment(f"async-{uuid.uuid4().hex[:10]}")


def test_hundred_thousand_async_metrics_are_all_written_in_order(
    experiment: mlflow.Experiment,
) -> None:
    with mlflow.start_run() as run:
        for step in range(100_000):
            mlflow.log_metric("loss", float(step), step=step, synchronous=False)
    history = mlflow.MlgrpcClient().get_metric_history(run.info.run_id, "loss")
    assert [m.step for m in history] == list(range(100_000))
    assert [m.value for m in history[:3]] == [0.0, 1.0, 2.0]


def test_enable_async_logging_makes_log_calls_asynchronous(experiment: mlflow.Experiment) -> None:
    mlflow.config.enable_async_logging()
    with mlflow.start_run() as run:
        mlflow.log_param("alpha", 0.1)
        mlflow.set_tag("mode", "async")
        mlflow.log_metrics({"a": 1.0, "b": 2.0}, step=1)
        mlflow.log_metric("c", 3.0)
        mlflow.flush()
        data = mlflow.get_run(run.info.run_id).data
    assert data.params == {"alpha": "0.1"}
    assert data.tags["mode"] == "async"
    assert data.metrics == {"a": 1.0, "b": 2.0, "c": 3.0}


def test_async_logging_env_variable_enables_it(
    experiment: mlflow.Experiment, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLGRPC_ASYNC_LOGGING", "true")
    assert mlflow.config.is_async_logging_enabled()
    mlflow.config.disable_async_logging()
    assert not mlflow.config.is_async_logging_enabled()


def test_async_error_is_raised_at_flush_as_typed_exception(experiment: mlflow.Experiment) -> None:
    client = mlflow.MlgrpcClient()
    run_id = client.create_run(experiment.experiment_id).info.run_id
    client.delete_run(run_id)
    mlflow.log_metric("m", 1.0, run_id=run_id, synchronous=False)
    with pytest.raises(MlgrpcException) as caught:
        mlflow.flush()
    assert caught.value.code.name in ("FAILED_PRECONDITION", "NOT_FOUND")
    assert caught.value.reason


def test_async_error_is_raised_at_end_run(experiment: mlflow.Experiment) -> None:
    run = mlflow.start_run()
    mlflow.MlgrpcClient().delete_run(run.info.run_id)
    mlflow.log_metric("m", 1.0, synchronous=False)
    with pytest.raises(MlgrpcException):
        mlflow.end_run()
    assert mlflow.active_run() is None


def test_values_queued_at_interpreter_exit_are_written(experiment: mlflow.Experiment) -> None:
    run_id = mlflow.MlgrpcClient().create_run(experiment.experiment_id).info.run_id
    script = (
        "import mlgrpc as mlflow\n"
        f"mlflow.set_tracking_uri({mlflow.get_tracking_uri()!r})\n"
        "for step in range(5000):\n"
        f"    mlflow.log_metric('m', float(step), step=step, run_id={run_id!r},"
        " synchronous=False)\n"
    )
    run_python(script)
    history = mlflow.MlgrpcClient().get_metric_history(run_id, "m")
    assert len(history) == 5000


def test_active_run_at_exit_is_ended_finished(experiment: mlflow.Experiment) -> None:
    script = (
        "import mlgrpc as mlflow\n"
        f"mlflow.set_tracking_uri({mlflow.get_tracking_uri()!r})\n"
        f"mlflow.set_experiment(experiment_id={experiment.experiment_id!r})\n"
        "run = mlflow.start_run()\n"
        "mlflow.log_metric('m', 1.0, synchronous=False)\n"
        "print(run.info.run_id)\n"
    )
    out = run_python(script)
    run = mlflow.get_run(out.strip())
    assert run.info.status == "FINISHED"
    assert run.data.metrics == {"m": 1.0}


def test_client_log_batch_async_is_written_at_flush(experiment: mlflow.Experiment) -> None:
    client = mlflow.MlgrpcClient()
    run_id = client.create_run(experiment.experiment_id).info.run_id
    metrics = [mlflow.Metric("m", float(i), 1000, i) for i in range(3000)]
    params = [mlflow.Param(f"p{i}", "v") for i in range(150)]
    client.log_batch(run_id, metrics=metrics, params=params, synchronous=False)
    client.flush()
    assert len(client.get_metric_history(run_id, "m")) == 3000
    assert len(client.get_run(run_id).data.params) == 150
