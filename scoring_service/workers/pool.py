"""`--workers N`: N forked processes, each with its own gRPC server on the same port.

The kernel spreads incoming connections over the processes (SO_REUSEPORT). No gRPC object is
created in the parent before forking (gRPC's core does not survive a fork); each worker builds
its server, loads its models and serves until SIGTERM. The parent forwards SIGTERM/SIGINT to the
workers and waits for them; if a worker fails to start, the others are stopped too.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import time
from dataclasses import replace

from mlgrpc_server.signals import StopSignal
from scoring_service.config import ServeConfig

logger = logging.getLogger(__name__)


def _worker_main(config: ServeConfig, index: int) -> None:
    if config.server_kind == "aio":
        from scoring_service.aio_server import run

        logger.info("worker %d (pid %d) starting (aio)", index, os.getpid())
        os._exit(run(config, reuse_port=True))
    from scoring_service.server import create_server

    stop = StopSignal.install()
    try:
        server = create_server(config, reuse_port=True)
    except Exception as exc:  # noqa: BLE001 - reported, then the exit code tells the parent
        logger.error("worker %d (pid %d) failed to start: %s", index, os.getpid(), exc)
        os._exit(3)
    logger.info("worker %d (pid %d) serving on port %d", index, os.getpid(), server.port)
    stop.wait()
    server.stop(grace=5)
    logger.info("worker %d (pid %d) stopped", index, os.getpid())


def run_workers(config: ServeConfig) -> int:
    """Start `config.workers` processes and supervise them until a signal; the exit code."""
    if config.port == 0:
        logger.error("--workers needs a fixed --port: the workers must share one port")
        return 2
    pooled = None
    if config.metrics_port:
        # One endpoint in the parent sums the workers' metrics (prometheus multiprocess mode).
        from mlgrpc_server.observability.multiprocess import PooledMetrics

        pooled = PooledMetrics(config.metrics_port, config.host)
        pooled.prepare()
    worker_config = replace(config, metrics_port=0)
    context = multiprocessing.get_context("fork")
    processes = [
        context.Process(target=_worker_main, args=(worker_config, i), name=f"scoring-worker-{i}")
        for i in range(config.workers)
    ]
    stopping = StopSignal.install()  # before the workers exist: no signal may orphan them
    for process in processes:
        process.start()
    failed = False
    if pooled is not None:
        try:
            pooled.serve()
        except RuntimeError as error:  # the metrics port is busy
            logger.error("%s; stopping the workers", error)
            failed = True
            stopping.set()
    while not stopping.is_set():
        if any(p.exitcode not in (None, 0) for p in processes):
            failed = True
            logger.error("a worker exited early; stopping the others")
            break
        if all(p.exitcode is not None for p in processes):
            break
        stopping.wait(0.2)
    for process in processes:
        if process.is_alive():
            process.terminate()  # SIGTERM: the worker drains and stops
    deadline = time.monotonic() + 10
    for process in processes:
        process.join(max(0.1, deadline - time.monotonic()))
        if process.is_alive():
            process.kill()
            process.join()
    if pooled is not None:
        pooled.close()
    return 1 if failed else 0
