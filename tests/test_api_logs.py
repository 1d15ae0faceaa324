"""JSON log lines of the API layer."""

from __future__ import annotations

import json
import logging
import sys

from functions.logs import JsonFormatter


def make_record(**extra: object) -> logging.LogRecord:
    record = logging.LogRecord(
        "functions.middleware", logging.INFO, __file__, 1, "request %s", ("done",), None
    )
    for key, value in extra.items():
        setattr(record, key, value)
    return record


def test_json_line_has_extra_fields() -> None:
    record = make_record(request_id="abc-1", status=200, latency_ms=12.5, model_version=None)

    entry = json.loads(JsonFormatter().format(record))

    assert entry["level"] == "INFO"
    assert entry["logger"] == "functions.middleware"
    assert entry["message"] == "request done"
    assert entry["request_id"] == "abc-1"
    assert entry["status"] == 200
    assert entry["latency_ms"] == 12.5
    assert entry["model_version"] is None
    assert "args" not in entry
    assert "color_message" not in entry


def test_json_line_includes_traceback() -> None:
    try:
        raise ValueError("bad artifact")
    except ValueError:
        record = make_record()
        record.exc_info = sys.exc_info()

    entry = json.loads(JsonFormatter().format(record))

    assert "ValueError: bad artifact" in entry["exception"]
    assert "\n" not in JsonFormatter().format(record)
