"""Token checks of the scoring service (`--auth`, `--require-token`), which has no database of
its own: the tokens are read from the shared one (`--auth-backend-store-uri`).

SQLAlchemy is imported only when auth is on, so that a plain scoring service starts as fast as
before.
"""

from __future__ import annotations

from collections.abc import Callable

import grpc

from mlgrpc_server.errors import FailedPrecondition
from scoring_service.config import ServeConfig


def _nothing() -> None:
    return None


def auth_interceptors(
    config: ServeConfig,
) -> tuple[list[grpc.ServerInterceptor], Callable[[], None]]:
    """(the interceptors to install, what releases their database) for `config`."""
    if not config.auth:
        return [], _nothing
    from sqlalchemy import exc as sa_exc
    from sqlalchemy import text

    from mlgrpc_server.auth.interceptor import AuthInterceptor
    from mlgrpc_server.auth.rules import scoring_rules
    from mlgrpc_server.auth.store import TokenStore
    from mlgrpc_server.db import create_db_engine

    if not config.auth_backend_store_uri:
        raise FailedPrecondition(
            "--auth needs the database holding the tokens: --auth-backend-store-uri "
            "(env MLGRPC_AUTH_BACKEND_STORE_URI)",
            field="auth_backend_store_uri",
        )
    engine = create_db_engine(config.auth_backend_store_uri, pool_size=4)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1 FROM auth_tokens WHERE 1 = 0"))
    except sa_exc.DBAPIError as error:
        engine.dispose()
        url = engine.url.render_as_string(hide_password=True)
        raise FailedPrecondition(
            f"cannot read tokens from {url} ({error.orig}); give the shared database, "
            "migrated by `mlgrpc db upgrade`",
            field="auth_backend_store_uri",
        ) from None
    rules = scoring_rules(require_token=config.require_token)
    return [AuthInterceptor(TokenStore(engine), rules)], engine.dispose
