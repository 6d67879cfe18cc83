"""bench/gateway_bench.py's bounds: the ceiling (MLflow against an instant server) and the
durable ceiling (that server also paying one durable write a call), from known figures."""

from __future__ import annotations

import pytest

from bench.gateway_bench import Row, print_table


def log_batch_row(durable_write_ms: float | None, hop_ms: float | None = 12.5) -> Row:
    # metrics/s of log_batch of 1,000: ours 25,000, MLflow 8,000 (125 ms a call), floor 40,000
    # (25 ms a call)
    return Row("W3", 25_000, 8_000, 40_000, "metrics/s", True, 5, 1000, durable_write_ms, hop_ms)


def test_the_durable_ceiling_adds_one_write_to_the_floors_time_a_call() -> None:
    row = log_batch_row(durable_write_ms=25.0)
    assert row.op_ms(row.mlflow) == pytest.approx(125.0)
    assert row.ceiling == pytest.approx(5.0)  # 125 / 25
    assert row.durable_ceiling == pytest.approx(2.5)  # 125 / (25 + 25)
    assert row.hop_ceiling == pytest.approx(2.0)  # 125 / (25 + 25 + 12.5)
    assert log_batch_row(25.0, hop_ms=None).hop_ceiling is None


def test_without_a_measured_write_or_for_a_search_there_is_no_durable_ceiling(
    capsys: pytest.CaptureFixture[str],
) -> None:
    search = Row("W2", 30.0, 90.0, 15.0, "ms", False, 5, durable_write_ms=None)
    assert search.ratio == pytest.approx(3.0)
    assert search.durable_ceiling is None
    assert log_batch_row(durable_write_ms=None).durable_ceiling is None
    print_table([log_batch_row(25.0), search], 2.0, 1.5, "mysql")
    lines = capsys.readouterr().out.splitlines()
    assert lines[3].split()[-5:-3] == ["2.50", "2.00"] and lines[4].split()[-5:-3] == ["-", "-"]
    assert "p50 25.00 ms" in lines[5] and "no-op gRPC call p50 12.50 ms" in lines[5]
