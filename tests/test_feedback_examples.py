"""Stored feedback events become ranker examples with the right history, labels and splits."""

from __future__ import annotations

from typing import Any

import pytest

from export.feedback_examples import MIN_PRIOR_SOLVES, events_sha256, feedback_examples
from ranking.service import Recommender


@pytest.fixture(scope="module")
def problem_ids(recommender: Recommender) -> list[str]:
    """Twelve real Codeforces problem ids from the catalogue."""
    problems = recommender.pipeline.catalogue.problems
    return [p.id for p in problems if p.platform == "codeforces"][:12]


def event(number: int, learner: str, problem_id: str, action: str, **extra: Any) -> dict[str, Any]:
    """One stored event as ``POST /feedback`` writes it (learner already hashed)."""
    return {
        "event_id": f"evt-{learner}-{number:04d}",
        "learner": learner,
        "problem_id": problem_id,
        "action": action,
        "timestamp": f"2026-11-{1 + number // 24:02d}T{number % 24:02d}:00:00+00:00",
        **extra,
    }


def test_solve_sequence_graded_examples(recommender: Recommender, problem_ids: list[str]) -> None:
    p = problem_ids
    events = [
        event(0, "aa", p[0], "failed", time_spent_minutes=30.0),
        event(1, "aa", p[0], "solved", time_spent_minutes=10.0),
        event(2, "aa", p[1], "solved"),
        event(3, "aa", p[2], "shown"),
        event(4, "aa", p[2], "solved"),
        event(5, "aa", p[3], "clicked"),
        event(6, "aa", p[4], "solved"),
    ]
    examples, stats = feedback_examples(events, recommender.pipeline.catalogue)

    assert stats.events == 7
    assert stats.learners == 1
    # Four first solves, the first MIN_PRIOR_SOLVES only build history.
    assert len(examples) == 4 - MIN_PRIOR_SOLVES == 2
    first = examples[0]
    assert first.split == "train"
    # History before the third solve: p0 failed once then solved (2 attempts, 40 minutes), p1 solved.
    history = {item.problem_id: item for item in first.profile.history}
    assert set(history) == {p[0], p[1]}
    assert history[p[0]].status == "solved"
    assert history[p[0]].attempts == 2
    assert history[p[0]].time_spent_minutes == 40.0
    # The next solve is the positive; the clicked problem and the later solve are weaker positives.
    assert first.relevance == {p[2]: 3, p[3]: 1, p[4]: 1}
    assert examples[1].relevance == {p[4]: 3}


def test_bad_events_counted_and_skipped(recommender: Recommender, problem_ids: list[str]) -> None:
    events = [
        event(0, "bb", "codeforces:no-such-problem", "solved"),
        {**event(1, "bb", problem_ids[0], "solved"), "timestamp": "not a time"},
        {**event(2, "bb", problem_ids[1], "solved"), "timestamp": "2026-11-01T10:00:00"},
        {**event(3, "bb", problem_ids[2], "solved"), "action": "liked"},
        {key: value for key, value in event(4, "bb", problem_ids[3], "solved").items() if key != "learner"},
    ]
    examples, stats = feedback_examples(events, recommender.pipeline.catalogue)

    assert examples == []
    assert stats.skipped_unknown_problem == 1
    # A bad timestamp, a timestamp without a zone, an unknown action and a missing learner.
    assert stats.skipped_unreadable == 4


def test_learners_apart_in_time_order(recommender: Recommender, problem_ids: list[str]) -> None:
    p = problem_ids
    # Stored out of order and interleaved with another learner.
    events = [
        event(3, "cc", p[3], "solved"),
        event(0, "dd", p[5], "solved"),
        event(0, "cc", p[0], "solved"),
        event(2, "cc", p[2], "solved"),
        event(1, "cc", p[1], "solved"),
    ]
    examples, stats = feedback_examples(events, recommender.pipeline.catalogue)

    assert stats.learners == 2
    assert [e.relevance for e in examples] == [{p[2]: 3, p[3]: 1}, {p[3]: 3}]
    assert all(e.group.startswith("feedback:cc:") for e in examples)
    assert [item.problem_id for item in examples[0].profile.history] == [p[0], p[1]]


def test_event_hash_ignores_order() -> None:
    events = [{"event_id": "b", "x": 1}, {"event_id": "a", "x": 2}]
    assert events_sha256(events) == events_sha256(list(reversed(events)))
    assert events_sha256(events) != events_sha256([{"event_id": "a", "x": 3}, events[0]])
