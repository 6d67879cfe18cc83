"""What the mlgrpc services use of the client package: the one public, documented door.

The services (`tracking_service`, `registry_service`, `scoring_service`, `gateway`,
`mlgrpc_server`) import the client's shared pieces from here, never from its private modules,
so that the client may reorganise its internals without breaking a server. Everything here is
part of `pip install mlgrpc` (no server dependency).

- `with_bearer_token(channel, token=None)`: a channel sending `authorization: Bearer …` on every
  call (a service calling another one with the operator's token).
- `TRACKING_DOMAIN`, `REGISTRY_DOMAIN`, `SCORING_DOMAIN`: the `google.rpc.ErrorInfo.domain` of
  each service's errors, which the client maps back to exceptions.
- `file_sha256(path)`: the hex SHA-256 of a file, as artifacts and cached models record it.
- `get_channel(uri, service, tls)`: the process's shared channel to a service (the client's
  limits, retries of idempotent calls, reconnects, TLS, token); `get_async_channel(…)` the same
  for calls awaited on the running event loop (one per loop; add `token_metadata(metadata)` to
  each call); `probe_channel(uri, tls)` a channel of its own for a one-off call (health checks);
  `TRACKING_SERVICE`, the tracking service's full name, as `get_channel` takes it.
- `call_unary(method, request, name=…)` / `call_server_stream(…)`: a stub method called with the
  client's deadline, its failures raised as `mlgrpc.exceptions`' typed errors.
"""

from __future__ import annotations

from mlgrpc._auth import token_metadata, with_bearer_token
from mlgrpc._channel import (
    TRACKING_SERVICE,
    call_server_stream,
    call_unary,
    get_async_channel,
    get_channel,
    probe_channel,
)
from mlgrpc.artifacts import file_sha256
from mlgrpc.error_reasons import REGISTRY_DOMAIN, SCORING_DOMAIN, TRACKING_DOMAIN

__all__ = [
    "REGISTRY_DOMAIN",
    "SCORING_DOMAIN",
    "TRACKING_DOMAIN",
    "TRACKING_SERVICE",
    "call_server_stream",
    "call_unary",
    "file_sha256",
    "get_async_channel",
    "get_channel",
    "probe_channel",
    "token_metadata",
    "with_bearer_token",
]
