"""The SQL text of the MySQL/MariaDB metric writes of the fast paths (`mysql_log_batch.py`,
`mysql_one_query.py`), sent straight to PyMySQL's cursor: the multi-row history INSERT with the
numbers written into the statement, and the latest-value upsert. The portable store writes the
same rows through SQLAlchemy (`portable/upserts.py`)."""

from __future__ import annotations

from collections.abc import Sequence

from tracking_service.store.rules import MetricTuple

# max_allowed_packet is 16 MiB by default on MariaDB (64 MiB on MySQL 8): 5,000 rows of
# 250-character keys stay far below it.
MYSQL_ROWS_PER_STATEMENT = 5000

MYSQL_METRIC_COLUMNS = "INSERT INTO metrics (run_uuid, `key`, step, `timestamp`, value, value_kind)"
#: A history point logged twice is one row (its primary key): the second INSERT changes nothing.
MYSQL_METRICS_ON_DUPLICATE = "ON DUPLICATE KEY UPDATE value_kind = value_kind"

# MySQL applies the SET assignments left to right and later ones see the updated columns.
# The condition compares (step, timestamp, value); updating value_kind, value, timestamp, step
# in this order keeps each evaluation equivalent to the original one (a lexicographic compare
# only changes its answer once the higher-order columns have been updated, and then the
# lower-order ones are already equal).
_NEWER = "(VALUES(step), VALUES(`timestamp`), VALUES(value)) > (step, `timestamp`, value)"
MYSQL_LATEST_COLUMNS = (
    "INSERT INTO latest_metrics (run_uuid, `key`, step, `timestamp`, value, value_kind)"
)
MYSQL_LATEST_ON_DUPLICATE = (
    "ON DUPLICATE KEY UPDATE "
    f"value_kind = IF({_NEWER}, VALUES(value_kind), value_kind), "
    f"value = IF({_NEWER}, VALUES(value), value), "
    f"`timestamp` = IF({_NEWER}, VALUES(`timestamp`), `timestamp`), "
    f"step = IF({_NEWER}, VALUES(step), step)"
)
MYSQL_LATEST_UPSERT = (
    f"{MYSQL_LATEST_COLUMNS} VALUES (%s, %s, %s, %s, %s, %s) {MYSQL_LATEST_ON_DUPLICATE}"
)


def mysql_metrics_insert(rows: Sequence[MetricTuple]) -> tuple[str, dict[str, str]]:
    """One multi-row INSERT and its parameters: each distinct run id and key is one named bound
    parameter, the numbers are written into the statement.

    PyMySQL's executemany escapes every value through generic converters (about 10 µs a row,
    most of the time of a 1,000-metric batch). Here the numbers have known types (ints, finite
    floats: `repr` is the shortest exact form, which MySQL reads back as the same double) and
    need no escaping; the strings, few and repeated, are bound once per distinct value.
    """
    names: dict[str, str] = {}
    parts = []
    for run_id, key, step, timestamp, value, kind in rows:
        run_name = names.get(run_id)
        if run_name is None:
            run_name = names[run_id] = f"s{len(names)}"
        key_name = names.get(key)
        if key_name is None:
            key_name = names[key] = f"s{len(names)}"
        parts.append(
            f"(%({run_name})s,%({key_name})s,{step:d},{timestamp:d},{float(value)!r},{kind:d})"
        )
    statement = f"{MYSQL_METRIC_COLUMNS} VALUES {','.join(parts)} {MYSQL_METRICS_ON_DUPLICATE}"
    return statement, {name: text for text, name in names.items()}
