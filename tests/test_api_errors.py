"""Readable field paths and allowed-value descriptions in validation errors."""

from __future__ import annotations

import pytest

from functions.allowed import describe_allowed
from functions.errors import format_location
from functions.schemas import ExplainRequest, RecommendRequest


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        (("body", "history", 2, "attempts"), "history[2].attempts"),
        (("body", "k"), "k"),
        (("body", "platforms", 0), "platforms[0]"),
        (("body",), "body"),
        (("query", "explain"), "query.explain"),
        ((), "body"),
    ],
)
def test_format_location(location: tuple[str | int, ...], expected: str) -> None:
    assert format_location(location) == expected


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (("k",), "an integer from 1 to 50"),
        (("history", 0, "status"), "one of: solved, failed, attempted"),
        (("history", 3, "time_spent_minutes"), "a finite number from 0 to 10000, or null"),
        (("history", 0, "timestamp"), "an ISO 8601 date-time such as 2025-03-03T20:10:00Z, or null"),
        (("history",), "a list of at most 2000 items, each a JSON object"),
        (("platforms",), "a list of 1 to 2 items, each one of: leetcode, codeforces, or null"),
        (("learner_id",), "a string of at most 128 characters, or null"),
        (("explain",), "true or false"),
        ((), "a JSON object"),
    ],
)
def test_describe_allowed_recommend(path: tuple[str | int, ...], expected: str) -> None:
    assert describe_allowed(RecommendRequest, path) == expected


def test_describe_allowed_unknown_path() -> None:
    assert describe_allowed(RecommendRequest, ("no_such_field",)) is None


def test_describe_allowed_lists_fields() -> None:
    allowed = describe_allowed(ExplainRequest, (), list_fields=True)

    assert allowed == (
        "known fields: learner_id, history, target_companies, target_role, goal, problem_id, "
        "explainer, explanation_budget_ms"
    )
