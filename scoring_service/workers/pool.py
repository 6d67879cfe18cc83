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
import signal
import threading
import time

from scoring_service.config import ServeConfig

logger = logging.getLogger(__name__)


def _wait_for_signal() -> None:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()


def _worker_main(config: ServeConfig, index: int) -> None:
    if config.server_kind == "aio":
        from scoring_service.aio_server import run

        logger.info("worker %d (pid %d) starting (aio)", index, os.getpid())
        os._exit(run(config, reuse_port=True))
    from scoring_service.server import create_server

    try:
        server = create_server(config, reuse_port=True)
    except Exception as exc:  # noqa: BLE001 - reported, then the exit code tells the parent
        logger.error("worker %d (pid %d) failed to start: %s", index, os.getpid(), exc)
        os._exit(3)
    logger.info("worker %d (pid %d) serving on port %d", index, os.getpid(), server.port)
    _wait_for_signal()
    server.stop(grace=5)
    logger.info("worker %d (pid %d) stopped", index, os.getpid())


def run_workers(config: ServeConfig) -> int:
    """Start `config.workers` processes and supervise them until a signal; the exit code."""
    if config.port == 0:
        logger.error("--workers needs a fixed --port: the workers must share one port")
        return 2
    context = multiprocessing.get_context("fork")
    processes = [
        context.Process(target=_worker_main, args=(config, i), name=f"scoring-worker-{i}")
        for i in range(config.workers)
    ]
    for process in processes:
        process.start()
    stopping = threading.Event()

    def _forward(signum: int, _frame: object) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, _forward)
    signal.signal(signal.SIGINT, _forward)
    failed = False
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
    return 1 if failed else 0
