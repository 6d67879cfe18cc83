"""SearchRuns pages on MariaDB as JSON texts: the page's runs, and their latest metrics, params
and tags in one statement.

Read as rows, a 1,000-run page of SearchRuns is ~7,000 rows of three queries, and PyMySQL
parses each row in Python (3-7 µs a row): most of the time of paging through runs. Here the
server aggregates each table into one JSON object keyed by run id (params and tags already as
`{key: value}` objects), so the client gets three texts that orjson turns into dicts in C.
MariaDB writes a DOUBLE in JSON as the same shortest round-trip text as in a result row, so
values are exact. When a text is cut by the length limit (a page of very long tag values), the
caller reads the rows instead.

The page itself (up to 1,001 rows of 12+ columns) comes the same way, as one JSON array that
`JSON_ARRAYAGG(… ORDER BY …)` builds in the page's order, and a SearchRuns page brings its
runs' data along in the same statement (`_PAGE_RUN_DATA`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import Connection

from tracking_service.domain import Metric
from tracking_service.store.portable.base import RunData, driver_sql, make_metric
from tracking_service.store.rules import VALUE_FINITE, decode_value

#: Bytes of one JSON text at most, and a quarter of the server's max_allowed_packet at most, so
#: that the three texts of a statement always fit in a result packet: a longer text is cut
#: (and the rows read instead), never refused.
_TEXT_LIMIT = 4 * 1024 * 1024
_SET_TEXT_LIMIT = (
    "SET STATEMENT group_concat_max_len = LEAST({limit}, @@max_allowed_packet DIV 4) FOR "
)

_PER_RUN = (
    "(SELECT JSON_OBJECTAGG(run_uuid, per_run) FROM (SELECT run_uuid, {aggregate} AS per_run "
    "FROM {table} WHERE run_uuid IN ({ids}) GROUP BY run_uuid) AS {table}_of_run)"
)
_METRICS = "JSON_ARRAYAGG(JSON_ARRAY(`key`, value, value_kind, `timestamp`, step))"
_KEY_VALUES = "JSON_OBJECTAGG(`key`, value)"


def parse_text(text: str) -> Any:
    """A JSON text MariaDB wrote; ValueError if it is not JSON (cut by the length limit).

    orjson reads a 1,000-run page in a third of `json.loads`' time (~5 -> ~1.7 ms) and to the
    same values: MariaDB writes integers within 64 bits and doubles in their shortest form
    (`1e20`, `2.5e-7`), both of which orjson reads exactly as `json` does."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)  # what orjson refuses: json's answer (or its ValueError)


def _objects(text: str | None) -> dict[str, Any] | None:
    """The parsed text; {} for no rows (NULL); None if it was cut (not valid JSON)."""
    if text is None:
        return {}
    try:
        parsed = parse_text(text)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


#: Fewer runs than this are read as rows (`mysql_run_data_rows`): each JSON aggregate costs the
#: server a fixed ~0.2 ms of CPU (more with the raised length limit), so for GetRun's one run
#: the JSON statement took 1.4 ms of MariaDB CPU where the rows take 0.2 ms; from ~100 runs on,
#: parsing the rows in Python costs more than the server saves.
JSON_MIN_RUNS = 50

_ROWS_OF_RUNS = (
    "SELECT 0, run_uuid, `key`, value, NULL, value_kind, `timestamp`, step "
    "FROM latest_metrics WHERE run_uuid IN ({marks}) "
    "UNION ALL SELECT 1, run_uuid, `key`, NULL, value, NULL, NULL, NULL "
    "FROM params WHERE run_uuid IN ({marks}) "
    "UNION ALL SELECT 2, run_uuid, `key`, NULL, value, NULL, NULL, NULL "
    "FROM tags WHERE run_uuid IN ({marks})"
)


def run_data_rows_query(run_ids: Sequence[str]) -> tuple[str, tuple[str, ...]]:
    """The UNION ALL statement of plain rows (latest metrics, params, tags) of `run_ids` on
    MySQL/MariaDB, and its parameters; `add_run_data_rows` reads its rows."""
    marks = ", ".join(["%s"] * len(run_ids))
    return _ROWS_OF_RUNS.format(marks=marks), (*run_ids, *run_ids, *run_ids)


def add_run_data_rows(rows: Sequence[Sequence[Any]], data: dict[str, RunData]) -> None:
    """Fill `data[run_id]` from the rows of `run_data_rows_query`."""
    for table, run_id, key, number, text, kind, timestamp, step in rows:
        if table == 0:
            value = number if kind == VALUE_FINITE else decode_value(number, kind)
            data[run_id][0].append(make_metric(key, value, timestamp, step))
        else:
            data[run_id][table][key] = text


def mysql_run_data_rows(cursor: Any, run_ids: Sequence[str], data: dict[str, RunData]) -> None:
    """Fill `data[run_id]` for `run_ids` from one UNION ALL statement of plain rows on the
    DBAPI `cursor` of a MySQL/MariaDB connection (in the caller's transaction)."""
    cursor.execute(*run_data_rows_query(run_ids))
    add_run_data_rows(cursor.fetchall(), data)


