"""JSON bodies of the HTTP port: orjson where it can, the standard library where it cannot.

orjson parses and writes a one-row body in a fraction of the standard library's time, which on
`/invocations` is a large share of a request. It refuses two things the standard library reads,
and clients do send: the `NaN`/`Infinity` tokens (Python's and MLflow's own JSON writers emit
them) and integers beyond 64 bits; a body it refuses is read again by `json.loads`, so either
both refuse it (a 400) or the slow path answers. Written non-finite floats become `null`
(valid JSON, which `NaN` is not).
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import orjson

from mlgrpc_server.errors import InvalidArgument

_WRITE_OPTIONS = orjson.OPT_SERIALIZE_NUMPY


def loads(body: bytes) -> Any:
    """The parsed body; InvalidArgument (field `body`) saying why it is not JSON."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        pass
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as exc:
        # ValueError covers JSONDecodeError and undecodable UTF-8; RecursionError deep nesting.
        why = "it nests too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise InvalidArgument(f"the body is not valid JSON: {why}", field="body") from None


def dumps(value: Any) -> bytes:
    return orjson.dumps(value, default=_other_value, option=_WRITE_OPTIONS)


def _other_value(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)  # timestamps and the like, as pandas' JSON writer would show them
