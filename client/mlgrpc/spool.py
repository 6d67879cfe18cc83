"""The spool: what async logging could not send within the retry budget, kept on local disk.

When a batch still fails after MLGRPC_LOG_RETRY_SECONDS of retries, the client appends it, with
its batch id, to the spool file of its run instead of dropping it; later batches of that run go
behind it, and an `end_run` that cannot reach the service appends the run's end (status, end
time). `mlgrpc runs sync` (or the next `start_run` of a process with the same tracking URI)
replays the file in order: LogBatch with the original batch ids, so a batch the service had
written before its reply was lost is not written again, then UpdateRun for the end.

Layout: `<MLGRPC_SPOOL_DIR or $XDG_CACHE_HOME/mlgrpc/spool (~/.cache/…)>/<service address>/
<run id>.jsonl`, one JSON object per line: `{"batch_id", "metrics": [[key, value, timestamp,
step]…], "params": [[key, value]…], "tags": [[key, value]…]}` or `{"end": {"status",
"end_time"}}`. A line is appended under an exclusive `flock` and fsync'ed before the caller is
told; a line a crash left without its newline is skipped on reading and ended before the next
append, so a torn write never corrupts its neighbours. A batch the service refuses as invalid
on replay is moved to `<run id>.jsonl.rejected` beside it, so that it does not block the rest.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

logger = logging.getLogger(__name__)

SPOOL_DIR_ENV = "MLGRPC_SPOOL_DIR"
SUFFIX = ".jsonl"
REJECTED_SUFFIX = ".rejected"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def spool_root() -> Path:
    """MLGRPC_SPOOL_DIR, else `$XDG_CACHE_HOME/mlgrpc/spool` (default `~/.cache/mlgrpc/spool`)."""
    configured = os.environ.get(SPOOL_DIR_ENV, "").strip()
    if configured:
        return Path(configured).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "mlgrpc" / "spool"


def service_dir(address: str, root: Path | None = None) -> Path:
    """The spool directory of the tracking service at `address` (a gRPC target)."""
    return (root or spool_root()) / _UNSAFE.sub("_", address)


@dataclass(frozen=True)
class SpooledBatch:
    """One LogBatch, as it was sent: its id and items."""

    batch_id: str
    metrics: list[tuple[str, float, int, int]] = field(default_factory=list)
    params: list[tuple[str, str]] = field(default_factory=list)
    tags: list[tuple[str, str]] = field(default_factory=list)

    @property
    def values(self) -> int:
        return len(self.metrics) + len(self.params) + len(self.tags)


@dataclass(frozen=True)
class SpooledEnd:
    """The end of the run its caller asked for."""

    status: str
    end_time: int


Record = SpooledBatch | SpooledEnd


def _encode(record: Record) -> bytes:
    if isinstance(record, SpooledEnd):
        document: dict[str, Any] = {"end": {"status": record.status, "end_time": record.end_time}}
    else:
        document = {
            "batch_id": record.batch_id,
            "metrics": [list(m) for m in record.metrics],
            "params": [list(p) for p in record.params],
            "tags": [list(t) for t in record.tags],
        }
    # allow_nan: NaN and ±Infinity are metric values like any other (Python's json reads them).
    return (json.dumps(document, separators=(",", ":"), allow_nan=True) + "\n").encode()


def _decode(line: bytes) -> Record | None:
    try:
        document = json.loads(line)
        if "end" in document:
            end = document["end"]
            return SpooledEnd(str(end["status"]), int(end["end_time"]))
        return SpooledBatch(
            str(document["batch_id"]),
            [(str(k), float(v), int(t), int(s)) for k, v, t, s in document["metrics"]],
            [(str(k), str(v)) for k, v in document["params"]],
            [(str(k), str(v)) for k, v in document["tags"]],
        )
    except (ValueError, KeyError, TypeError):
        return None


class RunSpool:
    """The spool file of one run at one tracking service."""

    def __init__(self, directory: Path, run_id: str, *, suffix: str = SUFFIX) -> None:
        self.run_id = run_id
        self.path = directory / f"{_UNSAFE.sub('_', run_id)}{suffix}"

    @property
    def rejected(self) -> RunSpool:
        """Where records the service refused as invalid are kept aside, never replayed."""
        return RunSpool(self.path.parent, self.run_id, suffix=SUFFIX + REJECTED_SUFFIX)

    def __repr__(self) -> str:
        return f"RunSpool({str(self.path)!r})"

    def exists(self) -> bool:
        try:
            return self.path.stat().st_size > 0
        except FileNotFoundError:
            return False

    @contextmanager
    def _locked(self, create: bool) -> Iterator[IO[bytes] | None]:
        """The file opened for append and exclusively locked (None if absent and not `create`).
        Reopened when a replay removed the file between our open and our lock."""
        while True:
            if create:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            try:
                handle = open(self.path, "ab+" if create else "rb")  # noqa: SIM115
            except FileNotFoundError:
                yield None
                return
            try:
                fcntl.flock(handle, fcntl.LOCK_EX)
                if os.fstat(handle.fileno()).st_nlink == 0:  # unlinked meanwhile
                    continue
                yield handle
                return
            finally:
                handle.close()

    def append(self, record: Record) -> None:
        """Add `record` durably: written and fsync'ed (file and directory) before returning."""
        with self._locked(create=True) as handle:
            assert handle is not None
            size = handle.seek(0, os.SEEK_END)
            data = _encode(record)
            if size:
                handle.seek(size - 1)
                if handle.read(1) != b"\n":  # a torn line: end it, the reader skips it
                    data = b"\n" + data
                handle.seek(0, os.SEEK_END)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if not size:
            _fsync_dir(self.path.parent)

    def read(self, offset: int = 0) -> tuple[list[Record], int]:
        """The complete records from byte `offset` on, and the offset after the last one."""
        try:
            with open(self.path, "rb") as handle:
                handle.seek(offset)
                data = handle.read()
        except FileNotFoundError:
            return [], offset
        end = data.rfind(b"\n") + 1
        records = []
        for line in data[:end].splitlines():
            record = _decode(line) if line.strip() else None
            if record is None and line.strip():
                logger.warning("spool %s: skipped a torn or unreadable line", self.path)
            if record is not None:
                records.append(record)
        return records, offset + end

    def remove_if_size(self, size: int) -> bool:
        """Delete the file if nothing was appended beyond `size` bytes; whether it was."""
        with self._locked(create=False) as handle:
            if handle is None:
                return True
            if os.fstat(handle.fileno()).st_size != size:
                return False
            os.unlink(self.path)
        _fsync_dir(self.path.parent)
        return True


def run_spools(directory: Path) -> list[RunSpool]:
    """The spool files of a service's directory, oldest first."""
    if not directory.is_dir():
        return []
    files = sorted(directory.glob(f"*{SUFFIX}"), key=lambda p: p.stat().st_mtime)
    return [RunSpool(directory, p.name[: -len(SUFFIX)]) for p in files]


def count_values(records: list[Record]) -> int:
    return sum(r.values for r in records if isinstance(r, SpooledBatch))


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
