"""One metric (LogMetric) on MySQL/MariaDB: the script of `mysql_log_batch.add_log_batch` for a
batch of one metric, from a statement text made once.

The statements are exactly those `add_log_batch` writes for such a batch (its history INSERT
guarded by the run's row under a shared lock, the `latest_metrics` upsert only if that INSERT
counted a row, then the COMMIT; tests/tracking/store/test_store_one_query_writes.py compares
the two texts). What differs is how the text is made: one `cursor.mogrify` of a fixed template
whose placeholders are named, so that each value is escaped by the driver once however often
the script uses it (the run id three times, the key twice: 7 escapes instead of 14), and no
statement list to build and join. Building the script was ~0.034 ms of the store's ~0.11 ms of
CPU per LogMetric; this way ~0.01 ms (bench/README.md, "T1 against its floor, third pass").
"""

from __future__ import annotations

from typing import Any

from tracking_service.domain import ACTIVE
from tracking_service.store.dialects.mysql_metric_sql import (
    MYSQL_LATEST_COLUMNS,
    MYSQL_LATEST_ON_DUPLICATE,
    MYSQL_METRIC_COLUMNS,
    MYSQL_METRICS_ON_DUPLICATE,
)
from tracking_service.store.rules import MetricTuple

_ROW = "%(run)s, %(key)s, %(step)s, %(timestamp)s, %(value)s, %(kind)s"
#: The history row if the run is active (its row read under a shared lock until the COMMIT);
#: its latest value only if that row was counted (`ROW_COUNT()`); the COMMIT.
_SCRIPT = (
    f"{MYSQL_METRIC_COLUMNS} SELECT {_ROW} FROM runs "
    "WHERE runs.run_uuid = %(run)s AND runs.lifecycle_stage = %(active)s LOCK IN SHARE MODE "
    f"{MYSQL_METRICS_ON_DUPLICATE};\n"
    f"{MYSQL_LATEST_COLUMNS} SELECT {_ROW} FROM DUAL WHERE ROW_COUNT() > 0 "
    f"{MYSQL_LATEST_ON_DUPLICATE};\n"
    "COMMIT"
)


def log_metric_script(cursor: Any, row: MetricTuple) -> str:
    """The one-query script writing `row` (history and latest value) if its run is active; the
    first statement's affected rows are 0 if the run was not (nothing written, then)."""
    run_id, key, step, timestamp, value, kind = row
    values = {"run": run_id, "key": key, "step": step, "timestamp": timestamp, "value": value,
              "kind": kind, "active": ACTIVE}  # fmt: skip
    script: str = cursor.mogrify(_SCRIPT, values)
    return script
