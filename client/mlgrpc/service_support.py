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
"""

from __future__ import annotations

from mlgrpc._auth import with_bearer_token
from mlgrpc.artifacts import file_sha256
from mlgrpc.error_reasons import REGISTRY_DOMAIN, SCORING_DOMAIN, TRACKING_DOMAIN

__all__ = [
    "REGISTRY_DOMAIN",
    "SCORING_DOMAIN",
    "TRACKING_DOMAIN",
    "file_sha256",
    "with_bearer_token",
]
