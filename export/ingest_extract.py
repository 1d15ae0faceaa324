"""Turn one source record into a Contribution: the catalogue values it supplies.

A record without a usable key is rejected. A value that does not parse (a
rating of ``"n/a"``) is dropped and reported, and the rest of the record is
kept. Columns that no field reads and the mapping does not ignore are kept as
``extra_tags`` (``name=value``) when short and one line, otherwise as
``extra_text`` lines (``name: value``).
"""

from __future__ import annotations

import string
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from export.ingest_fields import LIST_FIELDS, NUMBER_FIELDS, TEXT_FIELDS, FieldSpec
from export.ingest_mapping import AliasTable, SourceMapping
from export.ingest_transforms import (
    TRANSFORMS,
    canonical_difficulty,
    clean_text,
    collapse_whitespace,
    normalise_company,
    normalise_tag,
    parse_list,
    parse_number,
    repair_lost_powers,
    stringify,
)

EXTRA_TAG_MAX_CHARS = 64
_MULTILINE_FIELDS = ("description", "extra_text")


@dataclass
class Contribution:
    """The values one record gives to one catalogue row."""

    id: str
    source: str
    platform: str
    priority: int
    rank: int
    texts: dict[str, str] = field(default_factory=dict)
    numbers: dict[str, Decimal] = field(default_factory=dict)
    lists: dict[str, list[str]] = field(default_factory=dict)
    field_priority: dict[str, int] = field(default_factory=dict)
    rating_source: str = ""

    def priority_of(self, name: str) -> int:
        """Return the priority this contribution has for catalogue column ``name``."""
        return self.field_priority.get(name, self.priority)


@dataclass
class Extraction:
    """The contribution made from a record, or why the record was rejected."""

    contribution: Contribution | None
    reject_reason: str = ""
    reject_detail: str = ""
    invalid: list[tuple[str, str]] = field(default_factory=list)


def lookup(record: dict[str, Any], column: str) -> Any:
    """Return ``record[column]``; a dotted name such as ``meta.tags`` walks nested objects."""
    if column in record:
        return record[column]
    node: Any = record
    for step in column.split("."):
        if not isinstance(node, dict) or step not in node:
            return None
        node = node[step]
    return node


def render_template(template: str, record: dict[str, Any], key: str = "") -> str | None:
    """Fill ``{column}`` placeholders; return None when any placeholder is empty."""
    parts: list[str] = []
    for literal, name, _, _ in string.Formatter().parse(template):
        parts.append(literal)
        if name is None:
            continue
        value = key if name == "key" else stringify(lookup(record, name))
        if not value:
            return None
        parts.append(value)
    return "".join(parts)


def _finish(spec: FieldSpec, value: str) -> str:
    if spec.transform is not None:
        value = TRANSFORMS[spec.transform](value)
    return f"{spec.prefix}{value}" if value else ""


def _raw_text(spec: FieldSpec, record: dict[str, Any], key: str) -> str | None:
    if spec.templates:
        for template in spec.templates:
            rendered = render_template(template, record, key)
            if rendered:
                return rendered
        return None
    parts: list[str] = []
    for column in spec.columns:
        value = lookup(record, column)
        items = value if isinstance(value, list) else [value]
        parts.extend(text for text in map(stringify, items) if text)
    return "\n".join(parts) or None


def _text_field(spec: FieldSpec, record: dict[str, Any], key: str) -> str | None:
    raw = _raw_text(spec, record, key)
    if raw is None:
        return None
    if spec.name in _MULTILINE_FIELDS:
        text = clean_text(_finish(spec, raw))
        return repair_lost_powers(text) if spec.repair_powers else text
    text = collapse_whitespace(_finish(spec, raw))
    if spec.name == "difficulty_label" and text:
        text = canonical_difficulty(text)
    return text


def _number_field(spec: FieldSpec, record: dict[str, Any], key: str) -> Decimal | None:
    if spec.templates:
        raw: Any = _raw_text(spec, record, key)
    else:
        raw = next((v for v in (lookup(record, c) for c in spec.columns) if v not in (None, "")), None)
    number = parse_number(raw)
    if number is None:
        return None
    if spec.scale is not None:
        number *= spec.scale
    if spec.name == "rating" and number <= 0:
        raise ValueError(f"rating must be positive, got {raw!r}")
    if spec.name == "acceptance_rate" and not 0 <= number <= 1:
        raise ValueError(f"acceptance rate must lie in 0..1 after scaling, got {raw!r} -> {number}")
    if spec.name == "popularity" and number < 0:
        raise ValueError(f"popularity must not be negative, got {raw!r}")
    return number


