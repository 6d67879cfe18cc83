"""Retrying the client's writes for a bounded time, where repeating one cannot change the outcome.

A write whose reply was lost (the service killed or restarted, a dropped connection, a deadline)
may or may not have been committed, so it is retried only when a repeat leaves the same state:

- LogBatch carries a client-generated `batch_id`: the tracking service records the id in the
  batch's own transaction and answers a second request with the same id as a replay that writes
  nothing (`send_batch`).
- LogMetric, LogParam: the client fixes the timestamp before the first attempt, and a metric row
  is keyed by all of its columns, so a repeated point is not written twice; a param is
  write-once and an equal value is accepted again. Per-call ids would cost a remembered id per
  single value. These retry the same errors as LogBatch (`retry_write`).
- SetTag, SetExperimentTag, UpdateRun (`set_terminated`): they overwrite with given values.
  DEADLINE_EXCEEDED is not retried for them: the first attempt may still
  be running on a live service and commit after a later write of the same key
  (`is_retryable_overwrite`).

Retried: UNAVAILABLE (the service or its database restarting, a lost connection),
DEADLINE_EXCEEDED (the reply may have been lost after the write) and ABORTED, with exponential
backoff and jitter, always with the same request, until the budget `MLGRPC_LOG_RETRY_SECONDS`
(default 120 s, 0 disables retrying) is spent; then the last error is raised (async logging keeps
what it could not send in the spool, `mlgrpc.spool`).
"""

from __future__ import annotations

import logging
import os
import random
import time
import uuid
from collections.abc import Callable
from typing import TypeVar

from mlgrpc.exceptions import (
    AbortedError,
    DeadlineExceededError,
    MlgrpcException,
    UnavailableError,
)

logger = logging.getLogger(__name__)

Response = TypeVar("Response")

DEFAULT_RETRY_SECONDS = 120.0
FIRST_BACKOFF_SECONDS = 0.1
MAX_BACKOFF_SECONDS = 5.0
#: DeadlineExceededError is a subclass of UnavailableError.
RETRYABLE_ERRORS = (UnavailableError, AbortedError)


def is_retryable(error: MlgrpcException) -> bool:
    """A write that failed so may be repeated when a repeat writes nothing new."""
    return isinstance(error, RETRYABLE_ERRORS)


def is_retryable_overwrite(error: MlgrpcException) -> bool:
    """A last-writer-wins write that failed so may be repeated: not after a deadline."""
    return is_retryable(error) and not isinstance(error, DeadlineExceededError)


def new_batch_id() -> str:
    """A fresh batch id: a random UUID in its canonical text form."""
    return str(uuid.uuid4())


def retry_seconds() -> float:
    """How long a write is retried (MLGRPC_LOG_RETRY_SECONDS, default 120; 0: never)."""
    raw = os.environ.get("MLGRPC_LOG_RETRY_SECONDS", "").strip()
    if not raw:
        return DEFAULT_RETRY_SECONDS
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"MLGRPC_LOG_RETRY_SECONDS={raw!r} is not a number of seconds") from None
    return max(value, 0.0)


def retry_write(
    call: Callable[[], Response],
    *,
    what: str,
    budget: float | None = None,
    retryable: Callable[[MlgrpcException], bool] = is_retryable,
) -> Response:
    """`call()` (one write that is safe to repeat), retried while `retryable(error)` for
    `budget` seconds (default `retry_seconds()`); the last error once the budget is spent."""
    budget = retry_seconds() if budget is None else budget
    give_up_at = time.monotonic() + budget
    backoff = FIRST_BACKOFF_SECONDS
    attempt = 1
    while True:
        try:
            response = call()
        except MlgrpcException as error:
            left = give_up_at - time.monotonic()
            if not retryable(error) or left <= 0:
                raise
            pause = min(backoff * (0.5 + random.random()), left)
            logger.info(
                "%s: attempt %d failed (%s); retrying in %.2f s (%.0f s of retry budget left)",
                what,
                attempt,
                error.code.name,
                pause,
                left,
            )
            time.sleep(pause)
            backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
            attempt += 1
            continue
        if attempt > 1:
            replayed = bool(getattr(response, "replayed", False))
            logger.info(
                "%s: attempt %d succeeded%s",
                what,
                attempt,
                " (a replay: an earlier attempt had written the batch)" if replayed else "",
            )
        return response


def send_batch(call: Callable[[], Response], *, what: str, budget: float | None = None) -> Response:
    """`call()` (one LogBatch carrying a batch id), retried as `retry_write` does."""
    return retry_write(call, what=what, budget=budget)
