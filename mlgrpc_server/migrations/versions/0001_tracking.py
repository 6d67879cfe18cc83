"""Tracking tables: experiments, runs, params, tags, metric history and latest metrics.

Revision ID: 0001_tracking
Revises:
Create Date: 2026-11-25

On MySQL/MariaDB every table is InnoDB, utf8mb4 with the binary collation `utf8mb4_bin`, so that
names and keys are unique and compared case-sensitively, as on SQLite. The default experiment
(id 0, "Default") is created here; its artifact location is left empty and derived by the store
from its configured artifact root.
"""

from __future__ import annotations

import time

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0001_tracking"
down_revision = None
branch_labels = None
depends_on = None

_MYSQL_TABLE = {
    "mysql_engine": "InnoDB",
    "mysql_charset": "utf8mb4",
    "mysql_collate": "utf8mb4_bin",
}
_LONG_TEXT = sa.Text().with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb")
# Index prefix for long string values on MySQL (InnoDB keys are at most 3,072 bytes).
_VALUE_PREFIX = {"value": 255}


def _run_fk() -> sa.ForeignKey:
    return sa.ForeignKey("runs.run_uuid", ondelete="CASCADE")


def upgrade() -> None:
    op.create_table(
        "experiments",
        sa.Column("experiment_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(500), nullable=False),
        sa.Column("artifact_location", sa.String(2000), nullable=False, server_default=""),
        sa.Column("lifecycle_stage", sa.String(32), nullable=False),
        sa.Column("creation_time", sa.BigInteger, nullable=False),
        sa.Column("last_update_time", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("name", name="uq_experiments_name"),
        sa.CheckConstraint(
            "lifecycle_stage IN ('active', 'deleted')", name="ck_experiments_lifecycle_stage"
        ),
        **_MYSQL_TABLE,
    )
    op.create_index(
        "ix_experiments_creation_time", "experiments", ["creation_time", "experiment_id"]
    )
    op.create_table(
        "experiment_tags",
        sa.Column(
            "experiment_id",
            sa.Integer,
            sa.ForeignKey("experiments.experiment_id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("key", sa.String(250), primary_key=True),
        sa.Column("value", _LONG_TEXT, nullable=False),
        **_MYSQL_TABLE,
    )
    op.create_table(
        "runs",
        sa.Column("run_uuid", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(250), nullable=False),
        sa.Column(
            "experiment_id",
            sa.Integer,
            sa.ForeignKey("experiments.experiment_id"),
            nullable=False,
        ),
        sa.Column("user_id", sa.String(256), nullable=False, server_default=""),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("start_time", sa.BigInteger, nullable=False),
        sa.Column("end_time", sa.BigInteger, nullable=True),
        sa.Column("deleted_time", sa.BigInteger, nullable=True),
        sa.Column("lifecycle_stage", sa.String(32), nullable=False),
        sa.Column("artifact_uri", sa.String(2000), nullable=False),
        sa.CheckConstraint(
            "status IN ('RUNNING', 'SCHEDULED', 'FINISHED', 'FAILED', 'KILLED')",
            name="ck_runs_status",
        ),
        sa.CheckConstraint("lifecycle_stage IN ('active', 'deleted')", name="ck_runs_lifecycle"),
        **_MYSQL_TABLE,
    )
    # Search: WHERE experiment_id IN (…) AND lifecycle_stage IN (…) ORDER BY start_time.
    op.create_index(
        "ix_runs_experiment_stage_start", "runs", ["experiment_id", "lifecycle_stage", "start_time"]
    )
    for table, value_length in (("params", 6000), ("tags", 8000)):
        op.create_table(
            table,
            sa.Column("run_uuid", sa.String(32), _run_fk(), primary_key=True),
            sa.Column("key", sa.String(250), primary_key=True),
            sa.Column("value", sa.String(value_length), nullable=False),
            **_MYSQL_TABLE,
        )
        # Search: params.alpha = '0.1' looks up (key, value) and reads run_uuid from the index.
        # PostgreSQL has no prefix indexes and a B-tree entry must stay under ~2.7 kB, so
        # there the index holds the value's first characters (the key alone narrows as well).
        if op.get_bind().dialect.name == "postgresql":
            prefix = sa.text(f"left(value, {_VALUE_PREFIX['value']})")
            op.create_index(f"ix_{table}_key_value", table, ["key", prefix])
        else:
            op.create_index(
                f"ix_{table}_key_value", table, ["key", "value"], mysql_length=_VALUE_PREFIX
            )
    op.create_table(
        "metrics",
        sa.Column("run_uuid", sa.String(32), _run_fk(), primary_key=True),
        sa.Column("key", sa.String(250), primary_key=True),
        sa.Column("step", sa.BigInteger, primary_key=True),
        sa.Column("timestamp", sa.BigInteger, primary_key=True),
        sa.Column("value", sa.Double, primary_key=True),
        sa.Column("value_kind", sa.SmallInteger, primary_key=True),
        **_MYSQL_TABLE,
    )
    # The primary key (run_uuid, key, step, timestamp, value, value_kind) is the history index:
    # GetMetricHistory reads one range of it in order, without touching anything else.
    op.create_table(
        "latest_metrics",
        sa.Column("run_uuid", sa.String(32), _run_fk(), primary_key=True),
        sa.Column("key", sa.String(250), primary_key=True),
        sa.Column("value", sa.Double, nullable=False),
        sa.Column("value_kind", sa.SmallInteger, nullable=False),
        sa.Column("timestamp", sa.BigInteger, nullable=False),
        sa.Column("step", sa.BigInteger, nullable=False),
        **_MYSQL_TABLE,
    )
    # Search: metrics.rmse < 0.5, and ORDER BY metrics.rmse read in index order (value, then
    # run_uuid as the tie-break); value_kind is in the index so that skipping NaN (stored as 0)
    # needs no lookup of the row.
    op.create_index(
        "ix_latest_metrics_key_value",
        "latest_metrics",
        ["key", "value", "run_uuid", "value_kind"],
    )
    _insert_default_experiment()


def _insert_default_experiment() -> None:
    bind = op.get_bind()
    experiments = sa.table(
        "experiments",
        sa.column("experiment_id", sa.Integer),
        sa.column("name", sa.String),
        sa.column("artifact_location", sa.String),
        sa.column("lifecycle_stage", sa.String),
        sa.column("creation_time", sa.BigInteger),
        sa.column("last_update_time", sa.BigInteger),
    )
    now = _now_ms()
    row = {
        "experiment_id": 0,
        "name": "Default",
        "artifact_location": "",
        "lifecycle_stage": "active",
        "creation_time": now,
        "last_update_time": now,
    }
    if bind.dialect.name in ("mysql", "mariadb"):
        # AUTO_INCREMENT treats an inserted 0 as "next id" unless told otherwise.
        previous = bind.execute(sa.text("SELECT @@SESSION.sql_mode")).scalar_one()
        bind.execute(
            sa.text("SET SESSION sql_mode = CONCAT_WS(',', @@SESSION.sql_mode, :mode)"),
            {"mode": "NO_AUTO_VALUE_ON_ZERO"},
        )
        try:
            bind.execute(experiments.insert().values(row))
        finally:
            bind.execute(sa.text("SET SESSION sql_mode = :mode"), {"mode": previous})
    else:
        bind.execute(experiments.insert().values(row))


def _now_ms() -> int:
    return int(time.time() * 1000)


def downgrade() -> None:
    # Dropping a table drops its indexes (MySQL refuses to drop an index a foreign key needs).
    for table in (
        "latest_metrics",
        "metrics",
        "tags",
        "params",
        "runs",
        "experiment_tags",
        "experiments",
    ):
        op.drop_table(table)
