"""Write one benchmark's section of ``docs/benchmarks.md``, keeping the others."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

INTRO = (
    "# Benchmarks",
    "",
    "Each section is written by the script named in its command. The figures",
    "that matter are the ratios: both sides of a comparison run in the same",
    "process, on the same inputs, with the same thread count, one after the",
    "other. Absolute timings depend on the machine listed in each section.",
)


def update_section(doc_path: Path, heading: str, body: Sequence[str]) -> None:
    """Replace the ``## heading`` section of ``doc_path`` with ``body``, or append it.

    A section runs from its heading to the next ``## `` heading. The file is
    created with a short introduction when it does not exist.
    """
    lines = doc_path.read_text().splitlines() if doc_path.is_file() else list(INTRO)
    title = f"## {heading}"
    section = [title, "", *body]

    if title in lines:
        start = lines.index(title)
        end = next(
            (i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")),
            len(lines),
        )
        tail = lines[end:]
        lines = [*lines[:start], *section, *([""] if tail else []), *tail]
    else:
        while lines and not lines[-1].strip():
            lines.pop()
        lines = [*lines, "", *section]

    doc_path.parent.mkdir(parents=True, exist_ok=True)
    doc_path.write_text("\n".join(lines).rstrip("\n") + "\n")


def section_body(command: str, machine: Sequence[str], summary: Sequence[str]) -> list[str]:
    """Lay out a benchmark section: the command, the date and machine, then the results."""
    return [
        "Command:",
        "",
        "```",
        command,
        "```",
        "",
        f"Measured {datetime.now(UTC).date().isoformat()} on:",
        "",
        *machine,
        "",
        *summary,
    ]
