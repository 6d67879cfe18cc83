"""Fixtures of the client tests: the fluent API's process-wide state, reset around every test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import mlgrpc
from mlgrpc import config, fluent
from mlgrpc.async_logging import flush_all


@pytest.fixture(autouse=True)
def fresh_fluent_state() -> Iterator[None]:
    """Every test starts with no active run, the default URIs and synchronous logging."""
    fluent._reset_state()
    config.reset()
    yield
    try:
        flush_all()
    except Exception:  # noqa: BLE001 - a test that provoked a background error may leave it
        pass
    while mlgrpc.active_run() is not None:
        try:
            mlgrpc.end_run()
        except Exception:  # noqa: BLE001 - the server may be gone; forget the run anyway
            fluent._active_run_stack.clear()
    fluent._reset_state()
    config.reset()


@pytest.fixture
def tracking_uri(tracking_server: str) -> str:
    """The real tracking service as the fluent API's tracking URI."""
    uri = f"grpc://{tracking_server}"
    mlgrpc.set_tracking_uri(uri)
    return uri


@pytest.fixture
def client(tracking_server: str) -> mlgrpc.MlgrpcClient:
    return mlgrpc.MlgrpcClient(f"grpc://{tracking_server}")
