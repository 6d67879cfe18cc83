"""Access tokens and their per-resource grants (token authentication, issue #7).

Revision ID: 0004_auth
Revises: 0003_idempotent_batches
Create Date: 2026-11-25

`auth_tokens` holds one row per token: a name for people, the role (read | write | admin), and
the sha256 of the secret — never the secret, which is printed once by `mlgrpc tokens create`.
A plain sha256 is enough because the secrets are 256 random bits: there is nothing to guess, so
a slow password hash would only slow every cache miss. Times are milliseconds since the Unix
epoch like the rest of the schema; `revoked_at`/`expires_at` are NULL when not set.

`auth_grants` gives one token a permission (READ < EDIT < MANAGE, as MLflow's auth app) on one
experiment (by id) or one registered model (by name); it overrides the role's default there.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_auth"
down_revision = "0003_idempotent_batches"
branch_labels = None
depends_on = None

_MYSQL_TABLE = {
    "mysql_engine": "InnoDB",
    "mysql_charset": "utf8mb4",
    "mysql_collate": "utf8mb4_bin",
}


def upgrade() -> None:
    op.create_table(
        "auth_tokens",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("secret_sha256", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("expires_at", sa.BigInteger, nullable=True),
        sa.Column("revoked_at", sa.BigInteger, nullable=True),
        sa.Column("last_used_at", sa.BigInteger, nullable=True),
        sa.UniqueConstraint("name", name="uq_auth_tokens_name"),
        sa.UniqueConstraint("secret_sha256", name="uq_auth_tokens_secret_sha256"),
        sa.CheckConstraint("role IN ('read', 'write', 'admin')", name="ck_auth_tokens_role"),
        **_MYSQL_TABLE,
    )
    op.create_table(
        "auth_grants",
        sa.Column(
            "token_id",
            sa.Integer,
            sa.ForeignKey("auth_tokens.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        # "experiment" or "registered_model".
        sa.Column("resource_type", sa.String(32), primary_key=True),
        # The experiment id (decimal) or the registered model's name.
        sa.Column("resource_id", sa.String(256), primary_key=True),
        sa.Column("permission", sa.String(16), nullable=False),
        sa.CheckConstraint(
            "resource_type IN ('experiment', 'registered_model')",
            name="ck_auth_grants_resource_type",
        ),
        sa.CheckConstraint(
            "permission IN ('READ', 'EDIT', 'MANAGE')", name="ck_auth_grants_permission"
        ),
        **_MYSQL_TABLE,
    )
    # Renaming or deleting a registered model moves or drops its grants by resource.
    op.create_index("ix_auth_grants_resource", "auth_grants", ["resource_type", "resource_id"])


def downgrade() -> None:
    op.drop_index("ix_auth_grants_resource", table_name="auth_grants")
    op.drop_table("auth_grants")
    op.drop_table("auth_tokens")
