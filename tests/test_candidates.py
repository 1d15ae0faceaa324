"""Candidate sources and the features that describe them, on the real catalogue."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ranking.catalogue import Problem
from ranking.features import REVIEW_INTERVAL_ITEMS
from ranking.lookup import problem_class
from ranking.service import Recommender
from ranking.types import HistoryItem, LearnerProfile
from tests.problems import make_problem


def _problem(problem_id: str, platform: str, label: str = "") -> Problem:
    return make_problem(problem_id, platform, difficulty_label=label)


@pytest.mark.parametrize(
    ("problem", "expected"),
    [
        (_problem("codeforces:1957B", "codeforces"), "codeforces:B"),
        (_problem("codeforces:1500C1", "codeforces"), "codeforces:C"),
        (_problem("codeforces:102979F", "codeforces"), "codeforces:F"),
        (_problem("leetcode:two-sum", "leetcode", "Easy"), "leetcode:Easy"),
        (_problem("leetcode:new-problem", "leetcode"), ""),
    ],
)
def test_problem_class(problem: Problem, expected: str) -> None:
    assert problem_class(problem) == expected


def _a_ladder(recommender: Recommender, count: int) -> list[int]:
    """The most solved Codeforces A problems, in popularity order."""
    lookup = recommender.pipeline.lookup
    return (lookup.by_class or {})["codeforces:A"][:count]


def test_class_source_continues_below_the_last_solve(recommender: Recommender) -> None:
    pipeline = recommender.pipeline
    solved = _a_ladder(recommender, 8)
    history = tuple(HistoryItem(pipeline.catalogue.problems[p].id, "solved") for p in solved)
    state = pipeline.state(LearnerProfile(history=history), encode=None)
    candidates = pipeline.candidates(state)
    continued = [p for p in candidates.positions if "class" in candidates.sources[p]]

    assert continued
    last_popularity = pipeline.lookup.log_popularity[solved[-1]]
    for position in continued:
        assert pipeline.lookup.classes[position] == "codeforces:A"
        assert position not in state.solved
        assert pipeline.lookup.log_popularity[position] <= last_popularity
    # The next problem of the ladder is the first of the list.
    first = min(continued, key=lambda p: candidates.class_rank[p])
    assert candidates.class_rank[first] == 0

    features = pipeline.features(state, candidates)
    row = candidates.positions.index(first)
    assert features.column("class_rank")[row] == 0
    assert features.column("same_class_share")[row] == pytest.approx(1.0)
    assert features.column("popularity_step")[row] <= 0


def test_review_due_after_the_interval(recommender: Recommender) -> None:
    pipeline = recommender.pipeline
    rows = _a_ladder(recommender, REVIEW_INTERVAL_ITEMS + 3)
    ids = [pipeline.catalogue.problems[p].id for p in rows]
    # The first failure is followed by REVIEW_INTERVAL_ITEMS + 1 items, the second by one.
    history = (
        HistoryItem(ids[0], "failed", attempts=2),
        *(HistoryItem(pid, "solved") for pid in ids[1 : REVIEW_INTERVAL_ITEMS + 1]),
        HistoryItem(ids[REVIEW_INTERVAL_ITEMS + 1], "failed", attempts=1),
        HistoryItem(ids[REVIEW_INTERVAL_ITEMS + 2], "solved"),
    )
    state = pipeline.state(LearnerProfile(history=history), encode=None)
    candidates = pipeline.candidates(state)
    features = pipeline.features(state, candidates)
    due = dict(zip(candidates.positions, features.column("review_due"), strict=True))
    since = dict(zip(candidates.positions, features.column("items_since_touch"), strict=True))

    assert since[rows[0]] == REVIEW_INTERVAL_ITEMS + 2
    assert due[rows[0]] == 1.0
    assert since[rows[REVIEW_INTERVAL_ITEMS + 1]] == 1
    assert due[rows[REVIEW_INTERVAL_ITEMS + 1]] == 0.0
    fresh = next(p for p in candidates.positions if p not in rows)
    assert due[fresh] == 0.0
    assert math.isnan(since[fresh])


def test_p_solve_falls_with_rating(recommender: Recommender) -> None:
    pipeline = recommender.pipeline
    rows = _a_ladder(recommender, 10)
    history = tuple(HistoryItem(pipeline.catalogue.problems[p].id, "solved") for p in rows)
    state = pipeline.state(LearnerProfile(history=history), encode=None)
    candidates = pipeline.candidates(state)
    features = pipeline.features(state, candidates)
    rating = features.column("candidate_rating")
    p_solve = features.column("p_solve")
    known = ~np.isnan(rating) & ~np.isnan(p_solve)

    assert known.sum() > 10
    assert np.all((p_solve[known] > 0) & (p_solve[known] < 1))
    # One learner, so a harder problem tends to get a lower P(solve).
    assert np.corrcoef(rating[known], p_solve[known])[0, 1] < 0
