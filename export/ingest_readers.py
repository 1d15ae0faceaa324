"""Read the records of one source file as dictionaries, whatever its format.

A record that cannot be read (a CSV row with the wrong number of fields, a
JSON line that does not parse) is returned with a rejection reason instead of
stopping the ingest. A file that cannot be opened or parsed as a whole raises
SourceReadError.
"""

from __future__ import annotations

import csv
import gzip
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from export.ingest_errors import MappingError, SourceReadError
from export.ingest_mapping import SourceMapping

# Lift the csv module's default 128 KiB field limit so that a long statement
# is read as one field instead of failing the whole file.
csv.field_size_limit(sys.maxsize)

_OVERFLOW = "\x00overflow"


@dataclass(frozen=True)
class RawRecord:
    """One record of a source file, or the reason it could not be read."""

    number: int
    data: dict[str, Any] | None
    reject_reason: str = ""
    reject_detail: str = ""


@dataclass(frozen=True)
class SourceRecords:
    """Every record of a source file plus the column names seen in it."""

    records: list[RawRecord]
    columns: frozenset[str]


@contextmanager
def _open_text(path: Path, data_format: str, encoding: str) -> Iterator[IO[str]]:
    if data_format.endswith(".gz"):
        with gzip.open(path, "rt", encoding=encoding, newline="") as handle:
            yield handle
    else:
        with path.open(encoding=encoding, newline="") as handle:
            yield handle


def _read_delimited(handle: IO[str], delimiter: str) -> SourceRecords:
    reader = csv.DictReader(handle, delimiter=delimiter, restkey=_OVERFLOW)
    columns = frozenset(reader.fieldnames or [])
    expected = len(reader.fieldnames or [])
    records: list[RawRecord] = []
    for number, row in enumerate(reader, start=1):
        overflow = row.pop(_OVERFLOW, None)
        missing = [name for name, value in row.items() if value is None]
        if overflow is not None or missing:
            found = expected + len(overflow or []) - len(missing)
            detail = f"row {number}: {found} fields, expected {expected}"
            records.append(RawRecord(number, None, "malformed row (wrong number of fields)", detail))
            continue
        records.append(RawRecord(number, dict(row)))

    return SourceRecords(records, columns)


def _object_record(number: int, item: Any) -> RawRecord:
    if isinstance(item, dict):
        return RawRecord(number, item)
    detail = f"record {number}: got {type(item).__name__}"
    return RawRecord(number, None, "record is not a JSON object", detail)


def _columns_of(records: list[RawRecord]) -> frozenset[str]:
    return frozenset(name for record in records if record.data is not None for name in record.data)


def _read_json_lines(handle: IO[str]) -> SourceRecords:
    records: list[RawRecord] = []
    for number, line in enumerate(handle, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            records.append(RawRecord(number, None, "invalid JSON", f"line {number}: {exc}"))
            continue
        records.append(_object_record(number, item))

    return SourceRecords(records, _columns_of(records))


def _read_json_document(handle: IO[str], mapping: SourceMapping) -> SourceRecords:
    try:
        document = json.load(handle)
    except json.JSONDecodeError as exc:
        raise SourceReadError(f"{mapping.file} (source {mapping.name}) is not valid JSON: {exc}") from exc

    node = document
    for depth, step in enumerate(mapping.record_path):
        if not isinstance(node, dict) or step not in node:
            where = ".".join(mapping.record_path[:depth]) or "the top level"
            available = sorted(node) if isinstance(node, dict) else type(node).__name__
            raise MappingError(
                f"{mapping.label}: record_path {'.'.join(mapping.record_path)!r} fails at {step!r}; "
                f"{where} holds {available}"
            )
        node = node[step]
    if not isinstance(node, list):
        raise MappingError(
            f"{mapping.label}: record_path {'.'.join(mapping.record_path) or '(top level)'!r} "
            f"must lead to a list of records, found {type(node).__name__}"
        )

    records = [_object_record(number, item) for number, item in enumerate(node, start=1)]
    return SourceRecords(records, _columns_of(records))


def read_records(mapping: SourceMapping, data_dir: Path) -> SourceRecords:
    """Read every record of the mapping's source file under ``data_dir``."""
    path = data_dir / mapping.file
    if not path.is_file():
        raise SourceReadError(f"{mapping.label}: source file not found: {path}")
    base_format = mapping.format.removesuffix(".gz")
    try:
        with _open_text(path, mapping.format, mapping.encoding) as handle:
            if base_format in ("csv", "tsv"):
                delimiter = mapping.delimiter or ("\t" if base_format == "tsv" else ",")
                return _read_delimited(handle, delimiter)
            if base_format == "jsonl":
                return _read_json_lines(handle)
            return _read_json_document(handle, mapping)
    except (UnicodeError, LookupError, OSError, EOFError, csv.Error) as exc:
        raise SourceReadError(
            f"{mapping.label}: cannot read {mapping.file} as {mapping.format} ({mapping.encoding}): {exc}"
        ) from exc
