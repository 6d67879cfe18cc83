"""Model-registry tables: registered models, their versions, tags and aliases.

Revision ID: 0002_registry
Revises: 0001_tracking
Create Date: 2026-11-25

A registered model has a surrogate integer id, so that a rename touches one row and the child
tables never hold the name. `next_version` is the number the next version gets: it is read and
bumped under a row lock on the model, so concurrent creations get 1, 2, 3… without gaps or
duplicates, and numbers of deleted versions are never reused. `revision` grows on every change of
a model (versions, stages, aliases, tags, description) so that watchers in other processes can
detect changes with one cheap indexed read. Model versions are deleted for real (no
`Deleted_Internal` rows). On MySQL/MariaDB names compare case-sensitively (`utf8mb4_bin`).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0002_registry"
down_revision = "0001_tracking"
branch_labels = None
depends_on = None

_MYSQL_TABLE = {
    "mysql_engine": "InnoDB",
    "mysql_charset": "utf8mb4",
    "mysql_collate": "utf8mb4_bin",
}
_LONG_TEXT = sa.Text().with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb")


def _model_fk() -> sa.ForeignKey:
    return sa.ForeignKey("registered_models.id", ondelete="CASCADE")


def upgrade() -> None:
    op.create_table(
        "registered_models",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("creation_timestamp", sa.BigInteger, nullable=False),
        sa.Column("last_updated_timestamp", sa.BigInteger, nullable=False),
        sa.Column("next_version", sa.BigInteger, nullable=False, server_default="1"),
        sa.Column("revision", sa.BigInteger, nullable=False, server_default="0"),
        sa.UniqueConstraint("name", name="uq_registered_models_name"),
        **_MYSQL_TABLE,
    )
    op.create_index(
        "ix_registered_models_creation", "registered_models", ["creation_timestamp", "name"]
    )
    op.create_index(
        "ix_registered_models_updated", "registered_models", ["last_updated_timestamp", "name"]
    )
    op.create_table(
        "registered_model_tags",
        sa.Column("model_id", sa.Integer, _model_fk(), primary_key=True),
        sa.Column("key", sa.String(250), primary_key=True),
        sa.Column("value", _LONG_TEXT, nullable=False),
        **_MYSQL_TABLE,
    )
    op.create_table(
        "model_versions",
        sa.Column("model_id", sa.Integer, _model_fk(), primary_key=True),
        sa.Column("version", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("creation_timestamp", sa.BigInteger, nullable=False),
        sa.Column("last_updated_timestamp", sa.BigInteger, nullable=False),
        sa.Column("current_stage", sa.String(20), nullable=False),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("storage_location", sa.Text, nullable=False),
        sa.Column("artifact_path", sa.Text, nullable=False),
        sa.Column("run_id", sa.String(32), nullable=False, server_default=""),
        sa.Column("run_link", sa.Text, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("status_message", sa.Text, nullable=False),
        sa.CheckConstraint(
            "current_stage IN ('None', 'Staging', 'Production', 'Archived')",
            name="ck_model_versions_stage",
        ),
        **_MYSQL_TABLE,
    )
    op.create_index("ix_model_versions_run_id", "model_versions", ["run_id"])
    op.create_index(
        "ix_model_versions_stage", "model_versions", ["model_id", "current_stage", "version"]
    )
    op.create_table(
        "model_version_tags",
        sa.Column("model_id", sa.Integer, primary_key=True),
        sa.Column("version", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("key", sa.String(250), primary_key=True),
        sa.Column("value", _LONG_TEXT, nullable=False),
        sa.ForeignKeyConstraint(
            ["model_id", "version"],
            ["model_versions.model_id", "model_versions.version"],
            ondelete="CASCADE",
            name="fk_model_version_tags_version",
        ),
        **_MYSQL_TABLE,
    )
    op.create_table(
        "registered_model_aliases",
        sa.Column("model_id", sa.Integer, primary_key=True),
        sa.Column("alias", sa.String(255), primary_key=True),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.ForeignKeyConstraint(
            ["model_id", "version"],
            ["model_versions.model_id", "model_versions.version"],
            ondelete="CASCADE",
            name="fk_registered_model_aliases_version",
        ),
        **_MYSQL_TABLE,
    )


def downgrade() -> None:
    # Children first; dropping a table drops its indexes and foreign keys.
    for table in (
        "registered_model_aliases",
        "model_version_tags",
        "model_versions",
        "registered_model_tags",
        "registered_models",
    ):
        op.drop_table(table)
