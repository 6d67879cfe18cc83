"""Migration 0002_registry upgrades and downgrades on SQLite and MariaDB."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import sqlalchemy as sa
from alembic import command

from mlgrpc_server import schema
from mlgrpc_server.db import create_db_engine

REGISTRY_TABLES = {
    "registered_models",
    "registered_model_tags",
    "registered_model_aliases",
    "model_versions",
    "model_version_tags",
}


@pytest.mark.parametrize("backend", ["sqlite", "mysql"])
def test_registry_migration_upgrades_and_downgrades(
    backend: str, new_database: Callable[[str], str]
) -> None:
    uri = new_database(backend)
    engine = create_db_engine(uri)
    try:
        schema.upgrade(engine, "0002_registry")
        assert REGISTRY_TABLES <= set(sa.inspect(engine).get_table_names())

        config = schema._config()
        with engine.connect() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "0001_tracking")
            connection.commit()
        tables = set(sa.inspect(engine).get_table_names())
        assert not REGISTRY_TABLES & tables
        assert "runs" in tables

        schema.upgrade(engine, "0002_registry")
        assert REGISTRY_TABLES <= set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_registered_model_names_are_unique_case_sensitively_on_mysql(
    new_database: Callable[[str], str],
) -> None:
    engine = create_db_engine(new_database("mysql"))
    try:
        schema.upgrade(engine, "0002_registry")
        insert = sa.text(
            "INSERT INTO registered_models (name, description, creation_timestamp, "
            "last_updated_timestamp) VALUES (:name, '', 0, 0)"
        )
        with engine.begin() as connection:
            connection.execute(insert, {"name": "Model"})
            connection.execute(insert, {"name": "model"})
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as connection:
            connection.execute(insert, {"name": "model"})
    finally:
        engine.dispose()
