"""System metrics of a run, under MLflow's `system/…` keys: CPU, memory, disk, network, GPU.

`mlgrpc.enable_system_metrics_logging()` (or `MLGRPC_ENABLE_SYSTEM_METRICS_LOGGING=true`) makes
every `start_run` sample them; `start_run(log_system_metrics=True)` does it for one run. A daemon
thread samples every `MLGRPC_SYSTEM_METRICS_SAMPLING_INTERVAL` seconds (default 10, as MLflow)
and hands each sample to the client's asynchronous queue, so the training loop never waits for
the network; `end_run` stops the thread before it flushes the run's values.

Keys (MLflow 3's): `system/cpu_utilization_percentage`, `system/system_memory_usage_megabytes`,
`system/system_memory_usage_percentage`, `system/disk_usage_percentage`,
`system/disk_usage_megabytes`, `system/disk_available_megabytes`,
`system/network_receive_megabytes`, `system/network_transmit_megabytes` (since the run started)
and, where nvidia-ml-py finds GPUs (extra `mlgrpc[gpu]`), `system/gpu_{i}_utilization_percentage`,
`system/gpu_{i}_memory_usage_percentage`, `system/gpu_{i}_memory_usage_megabytes`,
`system/gpu_{i}_power_usage_watts`.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any

from mlgrpc.entities import Metric

logger = logging.getLogger(__name__)

PREFIX = "system/"
INTERVAL_ENV = "MLGRPC_SYSTEM_METRICS_SAMPLING_INTERVAL"
ENABLE_ENV = "MLGRPC_ENABLE_SYSTEM_METRICS_LOGGING"
DEFAULT_INTERVAL_SECONDS = 10.0

_enabled: bool | None = None


def enable_system_metrics_logging() -> None:
    """Log system metrics for every run started from now on."""
    global _enabled
    _enabled = True


def disable_system_metrics_logging() -> None:
    global _enabled
    _enabled = False


def is_enabled() -> bool:
    if _enabled is not None:
        return _enabled
    return os.environ.get(ENABLE_ENV, "").strip().lower() in ("1", "true", "yes")


def sampling_interval() -> float:
    text = os.environ.get(INTERVAL_ENV, "").strip()
    if not text:
        return DEFAULT_INTERVAL_SECONDS
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if value <= 0:
        raise ValueError(f"{INTERVAL_ENV}={text!r}: expected a positive number of seconds")
    return value


def _psutil() -> Any:
    try:
        import psutil
    except ImportError as exc:
        raise ImportError("system metrics need psutil: pip install psutil") from exc
    return psutil


class _Gpus:
    """NVIDIA GPUs through nvidia-ml-py, when it is installed and finds a driver."""

    def __init__(self) -> None:
        self.handles: list[Any] = []
        try:
            import pynvml

            pynvml.nvmlInit()
            self._nvml = pynvml
            self.handles = [
                pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(pynvml.nvmlDeviceGetCount())
            ]
        except Exception as exc:  # noqa: BLE001 - no library, no driver, no GPU: no GPU metrics
            logger.debug("no GPU metrics: %s", exc)

    def sample(self) -> dict[str, float]:
        values: dict[str, float] = {}
        for i, handle in enumerate(self.handles):
            try:
                memory = self._nvml.nvmlDeviceGetMemoryInfo(handle)
                use = self._nvml.nvmlDeviceGetUtilizationRates(handle)
                values[f"gpu_{i}_memory_usage_percentage"] = 100.0 * memory.used / memory.total
                values[f"gpu_{i}_memory_usage_megabytes"] = memory.used / 1e6
                values[f"gpu_{i}_utilization_percentage"] = float(use.gpu)
                power = self._nvml.nvmlDeviceGetPowerUsage(handle)
                values[f"gpu_{i}_power_usage_watts"] = power / 1000
            except Exception as exc:  # noqa: BLE001 - a device that stops answering is skipped
                logger.debug("GPU %d not sampled: %s", i, exc)
        return values


class SystemMetricsSampler:
    """One sample of the machine: MLflow's metric names (without `system/`) → values."""

    def __init__(self, disk_path: str = "/") -> None:
        self._psutil = _psutil()
        self._disk_path = disk_path
        self._psutil.cpu_percent()  # primes the counter: the first reading is since this call
        net = self._psutil.net_io_counters()
        self._net_start = (net.bytes_recv, net.bytes_sent)
        self._gpus = _Gpus()

    def sample(self) -> dict[str, float]:
        ps = self._psutil
        memory = ps.virtual_memory()
        disk = ps.disk_usage(self._disk_path)
        net = ps.net_io_counters()
        values = {
            "cpu_utilization_percentage": float(ps.cpu_percent()),
            "system_memory_usage_megabytes": memory.used / 1e6,
            "system_memory_usage_percentage": memory.used / memory.total * 100,
            "disk_usage_percentage": float(disk.percent),
            "disk_usage_megabytes": disk.used / 1e6,
            "disk_available_megabytes": disk.free / 1e6,
            "network_receive_megabytes": (net.bytes_recv - self._net_start[0]) / 1e6,
            "network_transmit_megabytes": (net.bytes_sent - self._net_start[1]) / 1e6,
        }
        values.update(self._gpus.sample())
        return values


class SystemMetricsMonitor:
    """Samples every `interval` seconds on a daemon thread and logs through `log`."""

    def __init__(
        self,
        run_id: str,
        log: Callable[[str, list[Metric]], None],
        interval: float | None = None,
    ) -> None:
        self.run_id = run_id
        self._log = log
        self._interval = interval if interval is not None else sampling_interval()
        self._sampler = SystemMetricsSampler()
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._loop, name=f"mlgrpc-system-metrics-{run_id[:8]}", daemon=True
        )
        self._step = 0

    def start(self) -> SystemMetricsMonitor:
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self._log_sample()
            except Exception as exc:  # noqa: BLE001 - metrics never break the training run
                logger.warning("system metrics of run %s not logged: %s", self.run_id, exc)

    def _log_sample(self) -> None:
        now = int(time.time() * 1000)
        metrics = [
            Metric(PREFIX + key, float(value), now, self._step)
            for key, value in self._sampler.sample().items()
        ]
        self._step += 1
        self._log(self.run_id, metrics)

    def stop(self) -> None:
        """Stop sampling; returns once the thread has logged its last sample."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self._interval + 5)
