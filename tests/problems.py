"""A catalogue ``Problem`` with every field empty unless the test sets it."""

from __future__ import annotations

from typing import Any

from ranking.catalogue import Problem

EMPTY: dict[str, Any] = {
    "title": "t",
    "url": "",
    "description": "",
    "difficulty_label": "",
    "rating": None,
    "rating_source": "",
    "tags": (),
    "companies": (),
    "acceptance_rate": None,
    "popularity": None,
    "contest": "",
    "similar": (),
    "aliases": (),
    "sources": (),
    "extra_text": "",
    "extra_tags": (),
}


def make_problem(problem_id: str, platform: str, **fields: Any) -> Problem:
    """Build a problem from its id and platform; ``fields`` override the empty defaults."""
    unknown = set(fields) - set(EMPTY)
    if unknown:
        raise TypeError(f"Problem has no fields {sorted(unknown)}")
    return Problem(id=problem_id, platform=platform, **{**EMPTY, **fields})
