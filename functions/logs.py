"""JSON log lines for the handlers and the local server.

Each record becomes one JSON object with the time, level, logger name and
message, plus every ``extra={...}`` key the call passed (request id, model
version, latency and so on).
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

# Attributes every LogRecord has, plus uvicorn's terminal-colour copy of the
# message. Any other attribute came from ``extra``.
_RECORD_ATTRIBUTES = frozenset(
    vars(logging.LogRecord("name", logging.INFO, "path", 0, "message", None, None))
) | {"message", "asctime", "taskName", "color_message"}

# Marks the handler this module installed, so a second call does not add another.
_HANDLER_MARK = "_functions_json_handler"


class JsonFormatter(logging.Formatter):
    """Format a record as one line of JSON."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _RECORD_ATTRIBUTES and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)

        return json.dumps(entry, default=str, ensure_ascii=False)


def configure_logging(level: str, *, in_lambda: bool) -> None:
    """Send every log record to one JSON handler at ``level``.

    Inside Lambda the runtime already attached a handler to the root logger
    that writes to CloudWatch, so only its formatter changes. Elsewhere one
    stderr handler is added, and calling this again only updates the level.
    """
    root = logging.getLogger()
    root.setLevel(level)
    formatter = JsonFormatter()

    ours = [handler for handler in root.handlers if getattr(handler, _HANDLER_MARK, False)]
    if ours:
        return

    if in_lambda and root.handlers:
        for handler in root.handlers:
            handler.setFormatter(formatter)
        return

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    setattr(handler, _HANDLER_MARK, True)
    root.addHandler(handler)
