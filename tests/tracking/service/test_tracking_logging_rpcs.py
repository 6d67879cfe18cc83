"""Logging RPCs over a real channel: metrics, params, tags, batches, streams, history."""

from __future__ import annotations

import math
import time

import grpc
import pytest
from tracking_rpc_helpers import assert_fails, failure_of

from mlgrpc import error_reasons as reasons
from mlgrpc.tracking.v1 import tracking_service_pb2 as pb

INVALID = grpc.StatusCode.INVALID_ARGUMENT
NOT_FOUND = grpc.StatusCode.NOT_FOUND
UNKNOWN_RUN = "0" * 32


def _history(stub, run_id: str, key: str) -> list[pb.Metric]:
    return list(
        stub.GetMetricHistory(pb.GetMetricHistoryRequest(run_id=run_id, metric_key=key)).metrics
    )


def test_log_metric_defaults_timestamp_to_now_and_step_to_zero(stub, run_id) -> None:
    before = int(time.time() * 1000)
    stub.LogMetric(pb.LogMetricRequest(run_id=run_id, key="acc", value=0.75))
    (metric,) = _history(stub, run_id, "acc")
    assert metric.value == 0.75 and metric.step == 0
    assert before - 1000 <= metric.timestamp <= int(time.time() * 1000) + 1000


def test_log_metric_keeps_given_timestamp_and_step(stub, run_id) -> None:
    stub.LogMetric(pb.LogMetricRequest(run_id=run_id, key="m", value=1.5, timestamp=7, step=3))
    assert [(m.timestamp, m.step) for m in _history(stub, run_id, "m")] == [(7, 3)]


def test_nan_and_infinities_come_back_faithfully(stub, run_id) -> None:
    for step, value in enumerate([math.nan, math.inf, -math.inf]):
        stub.LogMetric(
            pb.LogMetricRequest(run_id=run_id, key="odd", value=value, timestamp=1, step=step)
        )
    values = [m.value for m in _history(stub, run_id, "odd")]
    assert math.isnan(values[0]) and values[1:] == [math.inf, -math.inf]


def test_log_param_twice_with_same_value_is_accepted(stub, run_id) -> None:
    stub.LogParam(pb.LogParamRequest(run_id=run_id, key="alpha", value="0.1"))
    stub.LogParam(pb.LogParamRequest(run_id=run_id, key="alpha", value="0.1"))
    params = stub.GetRun(pb.GetRunRequest(run_id=run_id)).run.data.params
    assert {p.key: p.value for p in params} == {"alpha": "0.1"}


def test_set_tag_overwrites_and_delete_tag_removes(stub, run_id) -> None:
    stub.SetTag(pb.SetTagRequest(run_id=run_id, key="t", value="1"))
    stub.SetTag(pb.SetTagRequest(run_id=run_id, key="t", value="2"))
    tags = {t.key: t.value for t in stub.GetRun(pb.GetRunRequest(run_id=run_id)).run.data.tags}
    assert tags["t"] == "2"
    stub.DeleteTag(pb.DeleteTagRequest(run_id=run_id, key="t"))
    tags = {t.key: t.value for t in stub.GetRun(pb.GetRunRequest(run_id=run_id)).run.data.tags}
    assert "t" not in tags


def test_log_batch_writes_everything(stub, run_id) -> None:
    metrics = [pb.Metric(key="loss", value=1 / (i + 1), timestamp=i, step=i) for i in range(1000)]
    stub.LogBatch(
        pb.LogBatchRequest(
            run_id=run_id,
            metrics=metrics,
            params=[pb.Param(key=f"p{i}", value=str(i)) for i in range(100)],
            tags=[pb.RunTag(key=f"t{i}", value=str(i)) for i in range(100)],
        )
    )
    assert len(_history(stub, run_id, "loss")) == 1000
    run = stub.GetRun(pb.GetRunRequest(run_id=run_id)).run
    assert len(run.data.params) == 100


def test_log_batch_is_atomic_over_the_wire(stub, run_id) -> None:
    stub.LogParam(pb.LogParamRequest(run_id=run_id, key="fixed", value="a"))
    assert_fails(
        stub,
        lambda: stub.LogBatch(
            pb.LogBatchRequest(
                run_id=run_id,
                metrics=[pb.Metric(key="never", value=1, timestamp=1)],
                params=[pb.Param(key="new", value="x"), pb.Param(key="fixed", value="b")],
                tags=[pb.RunTag(key="never-tag", value="x")],
            )
        ),
        INVALID,
        reasons.INVALID_PARAMETER_VALUE,
    )
    run = stub.GetRun(pb.GetRunRequest(run_id=run_id)).run
    assert {p.key for p in run.data.params} == {"fixed"}
    assert "never-tag" not in {t.key for t in run.data.tags}
    assert _history(stub, run_id, "never") == []


