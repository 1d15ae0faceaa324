"""Matching a free-text goal to catalogue tags."""

from __future__ import annotations

import pytest

from ranking.goal import GoalMatcher, words_of

TAGS = (
    "binary search",
    "binary search tree",
    "tree",
    "binary tree",
    "sliding window",
    "graph",
    "math",
    "string",
    "dynamic programming",
    "heap (priority queue)",
    "array",
)
ALIASES = {"dp": "dynamic programming", "graphs": "graph", "unknown alias": "not a tag"}


@pytest.fixture(scope="module")
def matcher() -> GoalMatcher:
    return GoalMatcher(TAGS, ALIASES)


@pytest.mark.parametrize(
    ("goal", "expected"),
    [
        ("get comfortable with sliding window and graphs", {"sliding window", "graph"}),
        ("binary search tree", {"binary search tree"}),
        ("binary search and trees", {"binary search", "tree"}),
        ("dp", {"dynamic programming"}),
        ("1-D Dynamic Programming", {"dynamic programming"}),
        ("Heap / Priority Queue", {"heap (priority queue)"}),
        ("Arrays & Hashing", {"array"}),
        ("anything but math or strings please", set()),
        ("not math, but graphs", {"graph"}),
        ("no graphs", set()),
        ("window sliding", set()),
        ("", set()),
    ],
)
def test_goal_topics(matcher: GoalMatcher, goal: str, expected: set[str]) -> None:
    assert matcher.topics(goal) == expected


def test_alias_to_unknown_tag_is_ignored(matcher: GoalMatcher) -> None:
    assert matcher.topics("unknown alias") == frozenset()


def test_words_drop_plural_and_case() -> None:
    assert words_of("Graphs, Trees & BFS") == ("graph", "tree", "bfs")
