"""Ranking features for (learner, candidate) pairs.

The ranker is matched to these columns by name (``FEATURE_NAMES``), never by
position. Missing values are NaN, which LightGBM and its ONNX conversion
route down a learned default branch, so an unknown rating or an absent goal
is never mistaken for 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ranking.ability import SolveModel
from ranking.candidates import Candidates
from ranking.catalogue import Catalogue
from ranking.learner import LearnerState
from ranking.lookup import CatalogueLookup

FEATURE_NAMES: tuple[str, ...] = (
    "candidate_rating",
    "learner_level",
    "rating_step",
    "abs_rating_step",
    "sim_recent_max",
    "sim_recent_mean",
    "sim_last",
    "sim_failed_max",
    "sim_goal",
    "goal_topic_match",
    "topic_seen_fraction",
    "weak_topic_count",
    "new_topic_count",
    "company_match",
    "log_popularity",
    "acceptance_rate",
    "previously_unsolved",
    "previous_attempts",
    "same_contest_recent",
    "platform_share",
    "linked_similar",
    "history_solved_log",
    "recent_mean_attempts",
    "recent_mean_minutes",
    "ability",
    "ability_step",
    "topic_ability",
    "topic_ability_step",
    "p_solve",
    "items_since_touch",
    "review_due",
    "level_rank",
    "class_rank",
    "same_class_share",
    "popularity_step",
)
# A failed or unfinished problem is due for review once this many newer
# history items have come after it.
REVIEW_INTERVAL_ITEMS = 5
NAN = math.nan


@dataclass(frozen=True)
class FeatureMatrix:
    """Features of one candidate group: (n_candidates, n_features) float32."""

    positions: list[int]
    values: np.ndarray
    names: tuple[str, ...] = FEATURE_NAMES

    def column(self, name: str) -> np.ndarray:
        """Return one feature column by name."""
        return self.values[:, self.names.index(name)]


def _max_or_nan(matrix: np.ndarray) -> np.ndarray:
    if matrix.shape[1] == 0:
        return np.full(matrix.shape[0], NAN, dtype=np.float32)
    return matrix.max(axis=1)


def compute_features(
    state: LearnerState,
    candidates: Candidates,
    catalogue: Catalogue,
    lookup: CatalogueLookup,
    embeddings: np.ndarray,
    solve_model: SolveModel | None = None,
) -> FeatureMatrix:
    """Compute every feature for every candidate of one learner.

    ``solve_model`` turns the ability step into P(solve); without one the
    ``p_solve`` column stays NaN.
    """
    positions = candidates.positions
    n = len(positions)
    values = np.full((n, len(FEATURE_NAMES)), NAN, dtype=np.float32)
    if n == 0:
        return FeatureMatrix(positions, values)
    column = {name: i for i, name in enumerate(FEATURE_NAMES)}
    rows = np.asarray(positions, dtype=np.int64)
    candidate_vectors = np.asarray(embeddings[rows], dtype=np.float32)

    ratings = lookup.ratings[rows]
    level = NAN if state.feature_level is None else state.feature_level
    values[:, column["candidate_rating"]] = ratings
    values[:, column["learner_level"]] = level
    values[:, column["rating_step"]] = ratings - level
    values[:, column["abs_rating_step"]] = np.abs(ratings - level)

    if state.recent_solved:
        recent = np.asarray(embeddings[state.recent_solved], dtype=np.float32)
        similarity = candidate_vectors @ recent.T
        values[:, column["sim_recent_max"]] = similarity.max(axis=1)
        values[:, column["sim_recent_mean"]] = similarity.mean(axis=1)
        values[:, column["sim_last"]] = similarity[:, -1]
    if state.unsolved:
        failed = np.asarray(embeddings[list(state.unsolved)], dtype=np.float32)
        values[:, column["sim_failed_max"]] = _max_or_nan(candidate_vectors @ failed.T)
    if state.goal_vector is not None:
        values[:, column["sim_goal"]] = candidate_vectors @ state.goal_vector.astype(np.float32)

    seen = state.seen_topics
    weak = set(state.weak_topics)
    companies = state.target_companies
    recent_contests = {catalogue.problems[item.position].contest for item in state.items[-3:]} - {""}
    platform_counts: dict[str, int] = {}
    for item in state.items[-20:]:
        platform = lookup.platforms[item.position]
        platform_counts[platform] = platform_counts.get(platform, 0) + 1
    window = max(1, min(20, len(state.items)))
    solved_order = [item.position for item in state.items if item.status == "solved"]
    recent_classes = [lookup.classes[p] for p in solved_order[-10:]]

    for i, position in enumerate(positions):
        problem = catalogue.problems[position]
        tags = problem.tags
        if tags and state.items:
            values[i, column["topic_seen_fraction"]] = sum(tag in seen for tag in tags) / len(tags)
            values[i, column["new_topic_count"]] = sum(tag not in seen for tag in tags)
        values[i, column["weak_topic_count"]] = sum(tag in weak for tag in tags)
        if companies:
            values[i, column["company_match"]] = len(companies.intersection(problem.companies))
        if state.goal_tags is not None:
            values[i, column["goal_topic_match"]] = sum(tag in state.goal_tags for tag in tags)
        unsolved = state.unsolved.get(position)
        values[i, column["previously_unsolved"]] = 1.0 if unsolved else 0.0
        tried = unsolved.attempts if unsolved and unsolved.attempts is not None else 0
        values[i, column["previous_attempts"]] = tried
        values[i, column["same_contest_recent"]] = 1.0 if problem.contest in recent_contests else 0.0
        if state.items:
            share = platform_counts.get(problem.platform, 0) / window
            values[i, column["platform_share"]] = share
        values[i, column["linked_similar"]] = 1.0 if "similar_link" in candidates.sources[position] else 0.0
        if position in candidates.level_rank:
            values[i, column["level_rank"]] = candidates.level_rank[position]
        if position in candidates.class_rank:
            values[i, column["class_rank"]] = candidates.class_rank[position]
        if recent_classes:
            values[i, column["same_class_share"]] = recent_classes.count(lookup.classes[position]) / len(
                recent_classes
            )

    values[:, column["log_popularity"]] = lookup.log_popularity[rows]
    if solved_order:
        values[:, column["popularity_step"]] = (
            lookup.log_popularity[rows] - lookup.log_popularity[solved_order[-1]]
        )
    values[:, column["acceptance_rate"]] = lookup.acceptance[rows]
    values[:, column["history_solved_log"]] = math.log1p(len(state.solved))
    recent_items = [item for item in state.items[-10:] if item.status == "solved"]
    attempts = [item.attempts for item in recent_items if item.attempts is not None]
    minutes = [item.time_spent_minutes for item in recent_items if item.time_spent_minutes is not None]
    values[:, column["recent_mean_attempts"]] = float(np.mean(attempts)) if attempts else NAN
    values[:, column["recent_mean_minutes"]] = float(np.mean(minutes)) if minutes else NAN
    _ability_features(state, positions, catalogue, ratings, values, column, solve_model)
    _review_features(state, positions, values, column)
    return FeatureMatrix(positions, values)


def _ability_features(
    state: LearnerState,
    positions: list[int],
    catalogue: Catalogue,
    ratings: np.ndarray,
    values: np.ndarray,
    column: dict[str, int],
    solve_model: SolveModel | None,
) -> None:
    ability = state.ability
    if ability is None or ability.overall is None:
        return
    values[:, column["ability"]] = ability.overall
    values[:, column["ability_step"]] = ratings - ability.overall
    topic = np.array(
        [_none_to_nan(ability.topic_mean(catalogue.problems[p].tags)) for p in positions], dtype=np.float32
    )
    values[:, column["topic_ability"]] = topic
    values[:, column["topic_ability_step"]] = ratings - topic
    if solve_model is not None:
        # The topic estimate, where there is one, is the sharper view of this problem.
        theta = np.where(np.isnan(topic), ability.overall, topic)
        values[:, column["p_solve"]] = solve_model.probability(theta, ratings)


def _review_features(
    state: LearnerState, positions: list[int], values: np.ndarray, column: dict[str, int]
) -> None:
    values[:, column["review_due"]] = 0.0
    last_touch = {item.position: index for index, item in enumerate(state.items)}
    newest = len(state.items) - 1
    for row, position in enumerate(positions):
        touched = last_touch.get(position)
        if touched is None:
            continue
        since = newest - touched
        values[row, column["items_since_touch"]] = since
        if position in state.unsolved:
            values[row, column["review_due"]] = 1.0 if since >= REVIEW_INTERVAL_ITEMS else 0.0


def _none_to_nan(value: float | None) -> float:
    return NAN if value is None else value


def align_features(values: np.ndarray, names: tuple[str, ...], wanted: tuple[str, ...]) -> np.ndarray:
    """Reorder feature columns from ``names`` to ``wanted``, matching by name.

    Raises
    ------
    ValueError
        When a feature the model needs is not computed.
    """
    missing = [name for name in wanted if name not in names]
    if missing:
        raise ValueError(f"the ranker needs features {missing} that the feature code does not compute")
    order = [names.index(name) for name in wanted]
    return np.ascontiguousarray(values[:, order])
