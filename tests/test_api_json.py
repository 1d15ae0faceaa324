"""JSON rendering never emits NaN or Infinity."""

from __future__ import annotations

import json
import math

import pytest

from functions import convert
from functions.json_response import FiniteJSONResponse, render_json, replace_non_finite
from ranking.catalogue import Problem
from ranking.types import DifficultyStep, Reasons, Recommendation, RecommendResult


def make_problem(rating: float | None) -> Problem:
    return Problem(
        id="leetcode:two-sum",
        platform="leetcode",
        title="Two Sum",
        url="https://leetcode.com/problems/two-sum/",
        description="",
        difficulty_label="Easy",
        rating=rating,
        rating_source="zerotrac",
        tags=("array", "hash table"),
        companies=("google",),
        acceptance_rate=None,
        popularity=None,
        contest="",
        similar=(),
        aliases=("leetcode:1",),
        sources=(),
        extra_text="",
        extra_tags=(),
    )


def test_replace_non_finite_nested() -> None:
    value = {"a": [1.5, math.nan, (math.inf, -math.inf)], "b": {"c": 2}, "d": "NaN"}

    cleaned, replaced = replace_non_finite(value)

    assert cleaned == {"a": [1.5, None, [None, None]], "b": {"c": 2}, "d": "NaN"}
    assert replaced == 3


def test_render_json_writes_null() -> None:
    assert render_json({"score": math.nan, "rating": math.inf}) == b'{"score":null,"rating":null}'


def test_render_json_keeps_unicode() -> None:
    assert render_json({"title": "Größte Zahl"}) == '{"title":"Größte Zahl"}'.encode()


def test_render_json_rejects_unknown_types() -> None:
    with pytest.raises(TypeError, match="not JSON serializable"):
        render_json({"value": object()})


def test_recommend_response_with_non_finite_numbers() -> None:
    reasons = Reasons(
        difficulty=DifficultyStep(
            candidate_rating=math.inf, learner_level=None, step=None, label="unknown level"
        ),
        goal_similarity=math.nan,
    )
    result = RecommendResult(
        recommendations=[Recommendation(problem=make_problem(math.nan), score=math.nan, reasons=reasons)],
        model_version="test",
    )
    model = convert.recommend_response(result, include_explanations=True)

    response = FiniteJSONResponse(model.model_dump(mode="json"))

    body = json.loads(bytes(response.body))
    item = body["recommendations"][0]
    assert item["score"] is None
    assert item["rating"] is None
    assert item["reasons"]["goal_similarity"] is None
    assert item["reasons"]["difficulty"]["candidate_rating"] is None
    assert b"NaN" not in response.body
    assert b"Infinity" not in response.body
