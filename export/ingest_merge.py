"""Merge contributions from all sources into one catalogue row per problem.

A contribution joins an existing row when its id matches, or when one of its
aliases (``leetcode:28``) already names a row. The second case handles slugs
that LeetCode renamed between the scrapes (``implement-strstr`` became
``find-the-index-of-the-first-occurrence-in-a-string``), and the other id is
kept as an alias. For single-valued columns the contribution with the highest
priority that has a value wins; list columns are the union of all of them.
Sources that disagree on a title, a difficulty label or a rating are counted
as conflicts. Titles that differ only in case or spacing are not.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

from export.ingest_extract import Contribution
from export.ingest_fields import LIST_FIELDS, NUMBER_FIELDS, TEXT_FIELDS
from export.ingest_transforms import collapse_whitespace, format_number
from ranking.catalogue import CATALOGUE_COLUMNS, LIST_COLUMNS

CONFLICT_FIELDS = ("title", "difficulty_label", "rating")
MAX_EXAMPLES = 5


@dataclass(frozen=True)
class AddResult:
    """Outcome of adding one contribution: a new row, a merge or a rejection."""

    outcome: Literal["kept", "merged", "rejected"]
    reason: str = ""


@dataclass
class MergeStats:
    """Counts from the merge step, for the ingest report."""

    conflicts: Counter[str] = field(default_factory=Counter)
    conflict_examples: dict[str, list[str]] = field(default_factory=dict)
    merged_by_alias: int = 0
    alias_clashes: int = 0
    similar_dropped: int = 0
    title_aliases_skipped: int = 0

    def as_dict(self) -> dict[str, object]:
        """Return the stats as plain JSON-ready values."""
        return {
            "conflicts": {
                name: {"count": self.conflicts[name], "examples": self.conflict_examples.get(name, [])}
                for name in CONFLICT_FIELDS
            },
            "merged_by_alias": self.merged_by_alias,
            "alias_clashes": self.alias_clashes,
            "similar_dropped": self.similar_dropped,
            "title_aliases_skipped": self.title_aliases_skipped,
        }


def _conflict_value(name: str, contribution: Contribution) -> tuple[str, str] | None:
    if name in NUMBER_FIELDS:
        number = contribution.numbers.get(name)
        return None if number is None else (format_number(number), format_number(number))
    text = contribution.texts.get(name)
    return None if text is None else (collapse_whitespace(text).casefold(), text)


class CatalogueBuilder:
    """Collects contributions source by source and resolves them into rows."""

    def __init__(self) -> None:
        self._contributions: dict[str, list[Contribution]] = {}
        self._alias_owner: dict[str, str] = {}
        self._former_ids: dict[str, set[str]] = {}
        self.stats = MergeStats()

    def __len__(self) -> int:
        return len(self._contributions)

    def _find(self, contribution: Contribution) -> str | None:
        if contribution.id in self._contributions:
            return contribution.id
        for alias in contribution.lists.get("aliases", []):
            owner = self._alias_owner.get(alias)
            if owner is not None:
                return owner
        return None

    def add(self, contribution: Contribution, role: str) -> AddResult:
        """Add one contribution; a ``create`` source may start a new row, ``enrich`` may not."""
        target = self._find(contribution)
        if target is None:
            if role != "create":
                return AddResult("rejected", "id not in the catalogue (enrich-only source)")
            if not contribution.texts.get("title"):
                return AddResult("rejected", "missing title")
            target = contribution.id
            self._contributions[target] = []
            result = AddResult("kept")
        else:
            result = AddResult("merged")
            if target != contribution.id:
                self.stats.merged_by_alias += 1
                self._former_ids.setdefault(target, set()).add(contribution.id)
                self._alias_owner.setdefault(contribution.id, target)

        self._contributions[target].append(contribution)
        for alias in contribution.lists.get("aliases", []):
            owner = self._alias_owner.setdefault(alias, target)
            if owner != target:
                self.stats.alias_clashes += 1

        return result

    def _record_conflicts(self, problem_id: str, contributions: list[Contribution]) -> None:
        for name in CONFLICT_FIELDS:
            by_source: dict[str, tuple[str, str]] = {}
            for contribution in contributions:
                value = _conflict_value(name, contribution)
                if value is not None:
                    by_source.setdefault(contribution.source, value)
            if len({normalised for normalised, _ in by_source.values()}) < 2:
                continue
            self.stats.conflicts[name] += 1
            examples = self.stats.conflict_examples.setdefault(name, [])
            if len(examples) < MAX_EXAMPLES:
                values = ", ".join(f"{source}={shown!r}" for source, (_, shown) in sorted(by_source.items()))
                examples.append(f"{problem_id}: {values}")

    def _resolve(self, problem_id: str, contributions: list[Contribution]) -> dict[str, object]:
        def ordered(name: str) -> list[Contribution]:
            return sorted(contributions, key=lambda c: (-c.priority_of(name), c.rank))

        row: dict[str, object] = {"id": problem_id, "platform": contributions[0].platform}
        for name in TEXT_FIELDS:
            if name == "extra_text":
                lines = [line for c in ordered(name) for line in c.texts.get(name, "").split("\n")]
                row[name] = "\n".join(dict.fromkeys(line for line in lines if line))
                continue
            row[name] = next((c.texts[name] for c in ordered(name) if name in c.texts), "")
        for name in NUMBER_FIELDS:
            winner = next((c for c in ordered(name) if name in c.numbers), None)
            row[name] = None if winner is None else winner.numbers[name]
            if name == "rating":
                row["rating_source"] = "" if winner is None else winner.rating_source
        for name in LIST_FIELDS:
            items = [item for c in ordered(name) for item in c.lists.get(name, [])]
            row[name] = list(dict.fromkeys(items))
        row["sources"] = sorted({c.source for c in contributions})

        return row

    def _finish_aliases(self, rows: list[dict[str, object]]) -> None:
        titles = Counter(collapse_whitespace(str(row["title"])).lower() for row in rows)
        for row in rows:
            problem_id = str(row["id"])
            aliases = [a for a in _as_list(row["aliases"]) if self._alias_owner.get(a) == problem_id]
            aliases.extend(sorted(self._former_ids.get(problem_id, set())))
            title = collapse_whitespace(str(row["title"])).lower()
            if titles[title] > 1:
                self.stats.title_aliases_skipped += 1
            elif title not in self._alias_owner and title not in self._contributions:
                aliases.append(title)
            row["aliases"] = sorted(set(aliases) - {problem_id})

    def _finish_similar(self, rows: list[dict[str, object]]) -> None:
        for row in rows:
            resolved: list[str] = []
            for similar_id in _as_list(row["similar"]):
                target = similar_id if similar_id in self._contributions else None
                target = target or self._alias_owner.get(similar_id)
                if target is None:
                    self.stats.similar_dropped += 1
                elif target != row["id"] and target not in resolved:
                    resolved.append(target)
            row["similar"] = resolved

    def build_rows(self) -> list[dict[str, str]]:
        """Resolve every problem into a catalogue row of strings, sorted by id."""
        rows: list[dict[str, object]] = []
        for problem_id in sorted(self._contributions):
            contributions = self._contributions[problem_id]
            self._record_conflicts(problem_id, contributions)
            rows.append(self._resolve(problem_id, contributions))
        self._finish_similar(rows)
        self._finish_aliases(rows)

        return [_to_strings(row) for row in rows]


def _as_list(value: object) -> list[str]:
    return [str(item) for item in value] if isinstance(value, list) else []


def _to_strings(row: dict[str, object]) -> dict[str, str]:
    cells: dict[str, str] = {}
    for column in CATALOGUE_COLUMNS:
        value = row.get(column)
        if column in LIST_COLUMNS:
            cells[column] = json.dumps(_as_list(value), ensure_ascii=False)
        elif value is None:
            cells[column] = ""
        elif isinstance(value, Decimal):
            cells[column] = format_number(value)
        else:
            cells[column] = str(value)
    return cells
