"""Mapping files: how one source file's columns feed the catalogue columns.

Each ``data/mappings/<source>.toml`` describes one source. The ingest finds
every such file, so adding a source needs a mapping file and no code. The
format is documented in ``data/README.md``; in short::

    [source]                     # where the records are and how they merge
    file = "dir/file.csv"        # relative to the data folder
    format = "csv"               # csv, tsv, jsonl, json, or those plus ".gz"
    platform = "leetcode"        # the id prefix
    role = "create"              # "create" new problems or only "enrich" them
    priority = 10                # higher wins when sources disagree

    [key]                        # the problem key; id = "<platform>:<key>"
    column = "url"
    transform = "last_path_segment"

    [fields.title]               # one table per catalogue column
    column = "title"

``aliases.toml`` in the same folder is not a source. It contains the company
and tag alias tables.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from export.ingest_errors import MappingError
from export.ingest_fields import KEY_OPTIONS, FieldSpec, check_options, parse_field, parse_fields
from export.ingest_transforms import normalise_company, normalise_tag

ALIASES_FILE = "aliases.toml"

FORMATS = ("csv", "tsv", "jsonl", "json")
ROLES = ("create", "enrich")
_SOURCE_OPTIONS = (
    "name", "file", "format", "record_path", "platform", "role", "priority",
    "delimiter", "encoding", "ignore", "rename",
)  # fmt: skip
_NAME_PATTERN = re.compile(r"[a-z][a-z0-9_]*")


@dataclass(frozen=True)
class SourceMapping:
    """One parsed mapping file."""

    path: Path
    name: str
    file: str
    format: str
    platform: str
    role: str
    priority: int
    key: FieldSpec
    fields: Mapping[str, FieldSpec]
    record_path: tuple[str, ...] = ()
    delimiter: str | None = None
    encoding: str = "utf-8-sig"
    ignore: frozenset[str] = frozenset()
    rename: Mapping[str, str] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """The mapping file as ``mappings/<name>.toml``, for messages."""
        return f"{self.path.parent.name}/{self.path.name}"

    def referenced_columns(self) -> set[str]:
        """Return every record column that the key or a field reads."""
        names = self.key.referenced_columns()
        for spec in self.fields.values():
            names |= spec.referenced_columns()
        return names


@dataclass(frozen=True)
class AliasTable:
    """Canonical names for companies and tags, keyed by the normalised variant."""

    companies: Mapping[str, str] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise MappingError(f"{path.parent.name}/{path.name} is not valid TOML: {exc}") from exc


def _require_str(label: str, table: str, options: Mapping[str, Any], name: str) -> str:
    value = options.get(name)
    if not isinstance(value, str) or not value:
        raise MappingError(f"{label}: [{table}] {name} must be a non-empty string, got {value!r}")
    return value


def _parse_format(label: str, value: str) -> str:
    base = value.removesuffix(".gz")
    if base not in FORMATS:
        allowed = ", ".join([*FORMATS, *(f"{fmt}.gz" for fmt in FORMATS)])
        raise MappingError(f"{label}: [source] format {value!r} is unknown; allowed: {allowed}")
    return value


def load_mapping(path: Path) -> SourceMapping:
    """Parse and check one mapping file; raise MappingError naming the file and option."""
    label = f"{path.parent.name}/{path.name}"
    document = _read_toml(path)
    check_options(label, "top level", document, ("source", "key", "fields"))
    source = document.get("source")
    if not isinstance(source, dict):
        raise MappingError(f"{label}: the [source] table is missing")
    check_options(label, "source", source, _SOURCE_OPTIONS)

    name = source.get("name", path.stem)
    if not isinstance(name, str) or not _NAME_PATTERN.fullmatch(name):
        raise MappingError(f"{label}: [source] name {name!r} must match {_NAME_PATTERN.pattern}")
    file = _require_str(label, "source", source, "file")
    if Path(file).is_absolute() or ".." in Path(file).parts:
        raise MappingError(f"{label}: [source] file {file!r} must be a path inside the data folder")
    data_format = _parse_format(label, _require_str(label, "source", source, "format"))
    platform = _require_str(label, "source", source, "platform")
    if not _NAME_PATTERN.fullmatch(platform):
        raise MappingError(f"{label}: [source] platform {platform!r} must be one lowercase word")
    role = source.get("role", "create")
    if role not in ROLES:
        raise MappingError(f"{label}: [source] role {role!r} is unknown; allowed: {', '.join(ROLES)}")
    priority = source.get("priority", 0)
    if isinstance(priority, bool) or not isinstance(priority, int):
        raise MappingError(f"{label}: [source] priority must be an integer, got {priority!r}")

    record_path = source.get("record_path", "")
    if not isinstance(record_path, str):
        raise MappingError(f"{label}: [source] record_path must be a dotted string such as 'result.rows'")
    if record_path and not data_format.startswith("json"):
        raise MappingError(f"{label}: [source] record_path applies only to json formats, not {data_format}")
    ignore = source.get("ignore", [])
    if not isinstance(ignore, list) or not all(isinstance(item, str) for item in ignore):
        raise MappingError(f"{label}: [source] ignore must be a list of column names")
    rename = source.get("rename", {})
    if not isinstance(rename, dict) or not all(isinstance(v, str) and v for v in rename.values()):
        raise MappingError(f"{label}: [source] rename must map column names to new names")
    delimiter = source.get("delimiter")
    if delimiter is not None and (not isinstance(delimiter, str) or len(delimiter) != 1):
        raise MappingError(f"{label}: [source] delimiter must be one character, got {delimiter!r}")

    key = parse_field(label, "key", "key", document.get("key"), KEY_OPTIONS)
    if "{key}" in "".join(key.templates):
        raise MappingError(f"{label}: [key] template cannot refer to {{key}} itself")
    fields = parse_fields(label, document.get("fields"))
    if role == "create" and "title" not in fields:
        raise MappingError(f"{label}: a source with role 'create' needs [fields.title]")

    return SourceMapping(
        path=path,
        name=name,
        file=file,
        format=data_format,
        platform=platform,
        role=role,
        priority=priority,
        key=key,
        fields=fields,
        record_path=tuple(record_path.split(".")) if record_path else (),
        delimiter=delimiter,
        encoding=str(source.get("encoding", "utf-8-sig")),
        ignore=frozenset(ignore),
        rename=dict(rename),
    )


def discover_mappings(mapping_dir: Path) -> list[SourceMapping]:
    """Load every ``*.toml`` in ``mapping_dir`` except the alias table, sorted by file name."""
    if not mapping_dir.is_dir():
        raise MappingError(f"mapping folder not found: {mapping_dir}; add one TOML file per source")
    paths = sorted(p for p in mapping_dir.glob("*.toml") if p.name != ALIASES_FILE)
    if not paths:
        raise MappingError(f"no mapping files (*.toml) in {mapping_dir}")
    mappings = [load_mapping(path) for path in paths]

    seen: dict[str, str] = {}
    for mapping in mappings:
        if mapping.name in seen:
            raise MappingError(
                f"{mapping.label}: source name {mapping.name!r} is already used by {seen[mapping.name]}"
            )
        seen[mapping.name] = mapping.label

    return mappings


def load_alias_table(path: Path) -> AliasTable:
    """Read ``aliases.toml`` ([companies] and [tags] tables); a missing file means no aliases."""
    if not path.is_file():
        return AliasTable()
    label = f"{path.parent.name}/{path.name}"
    document = _read_toml(path)
    check_options(label, "top level", document, ("companies", "tags"))
    tables: dict[str, dict[str, str]] = {}
    for section, normalise in (("companies", normalise_company), ("tags", normalise_tag)):
        raw = document.get(section, {})
        if not isinstance(raw, dict) or not all(isinstance(v, str) for v in raw.values()):
            raise MappingError(f"{label}: [{section}] must map names to canonical names (strings)")
        tables[section] = {normalise(variant): normalise(canonical) for variant, canonical in raw.items()}

    return AliasTable(companies=tables["companies"], tags=tables["tags"])
