"""A stop signal the main thread did not receive itself still stops the service.

CPython runs signal handlers in the main thread between bytecodes. When the kernel hands
SIGTERM to another thread (or the signal lands just before the main thread blocks), an untimed
`Event.wait()` in the main thread never returns: CI once saw the tracking service ignore SIGTERM
that way. Here the main thread blocks SIGTERM so that the kernel must deliver it to a helper
thread: the deterministic form of that race.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

_SCRIPT = textwrap.dedent(
    """
    import os, signal, threading, time
    {waiter}
    started = threading.Event()

    def send_sigterm():
        started.wait()
        time.sleep(0.2)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=send_sigterm, daemon=True).start()  # created with SIGTERM unblocked
    signal.pthread_sigmask(signal.SIG_BLOCK, {{signal.SIGTERM}})
    started.set()
    stop.wait()
    print("stopped by", stop.signum)
    """
)

_STOP_SIGNAL = "from mlgrpc_server.signals import StopSignal\nstop = StopSignal.install()"

_PLAIN_EVENT = textwrap.dedent(
    """
    stop = threading.Event()
    stop.signum = None
    def _set(signum, _frame):
        stop.signum = signum
        stop.set()
    signal.signal(signal.SIGTERM, _set)
    """
)


def _run(waiter: str, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _SCRIPT.format(waiter=waiter)],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_stop_signal_wakes_a_main_thread_that_missed_the_signal() -> None:
    result = _run(_STOP_SIGNAL, timeout=20)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "stopped by 15"


def test_an_untimed_event_wait_misses_it_which_is_why_stop_signal_polls() -> None:
    """The control: with a plain Event.wait() the same script hangs, so the test above has teeth."""
    try:
        result = _run(_PLAIN_EVENT, timeout=3)
    except subprocess.TimeoutExpired:
        return
    raise AssertionError(f"a plain Event.wait() returned: {result.stdout!r} {result.stderr!r}")