def test_log_stream_writes_every_batch_and_counts(stub, run_id) -> None:
    def batches():
        for b in range(3):
            yield pb.LogStreamRequest(
                run_id=run_id,
                metrics=[
                    pb.Metric(key="s", value=float(i), timestamp=b, step=b * 5000 + i)
                    for i in range(5000)
                ],
                params=[pb.Param(key=f"sp{b}", value="v")],
                tags=[pb.RunTag(key=f"st{b}", value="v")],
            )

    summary = stub.LogStream(batches())
    assert (summary.batches_written, summary.metrics_written) == (3, 15000)
    assert (summary.params_written, summary.tags_written) == (3, 3)
    assert len(_history(stub, run_id, "s")) == 15000


def test_log_stream_bad_batch_keeps_earlier_ones_and_says_how_many(stub, run_id) -> None:
    def batches():
        for b in range(2):
            yield pb.LogStreamRequest(
                run_id=run_id, metrics=[pb.Metric(key="ok", value=1, timestamp=b)]
            )
        yield pb.LogStreamRequest(run_id=run_id, metrics=[pb.Metric(key="", value=1)])

    failure = assert_fails(
        stub, lambda: stub.LogStream(batches()), INVALID, reasons.INVALID_PARAMETER_VALUE
    )
    assert "2 batches" in failure.message and failure.metadata["batches_written"] == "2"
    assert len(_history(stub, run_id, "ok")) == 2


def test_metric_history_pages(stub, run_id) -> None:
    stub.LogBatch(
        pb.LogBatchRequest(
            run_id=run_id,
            metrics=[pb.Metric(key="h", value=i, timestamp=1, step=i) for i in range(5)],
        )
    )
    request = pb.GetMetricHistoryRequest(run_id=run_id, metric_key="h", max_results=3)
    first = stub.GetMetricHistory(request)
    request.page_token = first.next_page_token
    second = stub.GetMetricHistory(request)
    steps = [m.step for m in [*first.metrics, *second.metrics]]
    assert steps == [0, 1, 2, 3, 4] and not second.next_page_token


def test_metric_history_series_view_answers_packed_columns(stub, run_id) -> None:
    values = [0.5, math.nan, math.inf, -math.inf, -2.0]
    metrics = [pb.Metric(key="s", value=v, timestamp=10 + i, step=i) for i, v in enumerate(values)]
    stub.LogBatch(pb.LogBatchRequest(run_id=run_id, metrics=metrics))
    request = pb.GetMetricHistoryRequest(
        run_id=run_id, metric_key="s", view=pb.METRIC_HISTORY_VIEW_SERIES, max_results=3
    )
    first = stub.GetMetricHistory(request)
    assert not first.metrics and first.next_page_token
    request.page_token = first.next_page_token
    second = stub.GetMetricHistory(request)
    series = [first.series, second.series]
    assert [s for page in series for s in page.steps] == [0, 1, 2, 3, 4]
    assert [t for page in series for t in page.timestamps] == [10, 11, 12, 13, 14]
    got = [v for page in series for v in page.values]
    assert got[0] == 0.5 and math.isnan(got[1]) and got[2:] == [math.inf, -math.inf, -2.0]
    assert not second.next_page_token
    # The same points as the Metric view gives them.
    as_metrics = _history(stub, run_id, "s")
    assert [(m.step, m.timestamp) for m in as_metrics] == [(i, 10 + i) for i in range(5)]
    assert [m.value for m in as_metrics][2:] == got[2:]


# Bad input


def test_log_metric_to_unknown_run_is_not_found(stub) -> None:
    assert_fails(
        stub,
        lambda: stub.LogMetric(pb.LogMetricRequest(run_id=UNKNOWN_RUN, key="m", value=1)),
        NOT_FOUND,
        reasons.RESOURCE_DOES_NOT_EXIST,
        "run_id",
    )


@pytest.mark.parametrize("key", ["", "../escape", "bad\x00key", "k" * 251, "/abs"])
def test_log_metric_with_bad_key_is_invalid(stub, run_id, key) -> None:
    failure = assert_fails(
        stub,
        lambda: stub.LogMetric(pb.LogMetricRequest(run_id=run_id, key=key, value=1)),
        INVALID,
        reasons.INVALID_PARAMETER_VALUE,
    )
    assert "key" in failure.metadata["field"]


def test_log_metric_with_negative_timestamp_is_invalid(stub, run_id) -> None:
    failure = assert_fails(
        stub,
        lambda: stub.LogMetric(pb.LogMetricRequest(run_id=run_id, key="m", value=1, timestamp=-5)),
        INVALID,
        reasons.INVALID_PARAMETER_VALUE,
    )
    assert "timestamp" in failure.metadata["field"]


def test_log_metric_to_deleted_run_is_failed_precondition(stub, run_id) -> None:
    stub.DeleteRun(pb.DeleteRunRequest(run_id=run_id))
    assert_fails(
        stub,
        lambda: stub.LogMetric(pb.LogMetricRequest(run_id=run_id, key="m", value=1)),
        grpc.StatusCode.FAILED_PRECONDITION,
        reasons.INVALID_STATE,
    )


