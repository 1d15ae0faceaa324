"""Build the normalised problem catalogue from the source files in ``data/``.

Every ``data/mappings/*.toml`` names one source file and maps its columns to
the catalogue columns defined in ``ranking.catalogue``. Sources that may
create problems are read first, highest priority first, then the sources that
only enrich existing problems. The result is ``catalogue.csv``, sorted by id,
plus a ``manifest.json`` that records the per-source report and a hash of every
input, so an unchanged build is skipped.

Run it as a script::

    python -m export.ingest --data data --out build/artifacts/catalogue [--force]
"""

from __future__ import annotations

import argparse
import csv
import logging
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from export.ingest_errors import IngestError, MappingError, SourceReadError
from export.ingest_extract import extract
from export.ingest_mapping import (
    ALIASES_FILE,
    AliasTable,
    SourceMapping,
    discover_mappings,
    load_alias_table,
)
from export.ingest_merge import CatalogueBuilder
from export.ingest_readers import SourceRecords, read_records
from export.ingest_report import SourceReport, format_report
from ranking import catalogue as catalogue_module
from ranking.artifacts import inputs_sha256, is_fresh, read_manifest, sha256_file, write_manifest
from ranking.catalogue import CATALOGUE_COLUMNS, CATALOGUE_FILE

logger = logging.getLogger(__name__)

MAPPINGS_DIR = "mappings"
_CODE_FILES = (
    *sorted(Path(__file__).resolve().parent.glob("ingest*.py")),
    Path(catalogue_module.__file__).resolve(),
)


@dataclass(frozen=True)
class IngestPlan:
    """The mappings to run and every file whose content decides the output."""

    mappings: list[SourceMapping]
    aliases: AliasTable
    inputs: list[Path]


@dataclass(frozen=True)
class IngestResult:
    """Catalogue rows as CSV-ready strings, and the report describing them."""

    rows: list[dict[str, str]]
    report: dict[str, Any]


def plan_ingest(data_dir: Path) -> IngestPlan:
    """Load the mappings and alias table under ``data_dir`` and list the input files."""
    mapping_dir = data_dir / MAPPINGS_DIR
    mappings = discover_mappings(mapping_dir)
    alias_path = mapping_dir / ALIASES_FILE
    aliases = load_alias_table(alias_path)

    for mapping in mappings:
        if not (data_dir / mapping.file).is_file():
            raise SourceReadError(f"{mapping.label}: source file not found: {data_dir / mapping.file}")
    inputs = [mapping.path for mapping in mappings]
    if alias_path.is_file():
        inputs.append(alias_path)
    inputs.extend(sorted({data_dir / mapping.file for mapping in mappings}))
    inputs.extend(_CODE_FILES)

    return IngestPlan(mappings, aliases, inputs)


def _ordered(mappings: list[SourceMapping]) -> list[SourceMapping]:
    # Creating sources go first so that enrich-only sources find every problem;
    # within each group the highest priority claims ids (and thus slugs) first.
    return sorted(mappings, key=lambda m: (m.role != "create", -m.priority, m.name))


def _check_columns(mapping: SourceMapping, source: SourceRecords) -> None:
    if not source.columns:
        return
    specs = [("key", mapping.key), *((f"fields.{n}", s) for n, s in mapping.fields.items())]
    for table, spec in specs:
        for column in sorted(spec.referenced_columns()):
            if column in source.columns or column.split(".")[0] in source.columns:
                continue
            raise MappingError(
                f"{mapping.label}: [{table}] column {column!r} not found in {mapping.file}; "
                f"columns: {sorted(source.columns)}"
            )