def mariadb_run_data(cursor: Any, run_ids: Sequence[str], data: dict[str, RunData]) -> bool:
    """Fill `data[run_id]` for `run_ids` with one statement on the DBAPI `cursor` (in the
    caller's transaction). False, with `data` untouched, if the rows must be read instead."""
    ids = ",".join(["%s"] * len(run_ids))  # bound parameters: the driver quotes the ids
    cursor.execute(
        _SET_TEXT_LIMIT.format(limit=_TEXT_LIMIT)
        + "SELECT "
        + _PER_RUN.format(aggregate=_METRICS, table="latest_metrics", ids=ids)
        + ", "
        + _PER_RUN.format(aggregate=_KEY_VALUES, table="params", ids=ids)
        + ", "
        + _PER_RUN.format(aggregate=_KEY_VALUES, table="tags", ids=ids),
        [*run_ids, *run_ids, *run_ids],
    )
    metric_text, param_text, tag_text = cursor.fetchone()
    metrics, params, tags = _objects(metric_text), _objects(param_text), _objects(tag_text)
    if metrics is None or params is None or tags is None:
        return False
    # A per-run text cut inside an intact outer one would come back as a string.
    if not all(type(value) is list for value in metrics.values()) or not all(
        type(value) is dict for value in (*params.values(), *tags.values())
    ):
        return False
    for run_id, points in metrics.items():
        data[run_id][0].extend(_metrics_of(points))
    for run_id, values in params.items():
        data[run_id][1].update(values)
    for run_id, values in tags.items():
        data[run_id][2].update(values)
    return True


def _metrics_of(points: Sequence[Sequence[Any]]) -> list[Metric]:
    """Metrics of `_METRICS` points (key, stored value, kind, timestamp, step)."""
    return [
        make_metric(
            key,
            float(value) if kind == VALUE_FINITE else decode_value(value, kind),
            timestamp,
            step,
        )
        for key, value, kind, timestamp, step in points
    ]


#: A page row's latest metrics, params and tags as JSON (NULL when it has none), computed per
#: row of the page by correlated subqueries on the (run_uuid, key) primary keys: the page and
#: its data in one statement. A 100-run page took 1.5 ms for its rows and 4.1 ms for a second
#: statement of its data by a list of ids; this takes 3.0 ms in all (1,000 runs: 37.5 → 33.8).
_PAGE_RUN_DATA = ", ".join(
    f"(SELECT {aggregate} FROM {table} AS data WHERE data.run_uuid = page.run_uuid)"
    for table, aggregate in (
        ("latest_metrics", _METRICS),
        ("params", _KEY_VALUES),
        ("tags", _KEY_VALUES),
    )
)


def mariadb_page_rows(
    connection: Connection,
    statement: Any,
    columns: Sequence[str],
    order: Sequence[str],
    *,
    with_run_data: bool = False,
) -> list[list[Any]] | None:
    """The rows of `statement` (a SELECT … ORDER BY … LIMIT whose result columns are named
    `columns`, `run_uuid` among them) as lists, in the order `order` (SQL terms on those names,
    which must repeat the statement's own order); None if the text was cut (the caller executes
    `statement`); [] if there are none, or if the statement's `LIMIT … ROWS EXAMINED` budget
    ran out. With `with_run_data` each row ends with its run's data: `page_run_data` reads it.

    JSON gives a DOUBLE that has no fraction as an int (3 for 3.0): sort values go into page
    tokens and SQL comparisons only, where both compare the same.
    """
    sql, parameters = driver_sql(connection, statement)
    names = ", ".join(f"page.`{name}`" for name in columns)
    if with_run_data:
        names += ", " + _PAGE_RUN_DATA
    text = (
        _SET_TEXT_LIMIT.format(limit=_TEXT_LIMIT)
        + f"SELECT JSON_ARRAYAGG(JSON_ARRAY({names}) ORDER BY {', '.join(order)}) "
        f"FROM ({sql}) AS page"
    )
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(text, parameters)
        found = cursor.fetchone()
    finally:
        cursor.close()
    # No row at all: a `LIMIT … ROWS EXAMINED` budget in `statement` ran out.
    if found is None or found[0] is None:  # or no rows
        return []
    try:
        rows = parse_text(found[0])
    except ValueError:
        return None
    return rows if isinstance(rows, list) else None


def page_run_data(rows: Sequence[Sequence[Any]]) -> dict[str, RunData] | None:
    """The data of each run of `mariadb_page_rows(…, with_run_data=True)` rows (the run id
    first, the metrics, params and tags last), by run id; None if a text came back cut."""
    data: dict[str, RunData] = {}
    for row in rows:
        metrics, params, tags = row[-3:]
        if not (
            (metrics is None or type(metrics) is list)
            and (params is None or type(params) is dict)
            and (tags is None or type(tags) is dict)
        ):
            return None
        data[row[0]] = (_metrics_of(metrics or ()), params or {}, tags or {})
    return data
