"""SIGTERM and SIGINT as a stop request that a blocked main thread cannot miss.

Python runs a signal handler in the main thread, between bytecodes. A signal that arrives just
before the main thread blocks in an untimed `Event.wait()` sets the handler's flag, but the
main thread is already inside the lock and never returns to run it: the process then ignores
SIGTERM until it is killed (seen once in CI). `wait()` therefore wakes every half second, so a
pending handler always runs. Install before the server reports SERVING: a signal that arrives
between the two would otherwise take the default action and kill the process undrained.
"""

from __future__ import annotations

import logging
import signal
import threading

logger = logging.getLogger(__name__)

#: How long a signal that raced the wait can go unnoticed.
POLL_SECONDS = 0.5


class StopSignal:
    """An event set by SIGTERM/SIGINT (or by `set()`, for other reasons to stop)."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.signum: int | None = None

    @classmethod
    def install(cls) -> StopSignal:
        """Handle SIGTERM and SIGINT from now on; call in the main thread."""
        stop = cls()
        signal.signal(signal.SIGTERM, stop._on_signal)
        signal.signal(signal.SIGINT, stop._on_signal)
        return stop

    def _on_signal(self, signum: int, _frame: object) -> None:
        self.signum = signum
        self._event.set()

    def set(self) -> None:
        self._event.set()

    def is_set(self) -> bool:
        return self._event.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until stopped (or `timeout` seconds); True when stopped."""
        if timeout is not None:
            return self._event.wait(timeout)
        while not self._event.wait(POLL_SECONDS):
            pass
        return True
