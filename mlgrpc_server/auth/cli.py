"""`mlgrpc tokens create|list|revoke|grant|revoke-grant`: manage access tokens in the database.

These work on the shared database directly (`--backend-store-uri`, env MLGRPC_BACKEND_STORE_URI),
not through a service: whoever can write that database administers the tokens. `create` prints
the secret once; nothing can show it again (only its sha256 is stored).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from typing import Any

from mlgrpc_server.db import DEFAULT_SQLITE_URI

_DAY_MS = 86_400_000


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mlgrpc tokens", description="Manage the access tokens of the mlgrpc services."
    )
    parser.add_argument(
        "--backend-store-uri",
        default=os.environ.get("MLGRPC_BACKEND_STORE_URI", DEFAULT_SQLITE_URI),
        help="SQLAlchemy URI of the shared database (env MLGRPC_BACKEND_STORE_URI; "
        "default %(default)s)",
    )
    sub = parser.add_subparsers(dest="action", required=True)
    create = sub.add_parser("create", help="issue a token and print its secret once")
    create.add_argument("--name", required=True, help="who or what the token is for (unique)")
    create.add_argument("--role", required=True, choices=("read", "write", "admin"))
    create.add_argument(
        "--expires-days", type=float, help="valid for this many days (default: no expiry)"
    )
    create.add_argument(
        "--grant",
        action="append",
        default=[],
        metavar="experiment:ID=PERM|model:NAME=PERM",
        help="a per-resource permission (READ, EDIT or MANAGE); repeatable",
    )
    listing = sub.add_parser("list", help="list tokens and their grants (never secrets)")
    listing.add_argument("--output", "-O", choices=("table", "json"), default="table")
    revoke = sub.add_parser("revoke", help="revoke a token (services refuse it within seconds)")
    revoke.add_argument("name")
    grant = sub.add_parser("grant", help="set a token's permission on one resource")
    grant.add_argument("name")
    grant.add_argument("grant", metavar="experiment:ID=PERM|model:NAME=PERM")
    ungrant = sub.add_parser("revoke-grant", help="remove a token's grant on one resource")
    ungrant.add_argument("name")
    ungrant.add_argument("resource", metavar="experiment:ID|model:NAME")
    return parser


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    # Imported after parsing so that --help answers without loading SQLAlchemy.
    from mlgrpc_server.auth.store import TokenStore
    from mlgrpc_server.db import UnsupportedDatabase, create_db_engine
    from mlgrpc_server.errors import ServiceError
    from mlgrpc_server.schema import SchemaMismatch, ensure_schema

    try:
        engine = create_db_engine(args.backend_store_uri, pool_size=1)
    except UnsupportedDatabase as error:
        print(f"mlgrpc tokens: {error}", file=sys.stderr)
        return 2
    try:
        ensure_schema(engine)
        return _run(args, TokenStore(engine, cache_seconds=0))
    except SchemaMismatch as error:
        print(f"mlgrpc tokens: {error}", file=sys.stderr)
        return 2
    except (ServiceError, ValueError) as error:
        print(f"mlgrpc tokens: {error}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()


def _run(args: argparse.Namespace, store: Any) -> int:
    from mlgrpc_server.auth.store import now_ms
    from mlgrpc_server.auth.tokens import Role, parse_grant, parse_resource

    if args.action == "create":
        grants = dict(parse_grant(text) for text in args.grant)
        expires = None
        if args.expires_days is not None:
            if args.expires_days <= 0:
                raise ValueError("--expires-days must be positive")
            expires = now_ms() + int(args.expires_days * _DAY_MS)
        secret, info = store.create_token(
            args.name, Role.parse(args.role), expires_at=expires, grants=grants
        )
        print(secret)
        print(
            f"token {info.name!r} (role {info.role.value}) created; the line above is its "
            "secret, shown only now: keep it safe (e.g. export MLGRPC_TOKEN=…)",
            file=sys.stderr,
        )
        return 0
    if args.action == "list":
        tokens = [_as_dict(t, now_ms()) for t in store.list_tokens()]
        if args.output == "json":
            print(json.dumps(tokens, indent=2))
        else:
            _print_table(tokens)
        return 0
    if args.action == "revoke":
        info = store.revoke(args.name)
        print(f"token {info.name!r} revoked; services refuse it within {store_cache_note()}")
        return 0
    if args.action == "grant":
        resource, permission = parse_grant(args.grant)
        store.set_grant(args.name, resource, permission)
        print(f"token {args.name!r}: {permission.name} on {resource}")
        return 0
    resource = parse_resource(args.resource)
    removed = store.remove_grant(args.name, resource)
    print(f"token {args.name!r}: " + (f"grant on {resource} removed" if removed else "no grant"))
    return 0


def store_cache_note() -> str:
    from mlgrpc_server.auth.store import cache_seconds_from_env

    return f"{cache_seconds_from_env():g} s (MLGRPC_AUTH_CACHE_SECONDS of the services)"


def _time(ms: int | None) -> str:
    if ms is None:
        return ""
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def _as_dict(info: Any, now: int) -> dict[str, Any]:
    if info.revoked_at is not None:
        state = "revoked"
    elif info.expires_at is not None and info.expires_at <= now:
        state = "expired"
    else:
        state = "active"
    return {
        "id": info.id,
        "name": info.name,
        "role": info.role.value,
        "state": state,
        "created": _time(info.created_at),
        "expires": _time(info.expires_at),
        "revoked": _time(info.revoked_at),
        "last_used": _time(info.last_used_at),
        "grants": {
            f"{'model' if r.type == 'registered_model' else r.type}:{r.id}": p.name
            for r, p in sorted(info.grants.items(), key=lambda item: (item[0].type, item[0].id))
        },
    }


def _print_table(tokens: list[dict[str, Any]]) -> None:
    columns = ("id", "name", "role", "state", "created", "expires", "last_used", "grants")
    rows = [
        [
            " ".join(f"{k}={v}" for k, v in t[c].items()) if c == "grants" else str(t[c])
            for c in columns
        ]
        for t in tokens
    ]
    widths = [max([len(c), *(len(r[i]) for r in rows)]) for i, c in enumerate(columns)]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip())
    for row in rows:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())
