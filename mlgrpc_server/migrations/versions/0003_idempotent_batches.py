"""Applied client batch ids, so that a retried LogBatch/LogStream batch is written once.

Revision ID: 0003_idempotent_batches
Revises: 0002_registry
Create Date: 2026-11-25

A client tags each batch with a UUID it generates (`batch_id`) and sends the same id again when it
retries after a lost reply. The store inserts the id in the same transaction as the batch's rows:
if the id is already there the batch is a replay, nothing is written and the original row count
is answered. The primary key on `batch_id` is what detects the replay, also under concurrent
retries (the second insert waits for, then conflicts with, the first).

Cleanup horizon: a client retries a batch for a bounded time (minutes, see
`client/mlgrpc/async_logging.py`), so ids older than the horizon (default 7 days, see
`tracking_service/store/portable/batch_ids.py`) can no longer be replayed and are deleted by the
store, a few at a time, on the write path; `ix_applied_batches_created` makes that delete a range
scan.
Ids of a deleted run go with it (ON DELETE CASCADE).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_idempotent_batches"
down_revision = "0002_registry"
branch_labels = None
depends_on = None

_MYSQL_TABLE = {
    "mysql_engine": "InnoDB",
    "mysql_charset": "utf8mb4",
    "mysql_collate": "utf8mb4_bin",
}


def upgrade() -> None:
    op.create_table(
        "applied_batches",
        # A client-generated UUID in its canonical text form (36 characters); 64 leaves room
        # for other opaque id formats.
        sa.Column("batch_id", sa.String(64), primary_key=True),
        sa.Column(
            "run_uuid",
            sa.String(32),
            sa.ForeignKey("runs.run_uuid", ondelete="CASCADE"),
            nullable=False,
        ),
        # Rows the original batch wrote (metrics + params + tags), answered again on a replay.
        sa.Column("rows_written", sa.Integer, nullable=False),
        # Milliseconds since the epoch, like every other time in the tracking schema.
        sa.Column("created_time", sa.BigInteger, nullable=False),
        **_MYSQL_TABLE,
    )
    op.create_index("ix_applied_batches_created", "applied_batches", ["created_time"])


def downgrade() -> None:
    op.drop_table("applied_batches")
