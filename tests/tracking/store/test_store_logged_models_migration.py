"""Migration 0005_logged_models upgrades and downgrades on SQLite and MariaDB, keeping what was
there (a model version made before it reads back without a LoggedModel)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import sqlalchemy as sa
from alembic import command

from mlgrpc_server import schema
from mlgrpc_server.db import create_db_engine

NEW_TABLES = {
    "logged_models",
    "logged_model_params",
    "logged_model_tags",
    "logged_model_metrics",
    "datasets",
    "run_dataset_inputs",
    "run_input_tags",
    "run_model_io",
}


def _columns(engine: sa.Engine, table: str) -> set[str]:
    return {column["name"] for column in sa.inspect(engine).get_columns(table)}


@pytest.mark.parametrize("backend", ["sqlite", "mysql"])
def test_logged_models_migration_upgrades_and_downgrades(
    backend: str, new_database: Callable[[str], str]
) -> None:
    engine = create_db_engine(new_database(backend))
    try:
        schema.upgrade(engine, "0005_logged_models")
        assert NEW_TABLES <= set(sa.inspect(engine).get_table_names())
        assert "logged_model_id" in _columns(engine, "model_versions")
        config = schema._config()
        with engine.connect() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "0004_auth")
            connection.commit()
        tables = set(sa.inspect(engine).get_table_names())
        assert not NEW_TABLES & tables and {"runs", "auth_tokens"} <= tables
        assert "logged_model_id" not in _columns(engine, "model_versions")
        schema.upgrade(engine, "0005_logged_models")
        assert NEW_TABLES <= set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()
