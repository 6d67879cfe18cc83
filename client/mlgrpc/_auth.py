"""Bearer tokens on every call: `authorization: Bearer <token>` metadata added by an interceptor.

The token is, in order: the one given to a client (`MlgrpcClient(token=…)`), the one set by
`mlgrpc.set_token`, or the environment variable MLGRPC_TOKEN. It is read at each call, so
setting it after a client or channel exists works. No token: no metadata (servers without
`--auth` need none).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, NamedTuple

import grpc

TOKEN_ENV = "MLGRPC_TOKEN"

_token: str | None = None


def set_token(token: str | None) -> None:
    """Send `token` on every call of this process (None: back to MLGRPC_TOKEN)."""
    global _token
    if token is not None and (not token.strip() or any(c in token for c in "\r\n")):
        raise ValueError("a token is a non-empty single line, as `mlgrpc tokens create` prints")
    _token = token.strip() if token else None


def get_token() -> str | None:
    """The token set by `set_token`, else MLGRPC_TOKEN, else None."""
    if _token is not None:
        return _token
    return os.environ.get(TOKEN_ENV, "").strip() or None


class _CallDetails(NamedTuple):
    method: str
    timeout: float | None
    metadata: Any
    credentials: grpc.CallCredentials | None
    wait_for_ready: bool | None
    compression: Any


class BearerTokenInterceptor(
    grpc.UnaryUnaryClientInterceptor,
    grpc.UnaryStreamClientInterceptor,
    grpc.StreamUnaryClientInterceptor,
    grpc.StreamStreamClientInterceptor,
):
    """Adds the bearer token to every call; `token` None: whatever `get_token()` says then."""

    def __init__(self, token: str | None = None) -> None:
        self._token = token

    def _with_token(self, details: grpc.ClientCallDetails) -> grpc.ClientCallDetails:
        metadata = token_metadata(details.metadata, self._token)
        if metadata is details.metadata:
            return details
        return _CallDetails(  # type: ignore[return-value]
            details.method,
            details.timeout,
            metadata,
            details.credentials,
            getattr(details, "wait_for_ready", None),
            getattr(details, "compression", None),
        )

    def intercept_unary_unary(
        self, continuation: Callable[..., Any], details: Any, request: Any
    ) -> Any:
        return continuation(self._with_token(details), request)

    def intercept_unary_stream(
        self, continuation: Callable[..., Any], details: Any, request: Any
    ) -> Any:
        return continuation(self._with_token(details), request)

    def intercept_stream_unary(
        self, continuation: Callable[..., Any], details: Any, requests: Any
    ) -> Any:
        return continuation(self._with_token(details), requests)

    def intercept_stream_stream(
        self, continuation: Callable[..., Any], details: Any, requests: Any
    ) -> Any:
        return continuation(self._with_token(details), requests)


def token_metadata(metadata: Any, token: str | None = None) -> Any:
    """`metadata` with the bearer token added (`token` None: `get_token()`), or `metadata` itself
    when there is no token or it already carries one (an outer interceptor's, a caller's own)."""
    token = token or get_token()
    if not token or any(key == "authorization" for key, _ in metadata or ()):
        return metadata
    return [*(metadata or ()), ("authorization", f"Bearer {token}")]


def with_bearer_token(channel: grpc.Channel, token: str | None = None) -> grpc.Channel:
    """`channel` sending the token on every call (`token` None: `get_token()` at each call)."""
    return grpc.intercept_channel(channel, BearerTokenInterceptor(token))


def with_client_token(channel: grpc.Channel, token: str | None) -> grpc.Channel:
    """`channel` as is without `token` (it already sends the process's), else with `token`."""
    return with_bearer_token(channel, token) if token else channel
