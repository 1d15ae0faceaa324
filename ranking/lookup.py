"""Per-catalogue arrays and maps computed once per container."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from ranking.catalogue import Catalogue, Problem
from ranking.difficulty import DifficultyScale


@dataclass(frozen=True)
class CatalogueLookup:
    """Column arrays over catalogue rows plus company, tag and contest maps.

    ``ratings``, ``log_popularity`` and ``acceptance`` are (n_problems,)
    float32 with NaN where the catalogue has no value.
    """

    ratings: np.ndarray
    log_popularity: np.ndarray
    acceptance: np.ndarray
    platforms: tuple[str, ...]
    tags: tuple[tuple[str, ...], ...]
    by_company: dict[str, list[int]]
    by_tag: dict[str, list[int]]
    by_contest: dict[str, list[int]]
    by_popularity: dict[str, list[int]]
    # Per row: "<platform>:<class>", the Codeforces problem letter (A, B, ...) or
    # the LeetCode difficulty label; empty when unknown.
    classes: tuple[str, ...] = ()
    by_class: dict[str, list[int]] | None = None

    @classmethod
    def build(cls, catalogue: Catalogue, scale: DifficultyScale) -> CatalogueLookup:
        """Compute the arrays and maps; lists are sorted by popularity, most popular first."""
        problems = catalogue.problems
        ratings = np.array([_nan(scale.rating(p)) for p in problems], dtype=np.float32)
        popularity = [_nan(p.popularity) for p in problems]
        log_popularity = np.array(
            [math.log1p(value) if not math.isnan(value) else math.nan for value in popularity],
            dtype=np.float32,
        )
        acceptance = np.array([_nan(p.acceptance_rate) for p in problems], dtype=np.float32)

        order = sorted(
            range(len(problems)),
            key=lambda i: (-(0.0 if math.isnan(popularity[i]) else popularity[i]), problems[i].id),
        )
        by_company: dict[str, list[int]] = defaultdict(list)
        by_tag: dict[str, list[int]] = defaultdict(list)
        by_contest: dict[str, list[int]] = defaultdict(list)
        by_popularity: dict[str, list[int]] = defaultdict(list)
        by_class: dict[str, list[int]] = defaultdict(list)
        classes = tuple(problem_class(p) for p in problems)
        for position in order:
            problem = problems[position]
            for company in problem.companies:
                by_company[company].append(position)
            for tag in problem.tags:
                by_tag[tag].append(position)
            if problem.contest:
                by_contest[problem.contest].append(position)
            by_popularity[problem.platform].append(position)
            if classes[position]:
                by_class[classes[position]].append(position)

        return cls(
            ratings=ratings,
            log_popularity=log_popularity,
            acceptance=acceptance,
            platforms=tuple(p.platform for p in problems),
            tags=tuple(p.tags for p in problems),
            by_company=dict(by_company),
            by_tag=dict(by_tag),
            by_contest=dict(by_contest),
            by_popularity=dict(by_popularity),
            classes=classes,
            by_class=dict(by_class),
        )


def problem_class(problem: Problem) -> str:
    """Return the problem's place in its contest or list, as practice ladders group problems.

    Codeforces problems get their letter (``codeforces:1957B`` -> ``codeforces:B``,
    sub-letters such as ``C1`` count as ``C``); other platforms get their
    difficulty label (``leetcode:Medium``). Empty when neither is known.
    """
    if problem.platform == "codeforces":
        key = problem.id.split(":", 1)[-1]
        letters = key.lstrip("0123456789")
        return f"codeforces:{letters[0].upper()}" if letters else ""
    if problem.difficulty_label:
        return f"{problem.platform}:{problem.difficulty_label}"
    return ""


def _nan(value: float | None) -> float:
    return math.nan if value is None else float(value)
