"""JSON log lines for the handlers and the local server.

Each record becomes one JSON object with the time, level, logger name and
message, then the fields bound to the current request with ``bind``
(request id, Lambda request id, cold start, model version), then every
``extra={...}`` key the call passed, which wins over a bound field of the
same name.
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

# Attributes every LogRecord has, plus uvicorn's terminal-colour copy of the
# message. Any other attribute came from ``extra``.
_RECORD_ATTRIBUTES = frozenset(
    vars(logging.LogRecord("name", logging.INFO, "path", 0, "message", None, None))
) | {"message", "asctime", "taskName", "color_message"}

# Marks the handler this module installed, so a second call does not add another.
_HANDLER_MARK = "_functions_json_handler"


# Fields on every line written inside Lambda, bound by functions.lambda_entry
# and functions.middleware.
LAMBDA_FIELDS = ("request_id", "lambda_request_id", "function_name", "cold_start", "model_version")

# Fields of the request being served. A value that is a callable is called
# when a line is written, so that the model version appears once it has loaded.
_bound_fields: contextvars.ContextVar[Mapping[str, Any]] = contextvars.ContextVar(
    "functions_log_fields", default=MappingProxyType({})
)


@contextmanager
def bind(**fields: Any) -> Iterator[None]:
    """Add ``fields`` to every line logged in this context until the block ends.

    The fields reach threads and tasks started inside the block, because
    asyncio tasks and Starlette's thread pool copy the context.
    """
    token = _bound_fields.set({**_bound_fields.get(), **fields})
    try:
        yield
    finally:
        _bound_fields.reset(token)


def bound_fields() -> dict[str, Any]:
    """Return the fields bound to the current context, with callables evaluated."""
    return {key: value() if callable(value) else value for key, value in _bound_fields.get().items()}


class JsonFormatter(logging.Formatter):
    """Format a record as one line of JSON.

    ``default_fields`` names fields that every line has, null when nothing
    bound them, such as a line written while the Lambda container starts.
    """

    def __init__(self, default_fields: Iterable[str] = ()) -> None:
        super().__init__()
        self.default_fields = tuple(default_fields)

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(dict.fromkeys(self.default_fields))
        entry.update(bound_fields())
        for key, value in vars(record).items():
            if key not in _RECORD_ATTRIBUTES and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)

        return json.dumps(entry, default=str, ensure_ascii=False)


def configure_logging(level: str, *, in_lambda: bool) -> None:
    """Send every log record to one JSON handler at ``level``.

    Inside Lambda the runtime already attached a handler to the root logger
    that writes to CloudWatch, so only its formatter changes, and every line
    gets the ``LAMBDA_FIELDS`` keys. Elsewhere one
    stderr handler is added, and calling this again only updates the level.
    """
    root = logging.getLogger()
    root.setLevel(level)
    formatter = JsonFormatter(LAMBDA_FIELDS if in_lambda else ())

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
