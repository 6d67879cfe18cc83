"""Tokens and grants in the shared database, and the cached lookup every authenticated call does.

A token found in the database is remembered for `cache_seconds` (default 5, env
`MLGRPC_AUTH_CACHE_SECONDS`) per process, unknown ones too: revoking a token, or changing its
grants, takes effect everywhere within that time, and a busy service reads each token's row at
most once per period. Expiry is checked on every call against the cached expiry time.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy import Engine, delete, select, update
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session

from mlgrpc_server.auth.models import GrantRow, TokenRow
from mlgrpc_server.auth.tokens import (
    REGISTERED_MODEL,
    Permission,
    Principal,
    Resource,
    Role,
    hash_secret,
    is_well_formed,
    new_secret,
)
from mlgrpc_server.db import make_session_factory, transaction
from mlgrpc_server.errors import AlreadyExists, NotFound, Unauthenticated

logger = logging.getLogger(__name__)

DEFAULT_CACHE_SECONDS = 5.0
#: Bound on cached tokens (and run → experiment ids): a flood of random tokens cannot grow memory.
_MAX_CACHED = 10_000
#: `last_used_at` is written at most this often per token and process.
_LAST_USED_EVERY_MS = 60_000

#: The two columns of the tracking service's `runs` table (migration 0001) that auth reads; the
#: shared package imports no service, so not the tracking ORM model.
_RUNS = sa.table("runs", sa.column("run_uuid", sa.String), sa.column("experiment_id", sa.Integer))
_LOGGED_MODELS = sa.table(
    "logged_models", sa.column("model_id", sa.String), sa.column("experiment_id", sa.Integer)
)


def cache_seconds_from_env() -> float:
    raw = os.environ.get("MLGRPC_AUTH_CACHE_SECONDS", "")
    try:
        return float(raw) if raw else DEFAULT_CACHE_SECONDS
    except ValueError:
        raise ValueError(f"MLGRPC_AUTH_CACHE_SECONDS={raw!r} is not a number of seconds") from None


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass(frozen=True)
class TokenInfo:
    """A token as `mlgrpc tokens list` shows it (no secret, no hash)."""

    id: int
    name: str
    role: Role
    created_at: int
    expires_at: int | None
    revoked_at: int | None
    last_used_at: int | None
    grants: dict[Resource, Permission] = field(default_factory=dict)


@dataclass(frozen=True)
class _CacheEntry:
    fresh_until: float  # time.monotonic()
    principal: Principal | None
    error: str = ""
    expires_at: int | None = None


class TokenStore:
    """Token management (the CLI) and token lookup (the interceptor) on one engine."""

    def __init__(self, engine: Engine, *, cache_seconds: float | None = None) -> None:
        self.engine = engine
        self._sessions = make_session_factory(engine)
        self.cache_seconds = cache_seconds_from_env() if cache_seconds is None else cache_seconds
        self._cache: dict[str, _CacheEntry] = {}
        self._run_experiments: dict[str, str] = {}
        self._last_used_written: dict[int, int] = {}
        self._lock = threading.Lock()

    # ---- lookup (every call) --------------------------------------------------------------------

    def authenticate(self, secret: str) -> Principal:
        """The principal of a token secret; Unauthenticated (never echoing it) if unusable."""
        if not is_well_formed(secret):
            raise Unauthenticated(
                "the token is malformed: expected 'authorization: Bearer mlgrpc_…' "
                "as printed by `mlgrpc tokens create`"
            )
        key = hash_secret(secret)
        entry = self._cache.get(key)
        if entry is None or entry.fresh_until < time.monotonic():
            entry = self._load(key)
        if entry.principal is None:
            raise Unauthenticated(entry.error)
        if entry.expires_at is not None and now_ms() >= entry.expires_at:
            raise Unauthenticated(
                f"token {entry.principal.name!r} has expired; ask an admin for a new one"
            )
        return entry.principal

    def _load(self, key: str) -> _CacheEntry:
        fresh_until = time.monotonic() + self.cache_seconds
        with self._sessions() as session:
            row = session.scalars(select(TokenRow).where(TokenRow.secret_sha256 == key)).first()
            grants = (
                session.scalars(select(GrantRow).where(GrantRow.token_id == row.id)).all()
                if row is not None
                else []
            )
        if row is None:
            entry = _CacheEntry(fresh_until, None, "unknown token: it was never issued here")
        elif row.revoked_at is not None:
            entry = _CacheEntry(fresh_until, None, f"token {row.name!r} has been revoked")
        else:
            principal = Principal(
                token_id=row.id,
                name=row.name,
                role=Role(row.role),
                grants={
                    Resource(g.resource_type, g.resource_id): Permission[g.permission]
                    for g in grants
                },
            )
            entry = _CacheEntry(fresh_until, principal, expires_at=row.expires_at)
            self._touch(row.id, row.last_used_at)
        if len(self._cache) >= _MAX_CACHED:
            self._cache.clear()
        self._cache[key] = entry
        return entry

    def _touch(self, token_id: int, last_used_at: int | None) -> None:
        """Record use, at most once a minute per token and process; best effort."""
        now = now_ms()
        last = max(last_used_at or 0, self._last_used_written.get(token_id, 0))
        if now - last < _LAST_USED_EVERY_MS:
            return
        self._last_used_written[token_id] = now
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    update(TokenRow).where(TokenRow.id == token_id).values(last_used_at=now)
                )
        except sa_exc.DBAPIError as error:  # a read-only account, a locked SQLite file…
            logger.debug("could not record the use of token %d: %s", token_id, error.orig)

    def forget(self, token_id: int) -> None:
        """Drop a token's cached lookup so that this process sees a change at once."""
        with self._lock:
            for key, entry in list(self._cache.items()):
                if entry.principal is not None and entry.principal.token_id == token_id:
                    self._cache.pop(key, None)

    def experiment_of_logged_model(self, model_id: str) -> str | None:
        """The id of the LoggedModel's experiment (None: no such model); models never move."""
        with self.engine.connect() as conn:
            found = conn.execute(
                select(_LOGGED_MODELS.c.experiment_id).where(_LOGGED_MODELS.c.model_id == model_id)
            ).scalar()
        return None if found is None else str(found)

    def experiment_of_run(self, run_id: str) -> str | None:
        """The id of the run's experiment (None: no such run); cached, runs never move."""
        cached = self._run_experiments.get(run_id)
        if cached is not None:
            return cached
        with self.engine.connect() as conn:
            found = conn.execute(
                select(_RUNS.c.experiment_id).where(_RUNS.c.run_uuid == run_id)
            ).scalar()
        if found is None:
            return None
        if len(self._run_experiments) >= _MAX_CACHED:
            self._run_experiments.clear()
        self._run_experiments[run_id] = str(found)
        return str(found)

    # ---- management (the CLI, and the interceptor's follow-ups) --------------------------------

    def create_token(
        self,
        name: str,
        role: Role,
        *,
        expires_at: int | None = None,
        grants: dict[Resource, Permission] | None = None,
    ) -> tuple[str, TokenInfo]:
        """A new token: (its secret, shown once and never stored; its description)."""
        if not name or len(name) > 128:
            raise ValueError("a token name has 1 to 128 characters")
        secret = new_secret()
        created = now_ms()
        try:
            with transaction(self._sessions) as session:
                row = TokenRow(
                    name=name,
                    secret_sha256=hash_secret(secret),
                    role=role.value,
                    created_at=created,
                    expires_at=expires_at,
                )
                session.add(row)
                session.flush()
                for resource, permission in (grants or {}).items():
                    session.add(_grant_row(row.id, resource, permission))
                token_id = row.id
        except sa_exc.IntegrityError:
            raise AlreadyExists(f"a token named {name!r} already exists", field="name") from None
        info = TokenInfo(token_id, name, role, created, expires_at, None, None, dict(grants or {}))
        return secret, info

    def list_tokens(self) -> list[TokenInfo]:
        with self._sessions() as session:
            rows = session.scalars(select(TokenRow).order_by(TokenRow.id)).all()
            grants = session.scalars(select(GrantRow)).all()
        by_token: dict[int, dict[Resource, Permission]] = {}
        for g in grants:
            by_token.setdefault(g.token_id, {})[Resource(g.resource_type, g.resource_id)] = (
                Permission[g.permission]
            )
        return [
            TokenInfo(
                r.id,
                r.name,
                Role(r.role),
                r.created_at,
                r.expires_at,
                r.revoked_at,
                r.last_used_at,
                by_token.get(r.id, {}),
            )
            for r in rows
        ]

    def revoke(self, name: str) -> TokenInfo:
        """Revoke the token called `name` (idempotent: the first revocation time is kept)."""
        with transaction(self._sessions) as session:
            row = self._token_named(session, name)
            if row.revoked_at is None:
                row.revoked_at = now_ms()
            token_id = row.id
        self.forget(token_id)
        return next(t for t in self.list_tokens() if t.id == token_id)

    def set_grant(self, name: str, resource: Resource, permission: Permission) -> None:
        with transaction(self._sessions) as session:
            row = self._token_named(session, name)
            session.merge(_grant_row(row.id, resource, permission))
            token_id = row.id
        self.forget(token_id)

    def remove_grant(self, name: str, resource: Resource) -> bool:
        """Remove a grant; whether there was one."""
        with transaction(self._sessions) as session:
            row = self._token_named(session, name)
            removed = session.execute(
                delete(GrantRow).where(
                    GrantRow.token_id == row.id,
                    GrantRow.resource_type == resource.type,
                    GrantRow.resource_id == resource.id,
                )
            ).rowcount
            token_id = row.id
        self.forget(token_id)
        return bool(removed)

    def grant_creator(self, principal: Principal, resource: Resource) -> None:
        """The token that created `resource` may manage it (MLflow's auth app does the same)."""
        if principal.role is Role.ADMIN:
            return
        with transaction(self._sessions) as session:
            session.merge(_grant_row(principal.token_id, resource, Permission.MANAGE))
        self.forget(principal.token_id)

    def rename_model_grants(self, old_name: str, new_name: str) -> None:
        """Grants follow a registered model to its new name."""
        with self.engine.begin() as conn:
            conn.execute(
                update(GrantRow)
                .where(GrantRow.resource_type == REGISTERED_MODEL, GrantRow.resource_id == old_name)
                .values(resource_id=new_name)
            )
        self._cache.clear()

    def drop_model_grants(self, name: str) -> None:
        """A deleted registered model's grants go with it: a new model of that name starts clean."""
        with self.engine.begin() as conn:
            conn.execute(
                delete(GrantRow).where(
                    GrantRow.resource_type == REGISTERED_MODEL, GrantRow.resource_id == name
                )
            )
        self._cache.clear()

    @staticmethod
    def _token_named(session: Session, name: str) -> TokenRow:
        row = session.scalars(select(TokenRow).where(TokenRow.name == name)).first()
        if row is None:
            raise NotFound(f"no token is named {name!r}", field="name")
        return row


def _grant_row(token_id: int, resource: Resource, permission: Permission) -> GrantRow:
    return GrantRow(
        token_id=token_id,
        resource_type=resource.type,
        resource_id=resource.id,
        permission=permission.name,
    )
