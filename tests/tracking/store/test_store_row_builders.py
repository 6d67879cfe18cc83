"""The fast builders of domain objects give objects equal to the constructors' ones."""

from __future__ import annotations

from tracking_service.domain import Metric, RunInfo
from tracking_service.store.portable.base import make_metric, run_info_of


def test_make_metric_equals_the_constructed_metric() -> None:
    built = make_metric("loss", 0.5, 10, 2)
    assert built == Metric("loss", 0.5, 10, 2)
    assert hash(built) == hash(Metric("loss", 0.5, 10, 2))
    assert repr(built) == repr(Metric("loss", 0.5, 10, 2))


def test_run_info_of_a_row_equals_the_constructed_info() -> None:
    row = ("a" * 32, 7, "name", "user", "RUNNING", 1, None, "file:///x", "active", "extra")
    assert run_info_of(row) == RunInfo("a" * 32, "7", "name", "user", "RUNNING", 1, None,
                                       "file:///x", "active")  # fmt: skip
