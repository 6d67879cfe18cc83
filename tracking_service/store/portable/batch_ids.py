"""Idempotent LogBatch/LogStream batches: a client batch id is written at most once.

A client tags each batch with a UUID (`batch_id`) and sends the same id when it retries after a lost
reply (a killed or restarted service, a dropped connection, a deadline). `record_batch_id` inserts
the id into `applied_batches` in the SAME transaction as the batch's rows, before them:

- a new id: the row is inserted and the batch is written; both commit or neither does;
- an id already committed: the insert conflicts on the primary key, nothing is written and the
  caller answers success with the original row count (`BatchOutcome(…, replayed=True)`);
- an id being written by a concurrent retry: the insert waits for that transaction's row lock
  (InnoDB; SQLite serialises writers with BEGIN IMMEDIATE), then conflicts (it committed) or
  proceeds (it rolled back). So a retry racing its own original cannot write twice either.

The server's own transaction retry (`with_retry` after a lost connection, when the COMMIT may
have happened) is covered by the same check.

Cleanup horizon: clients retry a batch for minutes at most (`MLGRPC_LOG_RETRY_SECONDS` in the
client), so ids older than `retention_ms()` — 7 days by default, `MLGRPC_BATCH_ID_RETENTION_HOURS`
to change it — can no longer be replayed. `maybe_delete_expired` deletes them on the write path,
once every `CLEANUP_EVERY` claimed ids per process, at most `CLEANUP_LIMIT` rows at a time (a
short range delete on the `created_time` index), in its own transaction.
"""

from __future__ import annotations

import itertools
import logging
import os

from sqlalchemy import Connection, Engine, Table, select

from tracking_service.store.portable.tables import AppliedBatchRow
from tracking_service.store.portable.upserts import ConflictWrites, conflict_writes_for
from tracking_service.store.rules import BatchOutcome, now_ms, replay_of

logger = logging.getLogger(__name__)

DEFAULT_RETENTION_HOURS = 7 * 24
CLEANUP_EVERY = 1000
CLEANUP_LIMIT = 10_000
_claims = itertools.count(1)


def record_batch_id(
    connection: Connection, writes: ConflictWrites, batch_id: str, run_id: str, rows: int
) -> BatchOutcome | None:
    """Record `batch_id` in the transaction of `connection` (the run is known to exist). None
    for a new batch (write it), else the replay's outcome (write nothing)."""
    values = {"batch_id": batch_id, "run_uuid": run_id, "rows_written": rows,
              "created_time": now_ms()}  # fmt: skip
    table: Table = AppliedBatchRow.__table__  # type: ignore[assignment]
    if writes.claim(connection, table, values, "batch_id"):
        return None
    row = connection.execute(
        select(AppliedBatchRow.run_uuid, AppliedBatchRow.rows_written).where(
            AppliedBatchRow.batch_id == batch_id
        )
    ).first()
    return replay_of(batch_id, run_id, None if row is None else (row[0], row[1]))


def retention_ms() -> int:
    hours = float(os.environ.get("MLGRPC_BATCH_ID_RETENTION_HOURS", DEFAULT_RETENTION_HOURS))
    return int(hours * 3600 * 1000)


def delete_expired(engine: Engine, *, older_than_ms: int | None = None) -> int:
    """Delete up to CLEANUP_LIMIT batch ids created before `older_than_ms` (default: now minus
    the retention); the number deleted."""
    cutoff = now_ms() - retention_ms() if older_than_ms is None else older_than_ms
    table: Table = AppliedBatchRow.__table__  # type: ignore[assignment]
    statement = conflict_writes_for(engine).delete_oldest(
        table, table.c.created_time < cutoff, table.c.created_time, "batch_id", CLEANUP_LIMIT
    )
    with engine.begin() as connection:
        return int(connection.execute(statement).rowcount)


def maybe_delete_expired(engine: Engine) -> None:
    """`delete_expired` once every CLEANUP_EVERY calls; a failure is logged, never raised (the
    batch that triggered it is already committed)."""
    if next(_claims) % CLEANUP_EVERY:
        return
    try:
        deleted = delete_expired(engine)
    except Exception as error:  # noqa: BLE001 - housekeeping must not fail a committed write
        logger.warning("deleting expired batch ids failed: %s", error)
        return
    if deleted:
        logger.info("deleted %d batch ids older than the retention", deleted)
