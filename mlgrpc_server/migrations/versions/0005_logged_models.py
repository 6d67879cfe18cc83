"""MLflow 3's LoggedModels, and datasets and models as inputs and outputs of runs (issue #14).

Revision ID: 0005_logged_models
Revises: 0004_auth
Create Date: 2026-12-04

`logged_models` holds one row per model (`m-` + 32 hex characters), its params and tags in their
own tables as a run's; `logged_model_metrics` the metric values logged with a `model_id` (a copy
of the run's point, linked to the model and to the dataset it was computed on). A deleted model
keeps its rows (`lifecycle_stage`), as MLflow's soft delete.

`datasets` is one row per (experiment, name, digest), as MLflow stores them; `run_dataset_inputs`
says which run used which dataset, and `run_input_tags` the tags of that use
(`mlflow.data.context`). `run_model_io` lists the LoggedModels a run used (`input`) or produced
(`output`, with the step). `model_versions.logged_model_id` names the LoggedModel a registered
version points at (`model_id` there is already the registered model's key).

Every table uses only portable types and bound parameters: SQLite, MariaDB/MySQL, PostgreSQL.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_logged_models"
down_revision = "0004_auth"
branch_labels = None
depends_on = None

_MYSQL_TABLE = {
    "mysql_engine": "InnoDB",
    "mysql_charset": "utf8mb4",
    "mysql_collate": "utf8mb4_bin",
}
_LONG_TEXT = sa.Text().with_variant(sa.dialects.mysql.MEDIUMTEXT(), "mysql", "mariadb")


def _model_id() -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(
        "model_id",
        sa.String(34),
        sa.ForeignKey("logged_models.model_id", ondelete="CASCADE"),
        primary_key=True,
    )


def upgrade() -> None:
    op.create_table(
        "logged_models",
        sa.Column("model_id", sa.String(34), primary_key=True),
        sa.Column(
            "experiment_id",
            sa.Integer,
            sa.ForeignKey("experiments.experiment_id"),
            nullable=False,
        ),
        sa.Column("name", sa.String(500), nullable=False),
        sa.Column("source_run_id", sa.String(32), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("status_message", sa.String(1000), nullable=False, server_default=""),
        sa.Column("model_type", sa.String(500), nullable=False, server_default=""),
        sa.Column("artifact_location", sa.String(2000), nullable=False),
        sa.Column("lifecycle_stage", sa.String(32), nullable=False),
        sa.Column("creation_timestamp_ms", sa.BigInteger, nullable=False),
        sa.Column("last_updated_timestamp_ms", sa.BigInteger, nullable=False),
        **_MYSQL_TABLE,
    )
    op.create_index(
        "ix_logged_models_experiment", "logged_models", ["experiment_id", "creation_timestamp_ms"]
    )
    op.create_table(
        "logged_model_params",
        _model_id(),
        sa.Column("key", sa.String(250), primary_key=True),
        sa.Column("value", sa.String(6000), nullable=False),
        **_MYSQL_TABLE,
    )
    op.create_table(
        "logged_model_tags",
        _model_id(),
        sa.Column("key", sa.String(250), primary_key=True),
        sa.Column("value", sa.String(8000), nullable=False),
        **_MYSQL_TABLE,
    )
    op.create_table(
        "logged_model_metrics",
        _model_id(),
        sa.Column("key", sa.String(250), primary_key=True),
        sa.Column("step", sa.BigInteger, primary_key=True),
        sa.Column("timestamp", sa.BigInteger, primary_key=True),
        sa.Column("run_uuid", sa.String(32), primary_key=True),
        # "" when the value is on no dataset: part of the key, so never NULL.
        sa.Column("dataset_name", sa.String(255), primary_key=True),
        sa.Column("dataset_digest", sa.String(36), primary_key=True),
        # As in `metrics`: an ordering stand-in and the kind (finite, ±inf, NaN).
        sa.Column("value", sa.Double, nullable=False),
        sa.Column("value_kind", sa.SmallInteger, nullable=False),
        **_MYSQL_TABLE,
    )
    op.create_table(
        "datasets",
        sa.Column("dataset_uuid", sa.String(32), primary_key=True),
        sa.Column(
            "experiment_id",
            sa.Integer,
            sa.ForeignKey("experiments.experiment_id"),
            nullable=False,
        ),
        sa.Column("name", sa.String(500), nullable=False),
        sa.Column("digest", sa.String(36), nullable=False),
        sa.Column("source_type", sa.String(36), nullable=False),
        sa.Column("source", _LONG_TEXT, nullable=False),
        sa.Column("dataset_schema", _LONG_TEXT, nullable=False),
        sa.Column("profile", _LONG_TEXT, nullable=False),
        sa.UniqueConstraint("experiment_id", "name", "digest", name="uq_datasets_name_digest"),
        **_MYSQL_TABLE,
    )
    op.create_table(
        "run_dataset_inputs",
        sa.Column(
            "run_uuid",
            sa.String(32),
            sa.ForeignKey("runs.run_uuid", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "dataset_uuid",
            sa.String(32),
            sa.ForeignKey("datasets.dataset_uuid", ondelete="CASCADE"),
            primary_key=True,
        ),
        **_MYSQL_TABLE,
    )
    op.create_index("ix_run_dataset_inputs_dataset", "run_dataset_inputs", ["dataset_uuid"])
    op.create_table(
        "run_input_tags",
        sa.Column("run_uuid", sa.String(32), primary_key=True),
        sa.Column("dataset_uuid", sa.String(32), primary_key=True),
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("value", sa.String(500), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_uuid", "dataset_uuid"],
            ["run_dataset_inputs.run_uuid", "run_dataset_inputs.dataset_uuid"],
            ondelete="CASCADE",
        ),
        **_MYSQL_TABLE,
    )
    op.create_table(
        "run_model_io",
        sa.Column(
            "run_uuid",
            sa.String(32),
            sa.ForeignKey("runs.run_uuid", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "model_id",
            sa.String(34),
            sa.ForeignKey("logged_models.model_id", ondelete="CASCADE"),
            primary_key=True,
        ),
        # "input" (the run used the model) or "output" (the run produced it).
        sa.Column("direction", sa.String(8), primary_key=True),
        sa.Column("step", sa.BigInteger, nullable=False),
        **_MYSQL_TABLE,
    )
    op.add_column("model_versions", sa.Column("logged_model_id", sa.String(34), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("model_versions") as batch:
        batch.drop_column("logged_model_id")
    for table in (
        "run_model_io",
        "run_input_tags",
        "run_dataset_inputs",
        "datasets",
        "logged_model_metrics",
        "logged_model_tags",
        "logged_model_params",
        "logged_models",
    ):
        op.drop_table(table)