def _list_field(spec: FieldSpec, record: dict[str, Any], key: str, aliases: AliasTable) -> list[str]:
    items: list[str] = []
    for column in spec.columns:
        items.extend(parse_list(lookup(record, column), spec.list_format, spec.separator))
    for template in spec.templates:
        rendered = render_template(template, record, key)
        if rendered:
            items.append(clean_text(rendered))

    normalise: Callable[[str], str] = collapse_whitespace
    table: dict[str, str] = {}
    if spec.name == "tags":
        normalise, table = normalise_tag, dict(aliases.tags)
    elif spec.name == "companies":
        normalise, table = normalise_company, dict(aliases.companies)
    result: list[str] = []
    for item in items:
        value = normalise(_finish(spec, item))
        value = table.get(value, value)
        if value and value not in result:
            result.append(value)

    return result


def _extras(mapping: SourceMapping, record: dict[str, Any]) -> tuple[list[str], list[str]]:
    used = {name.split(".")[0] for name in mapping.referenced_columns()}
    used |= mapping.referenced_columns()
    tags: list[str] = []
    lines: list[str] = []
    for column, value in record.items():
        if column in used or column in mapping.ignore:
            continue
        name = mapping.rename.get(column, column)
        items = value if isinstance(value, list) else [value]
        texts = [text for text in map(stringify, items) if text]
        # All items of one column go to the same place, so a list of hints is
        # not split between tags and text by the length of each hint.
        if all("\n" not in text and len(text) <= EXTRA_TAG_MAX_CHARS for text in texts):
            tags.extend(f"{name}={text}" for text in texts)
        else:
            lines.extend(f"{name}: {' '.join(text.split())}" for text in texts)

    return tags, lines


def extract(mapping: SourceMapping, record: dict[str, Any], rank: int, aliases: AliasTable) -> Extraction:
    """Apply ``mapping`` to one record; ``rank`` orders sources of equal priority."""
    raw_key = _raw_text(mapping.key, record, "")
    if not raw_key:
        source_of_key = ", ".join(mapping.key.columns or mapping.key.templates)
        return Extraction(None, "missing key", f"no value for {source_of_key}")
    try:
        key = collapse_whitespace(_finish(mapping.key, raw_key))
    except ValueError as exc:
        return Extraction(None, "invalid key", str(exc))
    if not key:
        return Extraction(None, "missing key", f"{raw_key!r} gives an empty key")
    if any(char.isspace() for char in key):
        return Extraction(None, "invalid key", f"key {key!r} contains whitespace")

    contribution = Contribution(
        id=f"{mapping.platform}:{key}",
        source=mapping.name,
        platform=mapping.platform,
        priority=mapping.priority,
        rank=rank,
    )
    invalid: list[tuple[str, str]] = []
    for name, spec in mapping.fields.items():
        if spec.priority is not None:
            contribution.field_priority[name] = spec.priority
        try:
            if name in TEXT_FIELDS:
                text = _text_field(spec, record, key)
                if text:
                    contribution.texts[name] = text
            elif name in NUMBER_FIELDS:
                number = _number_field(spec, record, key)
                if number is not None:
                    contribution.numbers[name] = number
                    if name == "rating":
                        contribution.rating_source = spec.rating_source or mapping.name
            elif name in LIST_FIELDS:
                contribution.lists[name] = _list_field(spec, record, key, aliases)
        except ValueError as exc:
            invalid.append((name, str(exc)))

    extra_tags, extra_lines = _extras(mapping, record)
    contribution.lists["extra_tags"] = [*contribution.lists.get("extra_tags", []), *extra_tags]
    if extra_lines:
        mapped = contribution.texts.get("extra_text")
        contribution.texts["extra_text"] = "\n".join(([mapped] if mapped else []) + extra_lines)

    return Extraction(contribution, invalid=invalid)
