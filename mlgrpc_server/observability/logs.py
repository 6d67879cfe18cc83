"""Log lines as text or JSON, each carrying the request id of the call that emitted it.

`MLGRPC_LOG_FORMAT=json` (or `--log-format json`) prints one JSON object per line — what log
collectors (Loki, Elasticsearch, Cloud Logging) parse without a grok pattern:
`{"time": "2026-11-25T06:00:00.123Z", "level": "INFO", "logger": "…", "message": "…",
"request_id": "…", "process": 123, "thread": "…"}`, plus `exception` with the traceback when
there is one. Text lines keep the usual layout and append `[request_id=…]` inside a call.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from mlgrpc_server.observability.request_context import current_request_id

LOG_FORMATS = ("text", "json")
DEFAULT_TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class RequestIdFilter(logging.Filter):
    """Sets `record.request_id` (None outside a call). A handler filter: it sees every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = current_request_id()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record; `extra={...}` fields of a record are kept."""

    # LogRecord's own attributes: everything else on a record came from `extra=`.
    _STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
        "message",
        "asctime",
        "request_id",
    }

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": _iso_utc(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
            "process": record.process,
            "thread": record.threadName,
        }
        for key, value in vars(record).items():
            if key not in self._STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """The classic line, with `[request_id=…]` appended when the record came from a call."""

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        request_id = getattr(record, "request_id", None)
        return line if request_id is None else f"{line} [request_id={request_id}]"


def _iso_utc(created: float) -> str:
    seconds = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(created))
    return f"{seconds}.{int(created % 1 * 1000):03d}Z"


def configure_logging(
    level: str = "INFO", log_format: str = "text", *, text_format: str = DEFAULT_TEXT_FORMAT
) -> None:
    """Configure the root logger once for a service process (replaces earlier handlers)."""
    if log_format not in LOG_FORMATS:
        raise ValueError(f"log format must be one of {', '.join(LOG_FORMATS)}, not {log_format!r}")
    handler = logging.StreamHandler()
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter(text_format))
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
