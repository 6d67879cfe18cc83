"""Min/max-bucket downsampling of a metric's history, so that a chart of 100,000 points sends
and draws a few thousand while every spike stays visible (an average would hide outliers)."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Series:
    """Points of one metric ordered by step, then timestamp; a value that is not finite is
    None (a gap in the chart: JSON has no NaN)."""

    steps: list[int]
    timestamps: list[int]
    values: list[float | None]

    def __len__(self) -> int:
        return len(self.steps)


def within_steps(series: Series, min_step: int | None, max_step: int | None) -> Series:
    """The points whose step lies in [min_step, max_step] (an open end when None)."""
    if min_step is None and max_step is None:
        return series
    low = -math.inf if min_step is None else min_step
    high = math.inf if max_step is None else max_step
    keep = [i for i, step in enumerate(series.steps) if low <= step <= high]
    return _select(series, keep)


def min_max_buckets(series: Series, points: int) -> Series:
    """At most about `points` points: the points are cut into `points // 2` buckets of equal
    count, and each bucket keeps its lowest and its highest value, in their own order."""
    if len(series) <= points or points < 2:
        return series
    buckets = points // 2
    size = len(series) / buckets
    keep: list[int] = []
    for bucket in range(buckets):
        start, end = int(bucket * size), int((bucket + 1) * size)
        finite = [i for i in range(start, end) if series.values[i] is not None]
        if not finite:
            keep.append(start)  # a gap stays a gap
            continue
        low = min(finite, key=lambda i: series.values[i])  # type: ignore[arg-type,return-value]
        high = max(finite, key=lambda i: series.values[i])  # type: ignore[arg-type,return-value]
        keep.extend(sorted({low, high}))
    return _select(series, keep)


def _select(series: Series, indexes: list[int]) -> Series:
    return Series(
        [series.steps[i] for i in indexes],
        [series.timestamps[i] for i in indexes],
        [series.values[i] for i in indexes],
    )


def finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None
