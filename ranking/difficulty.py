"""One numeric difficulty scale across platforms.

Codeforces ratings and zerotrac's LeetCode contest ratings are both Elo-like
and share a scale. LeetCode problems without a contest rating get the median
zerotrac rating of problems with the same difficulty label, fitted from the
catalogue itself, so the mapping follows the data rather than a guess.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from ranking.catalogue import Problem

# Used only when the catalogue has no rated LeetCode Easy problem to fit from.
DEFAULT_COLD_START_LEVEL = 1200.0


@dataclass(frozen=True)
class DifficultyScale:
    """Median rating per (platform, difficulty label), fitted on rated problems."""

    label_ratings: dict[tuple[str, str], float]

    @classmethod
    def fit(cls, problems: Iterable[Problem]) -> DifficultyScale:
        """Fit the label medians from problems that carry both a label and a rating."""
        by_label: dict[tuple[str, str], list[float]] = defaultdict(list)
        for problem in problems:
            if problem.rating is not None and problem.difficulty_label:
                by_label[(problem.platform, problem.difficulty_label)].append(problem.rating)
        medians = {key: float(statistics.median(values)) for key, values in by_label.items()}
        return cls(label_ratings=medians)

    def cold_start_level(self) -> float:
        """Return the level assumed for a learner with no rated solve: the fitted LeetCode Easy rating."""
        return self.label_ratings.get(("leetcode", "Easy"), DEFAULT_COLD_START_LEVEL)

    def rating(self, problem: Problem) -> float | None:
        """Return the problem's rating, or its label's fitted rating, or None."""
        if problem.rating is not None:
            return problem.rating
        return self.label_ratings.get((problem.platform, problem.difficulty_label))
