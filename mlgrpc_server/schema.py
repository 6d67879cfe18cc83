"""Migrating the shared schema, and refusing to serve a database we do not understand."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect, text

from mlgrpc_server.db import create_db_engine

logger = logging.getLogger(__name__)


class SchemaMismatch(RuntimeError):
    """The database is at a revision this version of mlgrpc does not know, or an older one."""


def _config(uri: str = "") -> Config:
    config = Config()
    config.set_main_option("script_location", "mlgrpc_server:migrations")
    if uri:
        config.set_main_option("sqlalchemy.url", uri.replace("%", "%%"))
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None, "the migration history is empty"
    return head


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


#: The key of PostgreSQL's session advisory lock taken while migrating (any constant bigint).
_POSTGRESQL_MIGRATION_LOCK = 0x6D6C67727063  # "mlgrpc"


@contextmanager
def _migration_lock(connection: Connection) -> Iterator[None]:
    """Serialise migrations of several processes started at once against one database server:
    a named lock on MySQL, a session advisory lock on PostgreSQL (SQLite's BEGIN IMMEDIATE
    already serialises writers)."""
    name = connection.dialect.name
    if name == "mysql":
        take, release = (
            "SELECT GET_LOCK('mlgrpc_schema_migration', 60)",
            ("SELECT RELEASE_LOCK('mlgrpc_schema_migration')"),
        )
    elif name == "postgresql":
        take = f"SELECT pg_advisory_lock({_POSTGRESQL_MIGRATION_LOCK})"
        release = f"SELECT pg_advisory_unlock({_POSTGRESQL_MIGRATION_LOCK})"
    else:
        yield
        return
    connection.execute(text(take))
    # The lock is the session's: end the implicit transaction of the SELECT, not the lock.
    connection.commit()
    try:
        yield
    finally:
        connection.rollback()  # after a failed migration: PostgreSQL refuses more statements
        connection.execute(text(release))
        connection.commit()


def upgrade(engine_or_uri: Engine | str, revision: str = "head") -> None:
    """Migrate the database to `revision` (the newest by default): `mlgrpc db upgrade`."""
    engine = create_db_engine(engine_or_uri) if isinstance(engine_or_uri, str) else engine_or_uri
    config = _config()
    with engine.connect() as connection, _migration_lock(connection):
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
        connection.commit()


def ensure_schema(engine: Engine) -> None:
    """Migrate an empty database; accept one at our head; refuse anything else, clearly.

    A database not at our head is looked at again under the migration lock: another process
    started at the same moment may be migrating it (on MySQL, whose DDL is not transactional,
    its tables appear before their revision is stamped), and once it is done it is at head.
    """
    head = head_revision()
    with engine.connect() as connection:
        current = current_revision(connection)
    if current == head:
        return
    with engine.connect() as connection, _migration_lock(connection):
        current = current_revision(connection)
        tables = set(inspect(connection).get_table_names())
        if current is None and not (tables - {"alembic_version"}):
            logger.info("empty database: migrating it to revision %s", head)
            config = _config()
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
            connection.commit()
            return
    if current == head:
        return
    known = {rev.revision for rev in ScriptDirectory.from_config(_config()).walk_revisions()}
    url = engine.url.render_as_string(hide_password=True)
    if current is None:
        raise SchemaMismatch(
            f"database {url} has tables but no mlgrpc schema revision; "
            "point the service at an empty database or one created by mlgrpc"
        )
    if current not in known:
        raise SchemaMismatch(
            f"database {url} is at schema revision {current!r}, unknown to this mlgrpc "
            f"(newest known: {head!r}); upgrade mlgrpc, or use a matching database"
        )
    raise SchemaMismatch(
        f"database {url} is at schema revision {current!r}, older than {head!r}; "
        f"run: mlgrpc db upgrade --backend-store-uri '{url}'"
    )
