"""The per-source ingest report: what each source file gave, merged and lost."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

MAX_EXAMPLES = 3


@dataclass
class SourceReport:
    """Counts for one source: records read, new rows, merges and rejections."""

    name: str
    file: str
    role: str
    priority: int
    read: int = 0
    kept: int = 0
    merged: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    reject_examples: list[str] = field(default_factory=list)
    invalid_values: Counter[str] = field(default_factory=Counter)
    invalid_examples: list[str] = field(default_factory=list)

    def reject(self, reason: str, detail: str) -> None:
        """Count a rejected record and keep the first few details."""
        self.rejected[reason] += 1
        if len(self.reject_examples) < MAX_EXAMPLES:
            self.reject_examples.append(f"{reason}: {detail}" if detail else reason)

    def invalid(self, field_name: str, detail: str) -> None:
        """Count a value that did not parse and was left empty."""
        self.invalid_values[field_name] += 1
        if len(self.invalid_examples) < MAX_EXAMPLES:
            self.invalid_examples.append(f"{field_name}: {detail}")

    def as_dict(self) -> dict[str, Any]:
        """Return the report as plain JSON-ready values."""
        return {
            "file": self.file,
            "role": self.role,
            "priority": self.priority,
            "read": self.read,
            "kept": self.kept,
            "merged": self.merged,
            "rejected": dict(sorted(self.rejected.items())),
            "reject_examples": self.reject_examples,
            "invalid_values": dict(sorted(self.invalid_values.items())),
            "invalid_examples": self.invalid_examples,
        }


def format_report(report: dict[str, Any]) -> str:
    """Render the report stored in the manifest as a plain-text table."""
    sources: dict[str, dict[str, Any]] = report.get("sources", {})
    width = max([len("source"), *map(len, sources)])
    header = f"{'source':<{width}}  {'role':<6}  {'read':>6}  {'kept':>6}  {'merged':>6}  {'rejected':>8}"
    lines = [header, "-" * len(header)]
    for name, entry in sources.items():
        rejected = sum(entry["rejected"].values())
        lines.append(
            f"{name:<{width}}  {entry['role']:<6}  {entry['read']:>6}  {entry['kept']:>6}  "
            f"{entry['merged']:>6}  {rejected:>8}"
        )
    lines.append(f"catalogue rows: {report.get('rows', 0)}")

    for name, entry in sources.items():
        for reason, count in entry["rejected"].items():
            lines.append(f"rejected  {name}: {reason}: {count}")
        for field_name, count in entry["invalid_values"].items():
            lines.append(f"invalid   {name}: {field_name} values left empty: {count}")

    merge = report.get("merge", {})
    for field_name, conflict in merge.get("conflicts", {}).items():
        lines.append(f"conflicts {field_name}: {conflict['count']}")
        lines.extend(f"    e.g. {example}" for example in conflict["examples"])
    for key in ("merged_by_alias", "alias_clashes", "similar_dropped", "title_aliases_skipped"):
        if key in merge:
            lines.append(f"{key.replace('_', ' ')}: {merge[key]}")

    return "\n".join(lines)
