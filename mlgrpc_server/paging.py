"""Opaque keyset page tokens (AIP-158), and the SQL predicate "after this row", for every
service that pages a listing (tracking and registry).

A token carries the sort values of the last row of a page (the run id last, so it is unique)
and a fingerprint of the query it belongs to. It is compact JSON behind a keyed hash, base64url
encoded: a token edited by hand or taken from another query is INVALID_ARGUMENT, never a silent
jump to some other place. The key comes from `MLGRPC_PAGE_TOKEN_SECRET` (set the same value on
every replica); tokens only need to survive between the pages of one listing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_

from mlgrpc_server.errors import InvalidArgument

_SECRET = os.environ.get("MLGRPC_PAGE_TOKEN_SECRET", "mlgrpc page token v1").encode()
_MAC_BYTES = 12

JsonScalar = str | int | float | None


def query_fingerprint(*parts: object) -> str:
    """A short digest of everything that defines a listing (but not the page size)."""
    text = json.dumps(parts, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def encode_token(fingerprint: str, values: Sequence[JsonScalar]) -> str:
    payload = json.dumps([fingerprint, list(values)], separators=(",", ":")).encode()
    mac = hmac.new(_SECRET, payload, hashlib.sha256).digest()[:_MAC_BYTES]
    return base64.urlsafe_b64encode(mac + payload).decode().rstrip("=")


def decode_token(token: str, fingerprint: str, arity: int) -> list[Any]:
    """The sort values in `token`, after checking it is ours and belongs to this query."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        raw = b""
    mac, payload = raw[:_MAC_BYTES], raw[_MAC_BYTES:]
    expected = hmac.new(_SECRET, payload, hashlib.sha256).digest()[:_MAC_BYTES]
    if not payload or not hmac.compare_digest(mac, expected):
        raise InvalidArgument(
            "page_token is not a token this service issued; pass the next_page_token of the "
            "previous page unchanged",
            field="page_token",
        )
    owner, values = json.loads(payload)
    if owner != fingerprint or not isinstance(values, list) or len(values) != arity:
        raise InvalidArgument(
            "page_token belongs to another query; repeat the query with the same filter, order "
            "and scope as the page it came from",
            field="page_token",
        )
    return values


def after_row(
    columns: Sequence[Any], descending: Sequence[bool], values: Sequence[Any]
) -> ColumnElement[bool]:
    """Rows strictly after `values` in the order (column₁ dir₁, column₂ dir₂, …).

    Written as `c1 > v1 OR (c1 = v1 AND (c2 > v2 OR …))` rather than a row-value comparison
    because directions may differ per column; the columns must be NOT NULL expressions.
    """
    clause: ColumnElement[bool] = false()
    for column, desc, value in reversed(list(zip(columns, descending, values, strict=True))):
        beyond = column < value if desc else column > value
        clause = or_(beyond, and_(column == value, clause))
    return clause


def page_size(max_results: int, *, default: int, maximum: int) -> int:
    """`max_results` of a request as a page size: 0 means `default`; outside 0..maximum is
    INVALID_ARGUMENT."""
    if max_results < 0 or max_results > maximum:
        raise InvalidArgument(
            f"max_results must be between 1 and {maximum} (0 means {default}), got {max_results}",
            field="max_results",
        )
    return max_results or default
