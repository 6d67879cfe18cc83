"""The inputs and outputs of a SearchRuns page on MySQL/MariaDB: first which of its runs have
any, in one statement on the DBAPI cursor; then `load_runs_io` for those runs only.

`load_runs_io` reads three tables by IN lists of the page's ids through SQLAlchemy: for a page
of 1,000 runs, 3,000 bound parameters that SQLAlchemy renders and PyMySQL escapes one by one
(~12 ms of Python and three round trips), even when no run of the page logged a dataset or a
model — the common case. Here the ids travel as one bound parameter, a JSON array that
`JSON_TABLE` turns into rows on the server (one value for the driver to escape, not 1,000), and
the server answers with the few runs (usually none) that have rows.
"""

from __future__ import annotations

from collections.abc import Sequence

import orjson
from sqlalchemy import Connection

from tracking_service.logged_model_domain import RunIo
from tracking_service.store.dialects.mysql_cursor import DriverCursor
from tracking_service.store.portable.run_inputs import load_runs_io

#: Fewer ids than this go to `load_runs_io` directly: its three statements cost less than
#: one more round trip.
MIN_RUNS = 20

#: The page's ids as rows (MariaDB 10.6+, MySQL 8), compared as the tables' ids are (binary).
_PAGE_IDS = (
    "JSON_TABLE(%s, '$[*]' COLUMNS ("
    "run_uuid VARCHAR(32) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin PATH '$')) AS page"
)
_RUNS_WITH_IO = (
    f"SELECT i.run_uuid FROM {_PAGE_IDS} JOIN run_dataset_inputs i ON i.run_uuid = page.run_uuid "
    f"UNION SELECT o.run_uuid FROM {_PAGE_IDS} JOIN run_model_io o ON o.run_uuid = page.run_uuid"
)


def runs_io(connection: Connection, run_ids: Sequence[str]) -> dict[str, RunIo]:
    """`load_runs_io(connection, run_ids)`: what each run used and produced, by run id, runs
    that used and produced nothing left out (in the caller's transaction)."""
    ids = list(dict.fromkeys(run_ids))
    if len(ids) < MIN_RUNS:
        return load_runs_io(connection, ids)
    page = orjson.dumps(ids).decode()
    # DriverCursor: a driver error is raised as SQLAlchemy's (an outage stays UNAVAILABLE).
    with DriverCursor(connection) as cursor:
        cursor.execute(_RUNS_WITH_IO, (page, page))
        with_io = {row[0] for row in cursor.fetchall()}
    if not with_io:
        return {}
    return load_runs_io(connection, [run_id for run_id in ids if run_id in with_io])
