"""Describe in words what a request field accepts, read from the model's JSON schema.

Reading the schema keeps the text in step with the ``Field`` constraints
in ``schemas.py``, so a limit changes in one place only.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel

JsonSchema = dict[str, Any]


@functools.cache
def _schema_of(model: type[BaseModel]) -> JsonSchema:
    return model.model_json_schema(mode="validation")


def _resolve(node: JsonSchema, root: JsonSchema) -> tuple[JsonSchema, bool]:
    """Follow ``$ref`` and drop the ``null`` branch of an optional, returning (node, nullable)."""
    nullable = False
    while True:
        if "$ref" in node:
            name = node["$ref"].rsplit("/", 1)[-1]
            node = root.get("$defs", {}).get(name, {})
            continue
        branches = node.get("anyOf")
        if branches:
            non_null = [branch for branch in branches if branch.get("type") != "null"]
            nullable = nullable or len(non_null) < len(branches)
            if len(non_null) == 1:
                node = non_null[0]
                continue
        return node, nullable


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _range(node: JsonSchema, noun: str) -> str:
    low = node.get("minimum", node.get("exclusiveMinimum"))
    high = node.get("maximum", node.get("exclusiveMaximum"))
    if low is not None and high is not None:
        return f"{noun} from {_number(low)} to {_number(high)}"
    if low is not None:
        return f"{noun} of at least {_number(low)}"
    if high is not None:
        return f"{noun} of at most {_number(high)}"
    return noun


def _length(node: JsonSchema, noun: str, unit: str, low_key: str, high_key: str) -> str:
    low = node.get(low_key)
    high = node.get(high_key)
    if low and high is not None:
        return f"{noun} of {low} to {high} {unit}"
    if high is not None:
        return f"{noun} of at most {high} {unit}"
    if low:
        return f"{noun} of at least {low} {unit}"
    return noun


def _choices(node: JsonSchema) -> list[Any] | None:
    if "enum" in node:
        return list(node["enum"])
    if "const" in node:
        return [node["const"]]
    return None


def _describe(node: JsonSchema, root: JsonSchema) -> str | None:
    node, nullable = _resolve(node, root)
    text: str | None
    choices = _choices(node)
    kind = node.get("type")

    if choices is not None:
        text = "one of: " + ", ".join(str(choice) for choice in choices)
    elif kind == "integer":
        text = _range(node, "an integer")
    elif kind == "number":
        text = _range(node, "a finite number")
    elif kind == "boolean":
        text = "true or false"
    elif kind == "string" and node.get("format") == "date-time":
        text = "an ISO 8601 date-time such as 2025-03-03T20:10:00Z"
    elif kind == "string":
        text = _length(node, "a string", "characters", "minLength", "maxLength")
    elif kind == "array":
        text = _length(node, "a list", "items", "minItems", "maxItems")
        item_text = _describe(node.get("items", {}), root)
        if item_text:
            text += f", each {item_text}"
    elif kind == "object":
        text = "a JSON object"
    else:
        return None

    return f"{text}, or null" if nullable else text


def describe_allowed(
    model: type[BaseModel],
    path: Sequence[str | int],
    *,
    list_fields: bool = False,
) -> str | None:
    """Describe what ``model`` accepts at ``path`` (keys and list indexes), or None.

    With ``list_fields``, describe the object at ``path`` by its field names
    instead, which is what a caller needs after sending an unknown key.
    """
    root = _schema_of(model)
    node: JsonSchema = root
    for part in path:
        node, _ = _resolve(node, root)
        if isinstance(part, int):
            node = node.get("items", {})
        else:
            properties = node.get("properties", {})
            if part not in properties:
                return None
            node = properties[part]

    if list_fields:
        node, _ = _resolve(node, root)
        names = list(node.get("properties", {}))
        return "known fields: " + ", ".join(names) if names else None

    return _describe(node, root)