def test_log_param_with_different_value_is_invalid(stub, run_id) -> None:
    stub.LogParam(pb.LogParamRequest(run_id=run_id, key="p", value="1"))
    assert_fails(
        stub,
        lambda: stub.LogParam(pb.LogParamRequest(run_id=run_id, key="p", value="2")),
        INVALID,
        reasons.INVALID_PARAMETER_VALUE,
    )


def test_log_param_with_overlong_value_is_invalid(stub, run_id) -> None:
    failure = assert_fails(
        stub,
        lambda: stub.LogParam(pb.LogParamRequest(run_id=run_id, key="p", value="v" * 6001)),
        INVALID,
        reasons.INVALID_PARAMETER_VALUE,
    )
    assert "value" in failure.metadata["field"]


def test_log_param_to_unknown_run_is_not_found(stub) -> None:
    assert_fails(
        stub,
        lambda: stub.LogParam(pb.LogParamRequest(run_id=UNKNOWN_RUN, key="p", value="1")),
        NOT_FOUND,
        reasons.RESOURCE_DOES_NOT_EXIST,
        "run_id",
    )


def test_set_tag_with_overlong_value_is_invalid(stub, run_id) -> None:
    assert_fails(
        stub,
        lambda: stub.SetTag(pb.SetTagRequest(run_id=run_id, key="t", value="v" * 8001)),
        INVALID,
        reasons.INVALID_PARAMETER_VALUE,
    )


def test_set_tag_on_unknown_run_is_not_found(stub) -> None:
    assert_fails(
        stub,
        lambda: stub.SetTag(pb.SetTagRequest(run_id=UNKNOWN_RUN, key="t", value="v")),
        NOT_FOUND,
        reasons.RESOURCE_DOES_NOT_EXIST,
        "run_id",
    )


def test_delete_missing_tag_is_not_found(stub, run_id) -> None:
    assert_fails(
        stub,
        lambda: stub.DeleteTag(pb.DeleteTagRequest(run_id=run_id, key="never-set")),
        NOT_FOUND,
        reasons.RESOURCE_DOES_NOT_EXIST,
    )


def test_log_batch_over_1000_metrics_is_invalid(stub, run_id) -> None:
    assert_fails(
        stub,
        lambda: stub.LogBatch(
            pb.LogBatchRequest(
                run_id=run_id, metrics=[pb.Metric(key="m", value=1, step=i) for i in range(1001)]
            )
        ),
        INVALID,
        reasons.INVALID_PARAMETER_VALUE,
        "metrics",
    )


def test_log_batch_to_unknown_run_is_not_found(stub) -> None:
    assert_fails(
        stub,
        lambda: stub.LogBatch(
            pb.LogBatchRequest(run_id=UNKNOWN_RUN, metrics=[pb.Metric(key="m", value=1)])
        ),
        NOT_FOUND,
        reasons.RESOURCE_DOES_NOT_EXIST,
        "run_id",
    )


def test_log_stream_over_10000_metrics_in_a_message_is_invalid(stub, run_id) -> None:
    request = pb.LogStreamRequest(
        run_id=run_id, metrics=[pb.Metric(key="m", value=1, step=i) for i in range(10_001)]
    )
    failure = failure_of(lambda: stub.LogStream(iter([request])))
    assert failure.code == INVALID and failure.metadata["batches_written"] == "0"


def test_metric_history_of_unknown_run_is_not_found(stub) -> None:
    assert_fails(
        stub,
        lambda: stub.GetMetricHistory(
            pb.GetMetricHistoryRequest(run_id=UNKNOWN_RUN, metric_key="m")
        ),
        NOT_FOUND,
        reasons.RESOURCE_DOES_NOT_EXIST,
        "run_id",
    )


@pytest.mark.parametrize("max_results", [-1, 25_001])
def test_metric_history_with_bad_page_size_is_invalid(stub, run_id, max_results) -> None:
    assert_fails(
        stub,
        lambda: stub.GetMetricHistory(
            pb.GetMetricHistoryRequest(run_id=run_id, metric_key="m", max_results=max_results)
        ),
        INVALID,
        reasons.INVALID_PARAMETER_VALUE,
        "max_results",
    )


def test_metric_history_with_foreign_page_token_is_invalid(stub, run_id) -> None:
    assert_fails(
        stub,
        lambda: stub.GetMetricHistory(
            pb.GetMetricHistoryRequest(run_id=run_id, metric_key="m", page_token="garbage!")
        ),
        INVALID,
        reasons.INVALID_PARAMETER_VALUE,
        "page_token",
    )


def test_metric_history_with_unknown_view_is_invalid(stub, run_id) -> None:
    assert_fails(
        stub,
        lambda: stub.GetMetricHistory(
            pb.GetMetricHistoryRequest(run_id=run_id, metric_key="m", view=7)  # type: ignore[arg-type]
        ),
        INVALID,
        reasons.INVALID_PARAMETER_VALUE,
        "view",
    )
