"""Retrying LogBatch calls for a bounded time, safely: every batch carries its own id.

A LogBatch appends metric values, so the channel's transparent retry policy must not repeat it
(see `_channel.py`). With a client-generated `batch_id` it may: the tracking service records the
id in the batch's own transaction and answers a second request with the same id as a replay that
writes nothing. So `send_batch` retries UNAVAILABLE (the service or its database restarting, a
lost connection) and DEADLINE_EXCEEDED (the reply may have been lost after the write), plus
ABORTED, with exponential backoff and jitter, always with the same id, until the budget
`MLGRPC_LOG_RETRY_SECONDS` (default 120 s, 0 disables retrying) is spent; then the last error is
raised, as before retries existed (async logging keeps it for the next flush/end_run).
"""

from __future__ import annotations

import logging
import os
import random
import time
import uuid
from collections.abc import Callable
from typing import TypeVar

from mlgrpc.exceptions import AbortedError, UnavailableError

logger = logging.getLogger(__name__)

Response = TypeVar("Response")

DEFAULT_RETRY_SECONDS = 120.0
FIRST_BACKOFF_SECONDS = 0.1
MAX_BACKOFF_SECONDS = 5.0
#: DeadlineExceededError is a subclass of UnavailableError.
RETRYABLE_ERRORS = (UnavailableError, AbortedError)


def new_batch_id() -> str:
    """A fresh batch id: a random UUID in its canonical text form."""
    return str(uuid.uuid4())


def retry_seconds() -> float:
    """How long a batch is retried (MLGRPC_LOG_RETRY_SECONDS, default 120; 0: never)."""
    raw = os.environ.get("MLGRPC_LOG_RETRY_SECONDS", "").strip()
    if not raw:
        return DEFAULT_RETRY_SECONDS
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"MLGRPC_LOG_RETRY_SECONDS={raw!r} is not a number of seconds") from None
    return max(value, 0.0)


def send_batch(call: Callable[[], Response], *, what: str, budget: float | None = None) -> Response:
    """`call()` (one LogBatch carrying a batch id), retried on the errors above for `budget`
    seconds (default `retry_seconds()`); the last error once the budget is spent."""
    budget = retry_seconds() if budget is None else budget
    give_up_at = time.monotonic() + budget
    backoff = FIRST_BACKOFF_SECONDS
    attempt = 1
    while True:
        try:
            response = call()
        except RETRYABLE_ERRORS as error:
            left = give_up_at - time.monotonic()
            if left <= 0:
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