def run_ingest(plan: IngestPlan, data_dir: Path) -> IngestResult:
    """Read, extract and merge every source; return the rows and the report."""
    builder = CatalogueBuilder()
    reports: dict[str, SourceReport] = {}
    for rank, mapping in enumerate(_ordered(plan.mappings)):
        source = read_records(mapping, data_dir)
        _check_columns(mapping, source)
        report = SourceReport(mapping.name, mapping.file, mapping.role, mapping.priority)
        reports[mapping.name] = report

        for record in source.records:
            report.read += 1
            if record.data is None:
                report.reject(record.reject_reason, record.reject_detail)
                continue
            extraction = extract(mapping, record.data, rank, plan.aliases)
            for field_name, detail in extraction.invalid:
                report.invalid(field_name, f"record {record.number}: {detail}")
            if extraction.contribution is None:
                report.reject(extraction.reject_reason, f"record {record.number}: {extraction.reject_detail}")
                continue
            result = builder.add(extraction.contribution, mapping.role)
            if result.outcome == "kept":
                report.kept += 1
            elif result.outcome == "merged":
                report.merged += 1
            else:
                report.reject(result.reason, f"record {record.number}: {extraction.contribution.id}")

        rejected = sum(report.rejected.values())
        logger.info(
            "ingest: %-22s read %6d  kept %6d  merged %6d  rejected %5d",
            mapping.name, report.read, report.kept, report.merged, rejected,
        )  # fmt: skip

    rows = builder.build_rows()
    logger.info("ingest: merged %d sources into %d problems", len(reports), len(rows))
    report_dict: dict[str, Any] = {
        "sources": {name: entry.as_dict() for name, entry in reports.items()},
        "merge": builder.stats.as_dict(),
        "rows": len(rows),
    }

    return IngestResult(rows, report_dict)


def write_catalogue(rows: list[dict[str, str]], path: Path) -> None:
    """Write the rows to ``path`` through a temporary file, so readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(CATALOGUE_COLUMNS), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    os.replace(tmp, path)


def build_catalogue(data_dir: Path, out_dir: Path, *, force: bool = False) -> Path:
    """Build ``out_dir/catalogue.csv`` and its manifest from the sources in ``data_dir``.

    Parameters
    ----------
    data_dir
        Folder with the source files and ``mappings/*.toml``.
    out_dir
        Artifact folder; created if missing.
    force
        Rebuild even when the manifest shows the same inputs.

    Returns
    -------
    Path
        ``out_dir``.

    Raises
    ------
    MappingError
        A mapping file is invalid or names a column its source lacks.
    SourceReadError
        A source file is missing or cannot be parsed.
    """
    plan = plan_ingest(data_dir)
    digest = inputs_sha256(plan.inputs)
    if not force and is_fresh(out_dir, digest):
        rows = read_manifest(out_dir).get("rows")
        logger.info("ingest: reused the cached catalogue in %s (%s rows, inputs unchanged)", out_dir, rows)
        return out_dir

    logger.info("ingest: %d mappings, %d input files", len(plan.mappings), len(plan.inputs))
    result = run_ingest(plan, data_dir)
    csv_path = out_dir / CATALOGUE_FILE
    write_catalogue(result.rows, csv_path)
    write_manifest(
        out_dir,
        {
            "artifact": "catalogue",
            "files": {CATALOGUE_FILE: sha256_file(csv_path)},
            "inputs_sha256": digest,
            "rows": len(result.rows),
            "report": result.report,
            # Serving applies the same aliases to target companies and to goal text.
            "company_aliases": dict(sorted(plan.aliases.companies.items())),
            "tag_aliases": {k: v for k, v in sorted(plan.aliases.tags.items()) if v},
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        },
    )
    logger.info("ingest: wrote %s (%d rows) and its manifest", csv_path, len(result.rows))

    return out_dir


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ingest from the command line and print the per-source report."""
    parser = argparse.ArgumentParser(prog="python -m export.ingest", description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("data"), help="data folder (default: data)")
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("build/artifacts/catalogue"),
        help="artifact folder for catalogue.csv and manifest.json (default: build/artifacts/catalogue)",
    )
    parser.add_argument("--force", action="store_true", help="rebuild even if the inputs are unchanged")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)

    try:
        out_dir = build_catalogue(args.data, args.out, force=args.force)
    except IngestError as exc:
        print(f"ingest failed: {exc}", file=sys.stderr)
        return 1
    print(format_report(read_manifest(out_dir).get("report", {})))

    return 0


if __name__ == "__main__":
    sys.exit(main())
