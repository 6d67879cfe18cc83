"""What the auth tests share: issuing tokens straight into a database, and calling with one."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import grpc
import pytest

#: Servers of the auth tests forget cached tokens after this long (default 5 s).
TEST_CACHE_SECONDS = "0.2"


@contextmanager
def auth_tracking_server(db_uri: str, artifact_root: Path) -> Iterator[str]:
    """A tracking service with auth on (tokens cached `TEST_CACHE_SECONDS`); its address."""
    from tracking_service.server import create_server

    with pytest.MonkeyPatch.context() as env:
        env.setenv("MLGRPC_AUTH_CACHE_SECONDS", TEST_CACHE_SECONDS)
        running = create_server(
            backend_store_uri=db_uri, default_artifact_root=str(artifact_root), auth=True
        )
    try:
        yield f"127.0.0.1:{running.port}"
    finally:
        running.stop(grace=1)


def issue_token(
    db_uri: str,
    role: str,
    *,
    grants: dict[str, str] | None = None,
    expires_at: int | None = None,
    name: str | None = None,
) -> str:
    """A new token's secret; `grants` like {"experiment:3": "EDIT", "model:wine": "READ"}."""
    from mlgrpc_server.auth.store import TokenStore
    from mlgrpc_server.auth.tokens import Role, parse_grant
    from mlgrpc_server.db import create_db_engine
    from mlgrpc_server.schema import ensure_schema

    engine = create_db_engine(db_uri, pool_size=1)
    try:
        ensure_schema(engine)
        parsed = dict(parse_grant(f"{k}={v}") for k, v in (grants or {}).items())
        secret, _ = TokenStore(engine, cache_seconds=0).create_token(
            name or f"{role}-{uuid.uuid4().hex[:8]}",
            Role(role),
            expires_at=expires_at,
            grants=parsed,
        )
    finally:
        engine.dispose()
    return secret


def revoke_token(db_uri: str, name: str) -> None:
    from mlgrpc_server.auth.store import TokenStore
    from mlgrpc_server.db import create_db_engine

    engine = create_db_engine(db_uri, pool_size=1)
    try:
        TokenStore(engine, cache_seconds=0).revoke(name)
    finally:
        engine.dispose()


def bearer(token: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),)


def rpc_error(call: Callable[..., Any], *args: Any, **kwargs: Any) -> grpc.RpcError:
    """The RpcError a call raises (fails the test if it succeeds)."""
    with pytest.raises(grpc.RpcError) as caught:
        result = call(*args, **kwargs)
        if hasattr(result, "__iter__") and not hasattr(result, "SerializeToString"):
            list(result)  # a server stream fails when read
    return caught.value


@pytest.fixture
def fresh_client_state() -> Iterator[None]:
    """The fluent API's process-wide state (experiment, runs, token) reset around a test."""
    import mlgrpc
    from mlgrpc import fluent

    fluent._reset_state()
    yield
    while mlgrpc.active_run() is not None:
        mlgrpc.end_run()
    fluent._reset_state()
    mlgrpc.set_token(None)
