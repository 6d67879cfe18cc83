"""The one check of a metric's step, wherever a step enters the client.

A step is an int64 on the wire. MLflow only asks for "a number" and then lets the store cast it,
so `step=1.5` is stored as step 1 and two different points collide. We refuse what would be
changed by the cast, and accept every value the cast keeps exactly:
- `int` and any `numbers.Integral` (numpy integers too): taken as they are;
- a float (or other real) with an integral value, such as `2.0` or `np.float64(3)`: steps computed
  by division or read from a float column are common and lose nothing as int;
- a non-integral, NaN or infinite real: ValueError (the value is of the right kind, wrong value);
- `bool`, strings and anything else that is not a real number: TypeError (`step=True` is a slip,
  and `"1"` is refused by MLflow too);
- a value outside int64: ValueError, rather than an error from protobuf that names no metric.
`None` means "not given" and is step 0, as in MLflow.
"""

from __future__ import annotations

import math
import numbers

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1


def checked_step(step: object, key: str | None = None) -> int:
    """`step` as the int64 the service stores, or TypeError/ValueError naming the metric."""
    # The common case first: this runs once per logged value, also on the async hot path
    # (literal bounds: folded into constants, where the names would be global lookups).
    if type(step) is int and -(2**63) <= step < 2**63:
        return step
    if step is None:
        return 0
    return _convert(step, key)


def _convert(step: object, key: str | None) -> int:
    of_metric = f" of metric {key!r}" if key is not None else ""
    if isinstance(step, bool) or not isinstance(step, numbers.Real):
        raise TypeError(f"step{of_metric} must be an integer, got {type(step).__name__} {step!r}")
    if isinstance(step, numbers.Integral):
        value = int(step)
    else:
        as_float = float(step)
        if not math.isfinite(as_float) or not as_float.is_integer():
            raise ValueError(
                f"step{of_metric} must be an integer, got {step!r}; "
                "a fractional step would be stored truncated"
            )
        value = int(as_float)
    if not INT64_MIN <= value <= INT64_MAX:
        raise ValueError(f"step{of_metric} must fit in a signed 64-bit integer, got {value}")
    return value
