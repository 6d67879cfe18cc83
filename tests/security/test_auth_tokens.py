"""Tokens in the database (hashed, revocable, expiring), the `mlgrpc tokens` CLI, and the
permission tables covering every RPC."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator

import pytest
from auth_helpers import issue_token

from mlgrpc_server.auth.store import TokenStore
from mlgrpc_server.errors import AlreadyExists, NotFound, Unauthenticated


@pytest.fixture(scope="module")
def store(db_uri: str) -> Iterator[TokenStore]:
    from mlgrpc_server.db import create_db_engine
    from mlgrpc_server.schema import ensure_schema

    engine = create_db_engine(db_uri, pool_size=2)
    ensure_schema(engine)
    yield TokenStore(engine, cache_seconds=0)
    engine.dispose()


def test_only_the_hash_of_a_secret_is_stored(store: TokenStore) -> None:
    import sqlalchemy as sa

    from mlgrpc_server.auth.tokens import Role, hash_secret

    secret, info = store.create_token("hash-check", Role.READ)
    with store.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT * FROM auth_tokens WHERE name = 'hash-check'")).all()
    assert len(rows) == 1
    assert secret not in repr(rows)
    assert rows[0].secret_sha256 == hash_secret(secret)
    assert store.authenticate(secret).name == "hash-check"
    assert info.role is Role.READ


def test_duplicate_token_name_is_already_exists(store: TokenStore) -> None:
    from mlgrpc_server.auth.tokens import Role

    store.create_token("twice", Role.READ)
    with pytest.raises(AlreadyExists):
        store.create_token("twice", Role.WRITE)


@pytest.mark.parametrize(
    "secret, wording",
    [
        ("", "malformed"),
        ("not-a-token", "malformed"),
        ("mlgrpc_" + "A" * 43, "unknown token"),
    ],
)
def test_unusable_secret_is_unauthenticated_without_echoing_it(
    store, secret: str, wording: str
) -> None:
    with pytest.raises(Unauthenticated) as caught:
        store.authenticate(secret)
    assert wording in caught.value.message
    assert not secret or secret not in caught.value.message


def test_revoked_and_expired_tokens_are_unauthenticated(store: TokenStore) -> None:
    from mlgrpc_server.auth.store import now_ms
    from mlgrpc_server.auth.tokens import Role

    revoked, _ = store.create_token("soon-revoked", Role.WRITE)
    store.revoke("soon-revoked")
    with pytest.raises(Unauthenticated, match="revoked"):
        store.authenticate(revoked)
    expired, _ = store.create_token("expired", Role.WRITE, expires_at=now_ms() - 1)
    with pytest.raises(Unauthenticated, match="expired"):
        store.authenticate(expired)
    with pytest.raises(NotFound):
        store.revoke("no-such-token")


def test_revocation_is_seen_once_the_cache_period_is_over(db_uri: str) -> None:
    from mlgrpc_server.auth.store import TokenStore
    from mlgrpc_server.db import create_db_engine

    secret = issue_token(db_uri, "read", name="cached-then-revoked")
    engine = create_db_engine(db_uri, pool_size=1)
    cached = TokenStore(engine, cache_seconds=0.3)
    try:
        assert cached.authenticate(secret).name == "cached-then-revoked"
        TokenStore(engine, cache_seconds=0).revoke("cached-then-revoked")
        time.sleep(0.4)
        with pytest.raises(Unauthenticated, match="revoked"):
            cached.authenticate(secret)
    finally:
        engine.dispose()


def test_cli_create_list_grant_revoke(db_uri: str, capsys: pytest.CaptureFixture[str]) -> None:
    from mlgrpc.cli.main import main

    base = ["tokens", "--backend-store-uri", db_uri]
    assert (
        main(
            [
                *base,
                "create",
                "--name",
                "cli-bot",
                "--role",
                "write",
                "--expires-days",
                "2",
                "--grant",
                "experiment:0=READ",
                "--grant",
                "model:wine=MANAGE",
            ]
        )  # fmt: skip
        == 0
    )
    secret = capsys.readouterr().out.strip()
    assert secret.startswith("mlgrpc_")
    assert main([*base, "grant", "cli-bot", "model:other=EDIT"]) == 0
    assert main([*base, "revoke-grant", "cli-bot", "model:wine"]) == 0
    capsys.readouterr()
    assert main([*base, "list", "--output", "json"]) == 0
    listed = capsys.readouterr().out
    assert secret not in listed
    token = next(t for t in json.loads(listed) if t["name"] == "cli-bot")
    assert token["role"] == "write" and token["state"] == "active" and token["expires"]
    assert token["grants"] == {"experiment:0": "READ", "model:other": "EDIT"}
    assert main([*base, "revoke", "cli-bot"]) == 0
    assert main([*base, "list"]) == 0
    table = capsys.readouterr().out
    assert "cli-bot" in table and "revoked" in table and secret not in table


def test_cli_refuses_a_bad_grant(db_uri: str, capsys: pytest.CaptureFixture[str]) -> None:
    from mlgrpc.cli.main import main

    status = main(["tokens", "--backend-store-uri", db_uri, "create", "--name", "bad-grant",
                   "--role", "read", "--grant", "experiment:abc=EDIT"])  # fmt: skip
    assert status == 1
    assert "experiment id is a number" in capsys.readouterr().err


def test_every_rpc_has_a_permission_rule() -> None:
    from mlgrpc.inference import grpc_predict_v2_pb2
    from mlgrpc.registry.v1 import registry_service_pb2
    from mlgrpc.scoring.v1 import scoring_service_pb2
    from mlgrpc.tracking.v1 import tracking_service_pb2
    from mlgrpc_server.auth.rules import REGISTRY_RULES, TRACKING_RULES, scoring_rules

    def methods(module: object) -> set[str]:
        return {
            f"/{service.full_name}/{method.name}"
            for service in module.DESCRIPTOR.services_by_name.values()  # type: ignore[attr-defined]
            for method in service.methods
        }

    assert methods(tracking_service_pb2) == set(TRACKING_RULES)
    assert methods(registry_service_pb2) == set(REGISTRY_RULES)
    scoring = methods(scoring_service_pb2) | methods(grpc_predict_v2_pb2)
    assert scoring == set(scoring_rules(require_token=True))


@pytest.mark.parametrize("backend", ["sqlite", "mysql"])
def test_auth_migration_upgrades_and_downgrades(
    backend: str, new_database: Callable[[str], str]
) -> None:
    import sqlalchemy as sa
    from alembic import command

    from mlgrpc_server import schema
    from mlgrpc_server.db import create_db_engine

    auth_tables = {"auth_tokens", "auth_grants"}
    engine = create_db_engine(new_database(backend))
    try:
        schema.upgrade(engine, "0004_auth")
        assert auth_tables <= set(sa.inspect(engine).get_table_names())
        config = schema._config()
        with engine.connect() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "0003_idempotent_batches")
            connection.commit()
        tables = set(sa.inspect(engine).get_table_names())
        assert not auth_tables & tables and "runs" in tables
        schema.upgrade(engine, "0004_auth")
        assert auth_tables <= set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()
