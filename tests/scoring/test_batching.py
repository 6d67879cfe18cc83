"""Adaptive batching: concurrent single-row requests share predict calls, each caller gets
its own rows back, and a model error reaches the callers whose rows caused it, only them."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import pytest

from mlgrpc.scoring.v1 import scoring_service_pb2 as pb
from mlgrpc.scoring.v1 import scoring_service_pb2_grpc as pb_grpc
from scoring_service.batching.adaptive import AdaptiveBatcher
from scoring_service.config import ModelSpec, ServeConfig
from scoring_service.server import create_server

from .conftest import SEED_COLUMNS, SEED_ROW


def test_concurrent_callers_share_batches_and_get_their_own_rows() -> None:
    calls: list[int] = []
    lock = threading.Lock()

    def predict(matrix: np.ndarray) -> np.ndarray:
        with lock:
            calls.append(len(matrix))
        return matrix[:, 0] * 2

    batcher = AdaptiveBatcher(predict, max_batch_size=64, max_batch_time_s=0.05)
    try:
        with ThreadPoolExecutor(16) as pool:
            results = list(pool.map(lambda i: batcher.predict(np.array([[float(i)]])), range(64)))
    finally:
        batcher.close()
    assert [r.tolist() for r in results] == [[2.0 * i] for i in range(64)]
    assert sum(calls) == 64
    assert len(calls) < 64


def test_model_error_reaches_every_caller_of_the_batch() -> None:
    def predict(matrix: np.ndarray) -> np.ndarray:
        raise ValueError("broken model")

    batcher = AdaptiveBatcher(predict, max_batch_size=8, max_batch_time_s=0.01)
    try:
        with pytest.raises(ValueError, match="broken model"):
            batcher.predict(np.zeros((1, 2)))
    finally:
        batcher.close()


def test_rows_the_model_refuses_fail_their_caller_only() -> None:
    """One caller's NaN in a batch of eight: seven get their predictions, one gets the error."""
    calls: list[int] = []

    def predict(matrix: np.ndarray) -> np.ndarray:
        calls.append(len(matrix))
        if np.isnan(matrix).any():
            raise ValueError("Input contains NaN")
        return matrix[:, 0] * 2

    # A long window, so that the eight callers surely share one batch.
    batcher = AdaptiveBatcher(predict, max_batch_size=8, max_batch_time_s=5)
    values = [1.0, 2.0, 3.0, float("nan"), 5.0, 6.0, 7.0, 8.0]
    try:
        futures = [_call_in_background(batcher, value) for value in values]
        outcomes = [future.exception(timeout=30) or future.result() for future in futures]
    finally:
        batcher.close()
    assert calls[0] == 8  # one batch, which the NaN failed; then each caller alone
    assert sorted(calls[1:]) == [1] * 8
    for value, outcome in zip(values, outcomes, strict=True):
        if np.isnan(value):
            assert isinstance(outcome, ValueError)
        else:
            assert outcome == [value * 2]


def _wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline, f"never: {what}"
        time.sleep(0.01)


def _call_in_background(batcher: AdaptiveBatcher, value: float) -> Future[Any]:
    """`batcher.predict` of a one-cell matrix in a daemon thread (a hung call fails the test
    through its timeout instead of hanging the run)."""
    future: Future[Any] = Future()

    def call() -> None:
        try:
            future.set_result(batcher.predict(np.array([[value]])).tolist())
        except BaseException as exc:  # noqa: BLE001 - reported through the future
            future.set_exception(exc)

    threading.Thread(target=call, daemon=True).start()
    return future


def _recording_doubler() -> tuple[Callable[[np.ndarray], np.ndarray], list[int]]:
    calls: list[int] = []

    def predict(matrix: np.ndarray) -> np.ndarray:
        calls.append(len(matrix))
        return matrix[:, 0] * 2

    return predict, calls


def test_closing_keeps_the_open_window_and_a_late_caller_joins_it() -> None:
    """A swap (close) while a request waits does not release its window early: the window
    still closes when full, here with the request of a caller that picked the model before
    the swap and reaches the batcher after it. Nobody waits on the window's time: it fills."""
    predict, calls = _recording_doubler()
    batcher = AdaptiveBatcher(predict, max_batch_size=2, max_batch_time_s=600)
    first = _call_in_background(batcher, 1.0)
    _wait_until(lambda: batcher.waiting == 1, "the first request is admitted")
    batcher.close()
    late = _call_in_background(batcher, 2.0)
    results = [first.result(timeout=60), late.result(timeout=60)]
    assert results == [[2.0], [4.0]]
    assert calls == [2]


def test_a_caller_of_a_closed_batcher_is_answered_at_once() -> None:
    """After close and its last window, a request that still holds the replaced model is
    predicted alone rather than queued behind a batcher that no longer runs."""
    predict, calls = _recording_doubler()
    batcher = AdaptiveBatcher(predict, max_batch_size=8, max_batch_time_s=600)
    batcher.close()
    assert _call_in_background(batcher, 3.0).result(timeout=60) == [6.0]
    assert calls == [1]
    assert batcher.waiting == 0


def test_server_with_batching_answers_each_request_with_its_own_prediction(
    wine_model_dir: Path, elastic_net: Any
) -> None:
    import pandas as pd

    config = ServeConfig(
        models=(ModelSpec(str(wine_model_dir)),), port=0, max_batch_size=32, max_batch_time_ms=5
    )
    server = create_server(config)
    try:
        with grpc.insecure_channel(server.address) as channel:
            stub = pb_grpc.ScoringServiceStub(channel)

            def call(i: int) -> float:
                request = pb.PredictRequest()
                request.dataframe_split.columns.extend(SEED_COLUMNS)
                row = list(SEED_ROW)
                row[0] = 8.0 + i / 10
                request.dataframe_split.data.add().extend(row)
                return stub.Predict(request, timeout=10).predictions[0]

            with ThreadPoolExecutor(8) as pool:
                got = list(pool.map(call, range(40)))
    finally:
        server.stop(grace=0)
    rows = [[8.0 + i / 10, *SEED_ROW[1:]] for i in range(40)]
    frame = pd.DataFrame(rows, columns=SEED_COLUMNS)[list(elastic_net.feature_names_in_)]
    assert got == pytest.approx(elastic_net.predict(frame).ravel().tolist(), abs=1e-9)
