"""JSON rendering that never emits NaN or Infinity.

``json.dumps`` writes ``NaN`` and ``Infinity`` by default, which are not
JSON and break most clients. ``FiniteJSONResponse`` replaces every
non-finite float with ``null`` and then renders with ``allow_nan=False``,
so a value that slips past the replacement raises instead of reaching a
client.
"""

from __future__ import annotations

import json
import logging
import math
from typing import Any

from starlette.responses import JSONResponse

logger = logging.getLogger(__name__)


def replace_non_finite(value: Any) -> tuple[Any, int]:
    """Return a copy of ``value`` with NaN and ±Infinity floats set to ``None``.

    Dicts, lists and tuples are walked recursively. Tuples become lists
    because JSON has no tuples. The second item is the number of floats replaced.
    """
    if isinstance(value, float):
        if math.isfinite(value):
            return value, 0
        return None, 1

    if isinstance(value, dict):
        cleaned_dict: dict[Any, Any] = {}
        replaced = 0
        for key, item in value.items():
            cleaned_dict[key], count = replace_non_finite(item)
            replaced += count
        return cleaned_dict, replaced

    if isinstance(value, list | tuple):
        cleaned_list: list[Any] = []
        replaced = 0
        for item in value:
            cleaned, count = replace_non_finite(item)
            cleaned_list.append(cleaned)
            replaced += count
        return cleaned_list, replaced

    return value, 0


def render_json(content: Any) -> bytes:
    """Serialise ``content`` to compact UTF-8 JSON, writing non-finite floats as ``null``.

    Raises
    ------
    ValueError
        If ``content`` contains a non-finite number that is not a ``float``
        (for example a NumPy scalar), because the strict encoder rejects it.
    TypeError
        If ``content`` contains a value JSON cannot represent.
    """
    cleaned, replaced = replace_non_finite(content)
    if replaced:
        logger.warning("replaced non-finite numbers with null", extra={"replaced": replaced})

    return json.dumps(
        cleaned,
        ensure_ascii=False,
        allow_nan=False,
        separators=(",", ":"),
    ).encode("utf-8")


class FiniteJSONResponse(JSONResponse):
    """A ``JSONResponse`` whose body never contains NaN or Infinity."""

    def render(self, content: Any) -> bytes:
        return render_json(content)
