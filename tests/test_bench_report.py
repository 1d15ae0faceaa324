"""Rewriting one section of the benchmarks page leaves the other sections alone."""

from __future__ import annotations

from pathlib import Path

from bench.report import INTRO, update_section


def test_update_section_creates_file(tmp_path: Path) -> None:
    doc = tmp_path / "docs" / "benchmarks.md"

    update_section(doc, "Encoder", ["| a | b |"])

    text = doc.read_text()
    assert text.startswith(INTRO[0] + "\n")
    assert text.endswith("## Encoder\n\n| a | b |\n")


def test_update_section_replaces_only_its_own(tmp_path: Path) -> None:
    doc = tmp_path / "benchmarks.md"
    doc.write_text("# Benchmarks\n\nIntro.\n\n## Encoder\n\nold figures\n\n## Recommend\n\nkept figures\n")

    update_section(doc, "Encoder", ["new figures"])

    assert doc.read_text() == (
        "# Benchmarks\n\nIntro.\n\n## Encoder\n\nnew figures\n\n## Recommend\n\nkept figures\n"
    )


def test_update_section_appends_missing(tmp_path: Path) -> None:
    doc = tmp_path / "benchmarks.md"
    doc.write_text("# Benchmarks\n\n## Recommend\n\nkept figures\n\n")

    update_section(doc, "Encoder", ["new figures"])

    assert doc.read_text() == ("# Benchmarks\n\n## Recommend\n\nkept figures\n\n## Encoder\n\nnew figures\n")
