"""Sending a run's spool (`mlgrpc.spool`) to the tracking service, in the order it was written.

Batches go as LogBatch with their original batch ids (the service writes a batch once however
often it is replayed), the end as UpdateRun with the status and end time asked for. The file is
deleted once everything in it was sent and nothing was appended meanwhile; a replay that fails
midway leaves it whole, and the next replay resends the beginning harmlessly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mlgrpc._batch_retry import is_retryable_overwrite, retry_write
from mlgrpc.entities import RunStatus
from mlgrpc.exceptions import InvalidArgumentError
from mlgrpc.spool import RunSpool, SpooledBatch, SpooledEnd
from mlgrpc.tracking.v1 import tracking_service_pb2 as pb

if TYPE_CHECKING:
    from mlgrpc.client import MlgrpcClient


@dataclass
class SyncedRun:
    """What a replay sent for one run."""

    run_id: str
    batches: int = 0
    values: int = 0
    #: The terminal status applied, if the spool held the run's end.
    ended: str | None = None
    #: Why the service refused batches as invalid (moved to the run's rejected file).
    rejected: list[InvalidArgumentError] = field(default_factory=list)


def refused(synced: SyncedRun, run_spool: RunSpool) -> InvalidArgumentError | None:
    """One error telling about the batches of `synced` the service refused, if any."""
    if not synced.rejected:
        return None
    first = synced.rejected[0]
    return InvalidArgumentError(
        f"{len(synced.rejected)} spooled batches of run {synced.run_id} were refused by the "
        f"tracking service and are kept in {run_spool.rejected.path}: {first}",
        field=first.field,
    )


def batch_request(run_id: str, batch: SpooledBatch) -> pb.LogBatchRequest:
    request = pb.LogBatchRequest(run_id=run_id, batch_id=batch.batch_id)
    for key, value, timestamp, step in batch.metrics:
        request.metrics.add(key=key, value=value, timestamp=timestamp, step=step)
    for key, value in batch.params:
        request.params.add(key=key, value=value)
    for key, value in batch.tags:
        request.tags.add(key=key, value=value)
    return request


def spooled_batch(request: pb.LogBatchRequest) -> SpooledBatch:
    return SpooledBatch(
        request.batch_id,
        [(m.key, m.value, m.timestamp, m.step) for m in request.metrics],
        [(p.key, p.value) for p in request.params],
        [(t.key, t.value) for t in request.tags],
    )


def replay(client: MlgrpcClient, run_spool: RunSpool, budget: float) -> SyncedRun:
    """Send everything in `run_spool`, each call retried for `budget` seconds (0: once); the
    first failure is raised and the file kept, except a batch refused as invalid, which is moved
    to the rejected file and reported in `.rejected` (a repeat would be refused again)."""
    synced = SyncedRun(run_spool.run_id)
    offset = 0
    while True:
        records, offset = run_spool.read(offset)
        for record in records:
            if isinstance(record, SpooledBatch):
                try:
                    _send_batch(client, run_spool.run_id, record, budget)
                except InvalidArgumentError as error:
                    run_spool.rejected.append(record)
                    synced.rejected.append(error)
                    continue
                synced.batches += 1
                synced.values += record.values
            else:
                _send_end(client, run_spool.run_id, record, budget)
                synced.ended = record.status
        if run_spool.remove_if_size(offset):
            return synced


def _send_batch(client: MlgrpcClient, run_id: str, batch: SpooledBatch, budget: float) -> None:
    request = batch_request(run_id, batch)
    what = f"LogBatch of run {run_id} from the spool"
    retry_write(lambda: client._call("LogBatch", request), what=what, budget=budget)


def _send_end(client: MlgrpcClient, run_id: str, end: SpooledEnd, budget: float) -> None:
    request = pb.UpdateRunRequest(
        run_id=run_id,
        status=RunStatus.to_number(end.status),  # type: ignore[arg-type]
        end_time=end.end_time,
    )
    what = f"UpdateRun of run {run_id} from the spool"
    retry_write(
        lambda: client._call("UpdateRun", request),
        what=what,
        budget=budget,
        retryable=is_retryable_overwrite,
    )
