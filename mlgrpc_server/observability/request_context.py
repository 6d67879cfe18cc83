"""The call being served: its request id and, for scoring, the model that answered.

gRPC's sync server runs every RPC (interceptors, handler, response iterator) inside a fresh
`contextvars.Context`, and grpc.aio runs each in its own task, so a value set here at the start
of a call is seen by everything the call does, log records included, and by nobody else. It is
never reset: the context dies with the call.
"""

from __future__ import annotations

import os
from contextvars import ContextVar

#: The metadata key a client may send and the server always answers with.
REQUEST_ID_KEY = "x-request-id"
#: Longer client-sent ids are cut: the id goes into every log line of the call.
MAX_REQUEST_ID_CHARS = 128


class CallRecord:
    """What the observability interceptor learns about one call while it runs."""

    __slots__ = ("request_id", "model_name", "model_version")

    def __init__(self, request_id: str) -> None:
        self.request_id = request_id
        self.model_name: str | None = None
        self.model_version: str | None = None


_current_call: ContextVar[CallRecord | None] = ContextVar("mlgrpc_current_call", default=None)


def new_request_id() -> str:
    """16 random hex digits: unique enough across processes, ~0.3 µs (uuid4 is ~5 times that)."""
    return os.urandom(8).hex()


def request_id_from_metadata(metadata: object) -> str | None:
    """The client's `x-request-id`, if it sent one (gRPC lower-cases metadata keys)."""
    if not metadata:
        return None
    for key, value in metadata:  # type: ignore[attr-defined]
        if key == REQUEST_ID_KEY and value:
            text = value if isinstance(value, str) else value.decode("ascii", "replace")
            return text[:MAX_REQUEST_ID_CHARS]
    return None


def begin_call(request_id: str) -> CallRecord:
    """Make `request_id` the current call's id; the record the handler may add to."""
    record = CallRecord(request_id)
    _current_call.set(record)
    return record


def current_call() -> CallRecord | None:
    return _current_call.get()


def current_request_id() -> str | None:
    """The request id of the call being served, None outside a call."""
    record = _current_call.get()
    return None if record is None else record.request_id


def note_model(name: str, version: str) -> None:
    """Tell the metrics which model answers this call (scoring's Predict and ModelInfer)."""
    record = _current_call.get()
    if record is not None:
        record.model_name = name
        record.model_version = version
