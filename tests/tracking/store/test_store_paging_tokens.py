"""Page tokens: opaque, tamper-evident, bound to their query."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlgrpc_server.errors import InvalidArgument
from mlgrpc_server.paging import decode_token, encode_token, query_fingerprint


def test_token_round_trips_sort_values() -> None:
    fingerprint = query_fingerprint("runs", [1], "", [], "ACTIVE_ONLY")
    values = [0, 1.7976931348623157e308, "run-id", None, -3]
    assert decode_token(encode_token(fingerprint, values), fingerprint, 5) == values


def test_token_of_another_query_is_invalid() -> None:
    token = encode_token(query_fingerprint("a"), [1])
    with pytest.raises(InvalidArgument, match="another query"):
        decode_token(token, query_fingerprint("b"), 1)


def test_token_is_not_plain_offset_json() -> None:
    token = encode_token(query_fingerprint("a"), [1000])
    assert "offset" not in token and "1000" not in token


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80))
def test_garbage_token_is_invalid_argument(token: str) -> None:
    with pytest.raises(InvalidArgument):
        decode_token(token, query_fingerprint("a"), 1)
