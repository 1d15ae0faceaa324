"""Ability estimates and the P(solve) model, on hand-made histories and seeded synthetic attempts."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ranking.ability import (
    ELO_SLOPE,
    SolveModel,
    estimate_ability,
    fit_solve_model,
    item_outcome,
    learner_ability,
)
from ranking.catalogue import Problem
from ranking.difficulty import DifficultyScale
from ranking.learner import ResolvedItem
from tests.problems import make_problem


def test_outcomes_of_history_items() -> None:
    # First-attempt solve 1.0; three attempts 1.0 - 0.1 * 2 = 0.8; nine attempts floor at 0.6;
    # a 50-minute solve is capped at 0.7; a failure 0 at full weight; an attempt in progress 0 at half.
    assert item_outcome(ResolvedItem(0, "solved", 1, None)) == (1.0, 1.0)
    assert item_outcome(ResolvedItem(0, "solved", 3, None)) == pytest.approx((0.8, 1.0))
    assert item_outcome(ResolvedItem(0, "solved", 9, None)) == pytest.approx((0.6, 1.0))
    assert item_outcome(ResolvedItem(0, "solved", None, 50.0)) == pytest.approx((0.7, 1.0))
    assert item_outcome(ResolvedItem(0, "failed", 2, None)) == (0.0, 1.0)
    assert item_outcome(ResolvedItem(0, "attempted", None, None)) == (0.0, 0.5)


def test_even_record_gives_the_rating() -> None:
    # One solve and one failure at 1600 with a flat prior: the likelihood p(1 - p) peaks at p = 0.5,
    # that is at ability 1600.
    assert estimate_ability([1600.0, 1600.0], [1.0, 0.0], [1.0, 1.0], 1600.0, 1e9) == 1600.0


def test_failures_lower_the_estimate() -> None:
    solves = estimate_ability([1500.0] * 4 + [1900.0] * 4, [1.0] * 8, [1.0] * 8, 1200.0, 350.0)
    mixed = estimate_ability([1500.0] * 4 + [1900.0] * 4, [1.0] * 4 + [0.0] * 4, [1.0] * 8, 1200.0, 350.0)
    assert mixed < solves
    assert 1500.0 <= mixed <= 1900.0


def test_no_rated_item_leaves_ability_unknown() -> None:
    ratings = np.array([math.nan, math.nan])
    ability = learner_ability([ResolvedItem(0, "solved", 1, None)], ratings, [("dp",), ("graphs",)], 1250.0)
    assert ability.overall is None
    assert ability.topic_mean(["dp"]) is None


def test_topic_ability_is_pulled_towards_the_overall_one() -> None:
    ratings = np.array([1400.0, 1400.0, 1400.0, 2000.0])
    tags = [("greedy",), ("greedy",), ("greedy",), ("dp",)]
    items = [ResolvedItem(p, "solved", 1, None) for p in range(3)] + [ResolvedItem(3, "failed", 1, None)]
    ability = learner_ability(items, ratings, tags, 1250.0)
    assert ability.overall is not None
    # The dp failure at 2000 puts dp below the overall estimate; greedy solves put greedy above it.
    assert ability.by_topic["dp"] < ability.overall < ability.by_topic["greedy"]
    assert ability.topic_mean(["dp", "greedy", "unknown"]) == pytest.approx(
        (ability.by_topic["dp"] + ability.by_topic["greedy"]) / 2
    )


def test_fit_recovers_the_parameters_of_seeded_attempts() -> None:
    rng = np.random.default_rng(5)
    steps = rng.normal(0.0, 300.0, 20000)
    probability = SolveModel(slope=1.5, intercept=0.8).probability(steps, 0.0)
    outcomes = (rng.random(len(steps)) < probability).astype(float)
    model = fit_solve_model(steps, outcomes)
    assert model.slope == pytest.approx(1.5, abs=0.1)
    assert model.intercept == pytest.approx(0.8, abs=0.1)


def test_fit_needs_both_outcomes() -> None:
    with pytest.raises(ValueError, match="both solved and unsolved"):
        fit_solve_model(np.array([1.0, 2.0]), np.array([1.0, 1.0]))


def test_probability_nan_when_unknown() -> None:
    model = SolveModel()
    values = model.probability(np.array([1500.0, math.nan, 1500.0]), np.array([1500.0, 1500.0, math.nan]))
    # Ability equal to rating with the Elo slope and intercept 0 gives exactly one half.
    assert values[0] == pytest.approx(0.5)
    assert np.isnan(values[1])
    assert np.isnan(values[2])
    assert SolveModel.from_dict(model.to_dict()) == SolveModel(ELO_SLOPE, 0.0)


def _rated(rating: float | None, acceptance: float | None, label: str = "Medium") -> Problem:
    return make_problem(
        f"leetcode:p{rating}-{acceptance}",
        "leetcode",
        difficulty_label=label,
        rating=rating,
        rating_source="zerotrac" if rating is not None else "",
        acceptance_rate=acceptance,
    )


def test_label_line_rates_unrated_problems() -> None:
    # 41 rated Medium problems on the exact line rating = 2000 - 800 * acceptance, acceptance 0.2 .. 0.6.
    rated = [_rated(2000 - 800 * a, a) for a in np.linspace(0.2, 0.6, 41)]
    scale = DifficultyScale.fit(rated)
    # Acceptance 0.5 -> 2000 - 400 = 1600, inside the 5th..95th percentiles (1536..1824).
    assert scale.rating(_rated(None, 0.5)) == pytest.approx(1600.0)
    # Acceptance 0.95 would give 1240; it is clipped to the 5th percentile, 2000 - 800 * 0.58 = 1536.
    assert scale.rating(_rated(None, 0.95)) == pytest.approx(1536.0)
    # Without an acceptance rate the label's median (acceptance 0.4 -> 1680) is used.
    assert scale.rating(_rated(None, None)) == pytest.approx(1680.0)
    # A label with no rated problem stays unknown.
    assert scale.rating(_rated(None, 0.5, label="Hard")) is None
