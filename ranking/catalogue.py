"""The normalised problem catalogue: one CSV row per problem.

Column contract (written by ``export/ingest.py``, read here):

==================  =====================================================
``id``              stable key, ``<platform>:<key>``: ``leetcode:two-sum``,
                    ``codeforces:1957B``
``platform``        ``leetcode`` or ``codeforces`` (any lowercase word)
``title``           display title
``url``             canonical problem URL, may be empty
``description``     statement text, cleaned (no BOM, no zero-width spaces)
``difficulty_label``  ``Easy``/``Medium``/``Hard`` or empty
``rating``          numeric difficulty (zerotrac or Codeforces), empty = unknown
``rating_source``   where ``rating`` came from, empty when ``rating`` is empty
``tags``            list: topic tags, lowercase
``companies``       list: company names, lowercase
``acceptance_rate`` fraction 0..1, empty = unknown
``popularity``      accepted/solved count, empty = unknown
``contest``         contest key such as ``codeforces:1957``, may be empty
``similar``         list: ids of problems the platform links as similar
``aliases``         list: other keys that name this problem (``leetcode:1``)
``sources``         list: names of the sources that contributed to the row
``extra_text``      unmapped text columns, as ``name: value`` lines
``extra_tags``      list: unmapped short values, as ``name=value``
==================  =====================================================

List columns hold a JSON array of strings, ``[]`` when empty. Empty numeric
cells mean unknown (never 0).
"""

from __future__ import annotations

import csv
import json
import math
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ranking.exceptions import CatalogueError

CATALOGUE_COLUMNS: tuple[str, ...] = (
    "id",
    "platform",
    "title",
    "url",
    "description",
    "difficulty_label",
    "rating",
    "rating_source",
    "tags",
    "companies",
    "acceptance_rate",
    "popularity",
    "contest",
    "similar",
    "aliases",
    "sources",
    "extra_text",
    "extra_tags",
)
LIST_COLUMNS: frozenset[str] = frozenset({"tags", "companies", "similar", "aliases", "sources", "extra_tags"})
CATALOGUE_FILE = "catalogue.csv"


@dataclass(frozen=True)
class Problem:
    """One catalogue row, parsed."""

    id: str
    platform: str
    title: str
    url: str
    description: str
    difficulty_label: str
    rating: float | None
    rating_source: str
    tags: tuple[str, ...]
    companies: tuple[str, ...]
    acceptance_rate: float | None
    popularity: float | None
    contest: str
    similar: tuple[str, ...]
    aliases: tuple[str, ...]
    sources: tuple[str, ...]
    extra_text: str
    extra_tags: tuple[str, ...]


def _parse_list(value: str, column: str, row_id: str) -> tuple[str, ...]:
    if not value:
        return ()
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError as exc:
        raise CatalogueError(f"{row_id}: column {column} is not a JSON list: {value[:80]!r}") from exc
    if not isinstance(parsed, list) or not all(isinstance(item, str) for item in parsed):
        raise CatalogueError(f"{row_id}: column {column} must be a JSON list of strings")
    return tuple(parsed)


def _parse_number(value: str, column: str, row_id: str) -> float | None:
    if value == "":
        return None
    try:
        number = float(value)
    except ValueError as exc:
        raise CatalogueError(f"{row_id}: column {column} is not a number: {value!r}") from exc
    if not math.isfinite(number):
        raise CatalogueError(f"{row_id}: column {column} is not finite: {value!r}")
    return number


def parse_row(row: dict[str, str]) -> Problem:
    """Build a Problem from one CSV row (all values as strings)."""
    row_id = row.get("id", "")
    if not row_id:
        raise CatalogueError("a catalogue row has an empty id")
    return Problem(
        id=row_id,
        platform=row["platform"],
        title=row["title"],
        url=row["url"],
        description=row["description"],
        difficulty_label=row["difficulty_label"],
        rating=_parse_number(row["rating"], "rating", row_id),
        rating_source=row["rating_source"],
        tags=_parse_list(row["tags"], "tags", row_id),
        companies=_parse_list(row["companies"], "companies", row_id),
        acceptance_rate=_parse_number(row["acceptance_rate"], "acceptance_rate", row_id),
        popularity=_parse_number(row["popularity"], "popularity", row_id),
        contest=row["contest"],
        similar=_parse_list(row["similar"], "similar", row_id),
        aliases=_parse_list(row["aliases"], "aliases", row_id),
        sources=_parse_list(row["sources"], "sources", row_id),
        extra_text=row["extra_text"],
        extra_tags=_parse_list(row["extra_tags"], "extra_tags", row_id),
    )


def iter_catalogue(path: Path) -> Iterator[Problem]:
    """Yield the problems of a catalogue CSV in file order."""
    csv.field_size_limit(sys.maxsize)
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in CATALOGUE_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise CatalogueError(f"{path} lacks columns {missing}; expected {list(CATALOGUE_COLUMNS)}")
        for row in reader:
            yield parse_row(row)


class Catalogue:
    """All problems, addressable by id or alias, in a fixed order.

    ``position(id)`` is the row number used as the vector index key.
    """

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        self._by_id: dict[str, int] = {}
        for position, problem in enumerate(problems):
            if problem.id in self._by_id:
                raise CatalogueError(f"duplicate catalogue id {problem.id}")
            self._by_id[problem.id] = position
        self._aliases: dict[str, str] = {problem.id.lower(): problem.id for problem in problems}
        for problem in problems:
            for alias in problem.aliases:
                self._aliases.setdefault(alias.lower(), problem.id)

    @classmethod
    def load(cls, path: Path) -> Catalogue:
        """Read a catalogue CSV (the file or its folder)."""
        if path.is_dir():
            path = path / CATALOGUE_FILE
        if not path.is_file():
            raise CatalogueError(f"catalogue not found: {path}; build it with `make artifacts`")
        return cls(list(iter_catalogue(path)))

    def __len__(self) -> int:
        return len(self.problems)

    def __contains__(self, problem_id: object) -> bool:
        return problem_id in self._by_id

    def get(self, problem_id: str) -> Problem:
        """Return the problem with this exact id; raise KeyError if unknown."""
        return self.problems[self._by_id[problem_id]]

    def position(self, problem_id: str) -> int:
        """Return the row number of a problem id."""
        return self._by_id[problem_id]

    def resolve(self, key: str) -> str | None:
        """Map an id or an alias (case-insensitive) to a catalogue id, or None."""
        if key in self._by_id:
            return key
        return self._aliases.get(key.strip().lower())
