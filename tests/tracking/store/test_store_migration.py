"""Migration 0001_tracking on each backend: upgrade, the default experiment, downgrade."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from mlgrpc_server.db import create_db_engine
from mlgrpc_server.schema import current_revision, ensure_schema, head_revision

TRACKING_TABLES = {
    "experiments", "experiment_tags", "runs", "params", "tags", "metrics", "latest_metrics",
}  # fmt: skip


def _alembic(connection: sa.Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", "mlgrpc_server:migrations")
    config.attributes["connection"] = connection
    return config


@pytest.fixture(params=["sqlite", "mysql", "postgresql"])
def engine(request: pytest.FixtureRequest, new_database: Callable[[str], str]) -> sa.Engine:
    engine = create_db_engine(new_database(request.param))
    yield engine
    engine.dispose()


def test_migration_creates_tracking_tables_and_default_experiment(engine: sa.Engine) -> None:
    ensure_schema(engine)
    with engine.connect() as connection:
        tables = set(sa.inspect(connection).get_table_names())
        default = connection.execute(
            sa.text("SELECT experiment_id, name, lifecycle_stage FROM experiments")
        ).all()
    assert TRACKING_TABLES <= tables
    assert (0, "Default", "active") in [tuple(row) for row in default]


def test_migration_creates_search_indexes(engine: sa.Engine) -> None:
    ensure_schema(engine)
    inspector = sa.inspect(engine)
    assert {"ix_latest_metrics_key_value"} <= {
        i["name"] for i in inspector.get_indexes("latest_metrics")
    }
    assert {"ix_params_key_value"} <= {i["name"] for i in inspector.get_indexes("params")}
    assert {"ix_tags_key_value"} <= {i["name"] for i in inspector.get_indexes("tags")}
    runs = {i["name"]: i["column_names"] for i in inspector.get_indexes("runs")}
    assert runs["ix_runs_experiment_stage_start"] == [
        "experiment_id",
        "lifecycle_stage",
        "start_time",
    ]
    assert inspector.get_pk_constraint("metrics")["constrained_columns"][:4] == [
        "run_uuid", "key", "step", "timestamp",
    ]  # fmt: skip


def test_downgrade_to_base_drops_tracking_tables_and_upgrade_recreates_them(
    engine: sa.Engine,
) -> None:
    ensure_schema(engine)
    with engine.connect() as connection:
        command.downgrade(_alembic(connection), "base")
        connection.commit()
    with engine.connect() as connection:
        assert not TRACKING_TABLES & set(sa.inspect(connection).get_table_names())
    ensure_schema(engine)
    with engine.connect() as connection:
        assert TRACKING_TABLES <= set(sa.inspect(connection).get_table_names())


def test_experiment_names_are_case_sensitive_on_every_backend(engine: sa.Engine) -> None:
    ensure_schema(engine)
    with engine.begin() as connection:
        for name in ("Case", "case"):
            connection.execute(
                sa.text(
                    "INSERT INTO experiments (name, artifact_location, lifecycle_stage, "
                    "creation_time, last_update_time) VALUES (:name, '', 'active', 0, 0)"
                ),
                {"name": name},
            )
        count = connection.execute(
            sa.text("SELECT COUNT(*) FROM experiments WHERE name = 'case'")
        ).scalar_one()
    assert count == 1


@pytest.mark.parametrize("backend", ["mysql", "postgresql"])
def test_services_started_at_once_on_an_empty_database_migrate_it_once(
    backend: str, new_database: Callable[[str], str]
) -> None:
    """Several processes' first start at the same moment: one migrates under the database's
    lock (GET_LOCK / pg_advisory_lock), the others wait and find the schema at head."""
    uri = new_database(backend)
    engines = [create_db_engine(uri) for _ in range(4)]
    start = threading.Barrier(len(engines))
    errors: list[BaseException] = []

    def migrate(engine: sa.Engine) -> None:
        start.wait()
        try:
            ensure_schema(engine)
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=migrate, args=(engine,)) for engine in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    try:
        assert errors == []
        with engines[0].connect() as connection:
            assert current_revision(connection) == head_revision()
            assert connection.execute(sa.text("SELECT COUNT(*) FROM experiments")).scalar() == 1
    finally:
        for engine in engines:
            engine.dispose()
