"""Field specs: how one catalogue column, or the problem key, is read from a record.

A mapping file has one ``[fields.<column>]`` table per catalogue column and a
``[key]`` table; this module parses and checks them. The options are listed in
``data/README.md``.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from export.ingest_errors import MappingError
from export.ingest_transforms import LIST_FORMATS, TRANSFORMS

TEXT_FIELDS = ("title", "url", "description", "difficulty_label", "contest", "extra_text")
NUMBER_FIELDS = ("rating", "acceptance_rate", "popularity")
LIST_FIELDS = ("tags", "companies", "similar", "aliases", "extra_tags")
MAPPABLE_FIELDS = TEXT_FIELDS + NUMBER_FIELDS + LIST_FIELDS

_VALUE_OPTIONS = ("column", "columns", "template", "templates")
_COMMON_OPTIONS = (*_VALUE_OPTIONS, "transform", "prefix", "priority")
KEY_OPTIONS = ("column", "template", "transform")


@dataclass(frozen=True)
class FieldSpec:
    """Source columns and parse options for one catalogue column or the problem key."""

    name: str
    columns: tuple[str, ...] = ()
    templates: tuple[str, ...] = ()
    transform: str | None = None
    prefix: str = ""
    priority: int | None = None
    list_format: str = "auto"
    separator: str = ","
    scale: Decimal | None = None
    repair_powers: bool = False
    rating_source: str = ""

    def referenced_columns(self) -> set[str]:
        """Return the record columns this spec reads, template placeholders included."""
        names = set(self.columns)
        for template in self.templates:
            names.update(template_placeholders(template))
        names.discard("key")
        return names


def template_placeholders(template: str) -> list[str]:
    """Return the ``{column}`` names a template refers to, in order."""
    return [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]


def check_options(label: str, table: str, options: Mapping[str, Any], allowed: tuple[str, ...]) -> None:
    """Raise MappingError if ``options`` contains a name outside ``allowed``, such as a typo."""
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise MappingError(
            f"{label}: [{table}] has unknown option(s) {unknown}; allowed: {', '.join(allowed)}"
        )


def _string_tuple(label: str, table: str, name: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise MappingError(f"{label}: [{table}] {name} must be a string or a list of strings")
    return tuple(value)


def _parse_templates(label: str, table: str, templates: tuple[str, ...]) -> None:
    for template in templates:
        try:
            parts = list(string.Formatter().parse(template))
        except ValueError as exc:
            raise MappingError(f"{label}: [{table}] template {template!r} is invalid: {exc}") from exc
        for _, name, spec, conversion in parts:
            if name == "" or spec or conversion:
                raise MappingError(
                    f"{label}: [{table}] template {template!r} may only use plain "
                    "{column} placeholders, without format specs or conversions"
                )


def parse_field(label: str, table: str, name: str, options: Any, allowed: tuple[str, ...]) -> FieldSpec:
    """Check one ``[fields.<name>]`` or ``[key]`` table and return its spec."""
    if not isinstance(options, dict):
        raise MappingError(f'{label}: [{table}] must be a table such as {{ column = "..." }}')
    check_options(label, table, options, allowed)
    given = [option for option in _VALUE_OPTIONS if option in options]
    if len(given) != 1:
        raise MappingError(
            f"{label}: [{table}] needs exactly one of {', '.join(_VALUE_OPTIONS)}, got {given or 'none'}"
        )

    columns: tuple[str, ...] = ()
    templates: tuple[str, ...] = ()
    if given[0] in ("column", "columns"):
        columns = _string_tuple(label, table, given[0], options[given[0]])
    else:
        templates = _string_tuple(label, table, given[0], options[given[0]])
        _parse_templates(label, table, templates)

    transform = options.get("transform")
    if transform is not None and transform not in TRANSFORMS:
        raise MappingError(
            f"{label}: [{table}] transform {transform!r} is unknown; allowed: {', '.join(TRANSFORMS)}"
        )
    list_format = options.get("list_format", "auto")
    if list_format not in LIST_FORMATS:
        raise MappingError(
            f"{label}: [{table}] list_format {list_format!r} is unknown; allowed: {', '.join(LIST_FORMATS)}"
        )
    priority = options.get("priority")
    if priority is not None and (isinstance(priority, bool) or not isinstance(priority, int)):
        raise MappingError(f"{label}: [{table}] priority must be an integer, got {priority!r}")
    scale = options.get("scale")
    if scale is not None and (isinstance(scale, bool) or not isinstance(scale, int | float)):
        raise MappingError(f"{label}: [{table}] scale must be a number, got {scale!r}")

    return FieldSpec(
        name=name,
        columns=columns,
        templates=templates,
        transform=transform,
        prefix=str(options.get("prefix", "")),
        priority=priority,
        list_format=list_format,
        separator=str(options.get("separator", ",")),
        scale=None if scale is None else Decimal(str(scale)),
        repair_powers=bool(options.get("repair_powers", False)),
        rating_source=str(options.get("rating_source", "")),
    )


def _allowed_field_options(name: str) -> tuple[str, ...]:
    if name in NUMBER_FIELDS:
        extra = ("scale", "rating_source") if name == "rating" else ("scale",)
        return (*_COMMON_OPTIONS, *extra)
    if name in LIST_FIELDS:
        return (*_COMMON_OPTIONS, "list_format", "separator")
    return (*_COMMON_OPTIONS, "repair_powers")


def parse_fields(label: str, raw: Any) -> dict[str, FieldSpec]:
    """Check the ``[fields]`` table: every name must be a catalogue column that a mapping may fill."""
    if not isinstance(raw, dict) or not raw:
        raise MappingError(f"{label}: [fields] must map catalogue columns to their source columns")
    fields: dict[str, FieldSpec] = {}
    for name, options in raw.items():
        if name not in MAPPABLE_FIELDS:
            raise MappingError(
                f"{label}: [fields.{name}] is not a catalogue column; allowed: {', '.join(MAPPABLE_FIELDS)}"
            )
        fields[name] = parse_field(label, f"fields.{name}", name, options, _allowed_field_options(name))
    return fields
