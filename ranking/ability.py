"""Learner ability on the shared rating scale, and the chance to solve a problem.

The model is item-response in its Elo form. A learner of ability ``theta``
solves a problem of rating ``b`` with probability

    P(solve) = sigmoid(slope * (theta - b) / 400 + intercept)

Ability is estimated from the history alone, as the most probable ``theta``
on a grid given every rated item (the Elo slope ln 10 and intercept 0, so
that ``theta`` stays on the rating scale). Each item is one observation:

* a solve at the first attempt counts 1, each extra attempt takes 0.1 off
  (down to 0.6), and a solve that took 45 minutes or more counts at most 0.7;
* a failure counts 0; an attempt still in progress counts 0 at half weight.

Recent items weigh more (half weight every ``HALF_LIFE`` items back), so the
estimate follows a learner who improves. A Gaussian prior around the
cold-start level keeps a short history from producing extreme values.

Per-topic ability uses only the items of that topic, with the learner's
overall ability as the prior, so a topic seen once moves only a little.

The ``SolveModel`` slope and intercept are fitted on real Codeforces attempts
(``export/train_ranker.py``), which calibrates P(solve); the report measures
that calibration on held-out attempts.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ranking.learner import STRUGGLE_MINUTES, ResolvedItem

RATING_GRID = np.arange(0.0, 4001.0, 10.0)
ELO_SLOPE = math.log(10.0)
HALF_LIFE = 20.0
PRIOR_SD = 350.0
TOPIC_PRIOR_SD = 200.0
SLOW_SOLVE_CAP = 0.7
ATTEMPT_PENALTY = 0.1
MIN_SOLVE_OUTCOME = 0.6
IN_PROGRESS_WEIGHT = 0.5


def _sigmoid(values: np.ndarray) -> np.ndarray:
    # logaddexp computes log(1 + exp(-x)) without overflow for either sign of x, and exp of its
    # negation is at most 1.
    return np.exp(-np.logaddexp(0.0, -values))


@dataclass(frozen=True)
class SolveModel:
    """P(solve) = sigmoid(slope * (ability - rating) / 400 + intercept)."""

    slope: float = ELO_SLOPE
    intercept: float = 0.0

    def probability(self, ability: float | np.ndarray, rating: float | np.ndarray) -> np.ndarray:
        """Chance to solve; NaN where the ability or the rating is unknown."""
        step = (np.asarray(ability, dtype=np.float64) - np.asarray(rating, dtype=np.float64)) / 400.0
        known = np.isfinite(step)
        result = np.full(step.shape, np.nan)
        result[known] = _sigmoid(self.slope * step[known] + self.intercept)
        return result

    def to_dict(self) -> dict[str, float]:
        """Return the two parameters as a dict for the manifest."""
        return {"slope": self.slope, "intercept": self.intercept}

    @classmethod
    def from_dict(cls, values: dict[str, float]) -> SolveModel:
        """Read the parameters written by ``to_dict``."""
        return cls(slope=float(values["slope"]), intercept=float(values["intercept"]))


def fit_solve_model(steps: np.ndarray, outcomes: np.ndarray, iterations: int = 50) -> SolveModel:
    """Fit slope and intercept by logistic regression (Newton's method) on real attempts.

    ``steps`` are ``ability - rating`` and ``outcomes`` are 1 (solved) or 0
    (never solved). Raises ValueError when one outcome is missing, since no
    calibration can be learned from a single class.
    """
    x = np.asarray(steps, dtype=np.float64) / 400.0
    y = np.asarray(outcomes, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"steps and outcomes must be 1-D of one length, got {x.shape} and {y.shape}")
    if not 0 < y.sum() < len(y):
        raise ValueError("fitting P(solve) needs both solved and unsolved attempts")
    design = np.column_stack([x, np.ones_like(x)])

    def log_likelihood(w: np.ndarray) -> float:
        z = design @ w
        return float(-(y * np.logaddexp(0.0, -z) + (1.0 - y) * np.logaddexp(0.0, z)).sum())

    weights = np.array([ELO_SLOPE, 0.0])
    current = log_likelihood(weights)
    for _ in range(iterations):
        p = _sigmoid(design @ weights)
        gradient = design.T @ (y - p)
        hessian = design.T @ (design * (p * (1.0 - p))[:, None]) + 1e-6 * np.eye(2)
        update = np.linalg.solve(hessian, gradient)
        # Damped Newton: halve the step until the likelihood does not fall.
        step = 1.0
        while step > 1e-6 and log_likelihood(weights + step * update) < current:
            step /= 2.0
        weights = weights + step * update
        previous, current = current, log_likelihood(weights)
        if abs(current - previous) < 1e-10 * max(1.0, abs(current)):
            break
    return SolveModel(slope=float(weights[0]), intercept=float(weights[1]))


def item_outcome(item: ResolvedItem) -> tuple[float, float]:
    """Return (outcome, weight) of one history item as evidence of ability."""
    if item.status == "failed":
        return 0.0, 1.0
    if item.status != "solved":
        return 0.0, IN_PROGRESS_WEIGHT
    outcome = 1.0
    if item.attempts is not None and item.attempts > 1:
        outcome = max(MIN_SOLVE_OUTCOME, 1.0 - ATTEMPT_PENALTY * (item.attempts - 1))
    if item.time_spent_minutes is not None and item.time_spent_minutes >= STRUGGLE_MINUTES:
        outcome = min(outcome, SLOW_SOLVE_CAP)
    return outcome, 1.0


def estimate_ability(
    ratings: Sequence[float],
    outcomes: Sequence[float],
    weights: Sequence[float],
    prior_mean: float,
    prior_sd: float,
) -> float:
    """Most probable ability on ``RATING_GRID`` given weighted soft outcomes and a Gaussian prior."""
    if not ratings:
        return prior_mean
    b = np.asarray(ratings, dtype=np.float64)
    y = np.asarray(outcomes, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    logits = ELO_SLOPE * (RATING_GRID[:, None] - b[None, :]) / 400.0
    # log sigmoid(z) = -log1p(exp(-z)), written stably for both signs.
    log_p = -np.logaddexp(0.0, -logits)
    log_q = -np.logaddexp(0.0, logits)
    likelihood = (w * (y * log_p + (1.0 - y) * log_q)).sum(axis=1)
    prior = -0.5 * ((RATING_GRID - prior_mean) / prior_sd) ** 2
    return float(RATING_GRID[int(np.argmax(likelihood + prior))])


@dataclass(frozen=True)
class Ability:
    """Overall and per-topic ability of one learner; None where nothing is known."""

    overall: float | None
    by_topic: dict[str, float]

    def topic_mean(self, tags: Sequence[str]) -> float | None:
        """Mean ability over the tags that have an estimate, or None."""
        known = [self.by_topic[tag] for tag in tags if tag in self.by_topic]
        return float(np.mean(known)) if known else None


def learner_ability(
    items: Sequence[ResolvedItem],
    ratings: np.ndarray,
    tags_of: Sequence[Sequence[str]],
    prior_mean: float,
) -> Ability:
    """Estimate ability from history items in time order.

    ``ratings`` contains the shared-scale rating of every catalogue row (NaN when
    unknown) and ``tags_of`` the tags of every row.
    """
    rated = [(i, item) for i, item in enumerate(items) if not math.isnan(float(ratings[item.position]))]
    if not rated:
        return Ability(None, {})
    last = len(items) - 1
    observations: list[tuple[float, float, float]] = []
    by_topic: dict[str, list[tuple[float, float, float]]] = defaultdict(list)
    for index, item in rated:
        outcome, weight = item_outcome(item)
        recency = 0.5 ** ((last - index) / HALF_LIFE)
        observation = (float(ratings[item.position]), outcome, weight * recency)
        observations.append(observation)
        for tag in tags_of[item.position]:
            by_topic[tag].append(observation)
    overall = _estimate(observations, prior_mean, PRIOR_SD)
    topics = {tag: _estimate(values, overall, TOPIC_PRIOR_SD) for tag, values in by_topic.items()}
    return Ability(overall, topics)


def _estimate(
    observations: Sequence[tuple[float, float, float]], prior_mean: float, prior_sd: float
) -> float:
    ratings, outcomes, weights = zip(*observations, strict=True)
    return estimate_ability(ratings, outcomes, weights, prior_mean, prior_sd)
