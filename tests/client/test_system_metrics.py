"""System metrics: sampled into the run under MLflow's `system/…` keys until the run ends."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

import mlgrpc as mlflow
from mlgrpc import system_metrics

KEYS = {
    "system/cpu_utilization_percentage",
    "system/system_memory_usage_megabytes",
    "system/system_memory_usage_percentage",
    "system/disk_usage_percentage",
    "system/disk_usage_megabytes",
    "system/disk_available_megabytes",
    "system/network_receive_megabytes",
    "system/network_transmit_megabytes",
}


@pytest.fixture(autouse=True)
def one_second_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(system_metrics.INTERVAL_ENV, "1")


def test_a_five_second_run_has_system_metrics_at_successive_steps(tracking_uri: str) -> None:
    with mlflow.start_run(log_system_metrics=True) as run:
        time.sleep(5)
    run_id = run.info.run_id
    data = mlflow.get_run(run_id).data
    assert KEYS <= set(data.metrics)
    history = mlflow.MlgrpcClient().get_metric_history(run_id, "system/cpu_utilization_percentage")
    steps = sorted(m.step for m in history)
    assert len(steps) >= 3 and steps == list(range(len(steps)))
    assert all(0 <= m.value <= 100 for m in history)
    assert data.metrics["system/system_memory_usage_megabytes"] > 0


def test_sampling_stops_with_the_run(tracking_uri: str) -> None:
    with mlflow.start_run(log_system_metrics=True) as run:
        time.sleep(1.5)
    client = mlflow.MlgrpcClient()
    key = "system/disk_usage_percentage"
    count = len(client.get_metric_history(run.info.run_id, key))
    time.sleep(2.5)
    assert len(client.get_metric_history(run.info.run_id, key)) == count


def test_enable_system_metrics_logging_applies_to_later_runs(tracking_uri: str) -> None:
    mlflow.enable_system_metrics_logging()
    try:
        with mlflow.start_run() as run:
            time.sleep(2.5)
    finally:
        mlflow.disable_system_metrics_logging()
    assert KEYS <= set(mlflow.get_run(run.info.run_id).data.metrics)
    with mlflow.start_run() as quiet:
        time.sleep(1.5)
    assert not any(k.startswith("system/") for k in mlflow.get_run(quiet.info.run_id).data.metrics)


def test_a_bad_interval_is_refused_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(system_metrics.INTERVAL_ENV, "soon")
    with pytest.raises(ValueError, match=system_metrics.INTERVAL_ENV):
        system_metrics.sampling_interval()


def test_metrics_plot_draws_a_system_metric(tracking_uri: str, tmp_path: Path) -> None:
    from mlgrpc.cli.main import main

    with mlflow.start_run(log_system_metrics=True) as run:
        time.sleep(2.5)
    out = tmp_path / "cpu.png"
    code = main(
        ["metrics", "plot", run.info.run_id, "system/cpu_utilization_percentage", "-o", str(out)]
        + ["--tracking-uri", tracking_uri]
    )
    assert code == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
