"""Structured reasons for one recommendation, from the learner state only."""

from __future__ import annotations

import numpy as np

from ranking.catalogue import Catalogue
from ranking.learner import LearnerState
from ranking.lookup import CatalogueLookup
from ranking.types import DifficultyStep, Reasons, RelatedItem, StepLabel

MAX_RELATED = 2
# Cosine similarity below this is not called "related" to the learner.
RELATED_MIN_SIMILARITY = 0.55
# Bands on the shared rating scale. Codeforces problem ratings come in steps of 100.
SAME_LEVEL_BAND = 100.0
BIG_STEP = 300.0


def difficulty_step(candidate_rating: float, level: float | None, estimated: bool = False) -> DifficultyStep:
    """Describe the candidate's rating against the learner's level."""
    if level is None:
        return DifficultyStep(float(round(candidate_rating)), None, None, "unknown level", estimated)
    step = candidate_rating - level
    label: StepLabel
    if step < -SAME_LEVEL_BAND:
        label = "easier"
    elif step <= SAME_LEVEL_BAND:
        label = "same level"
    elif step <= BIG_STEP:
        label = "small step up"
    else:
        label = "big step up"
    return DifficultyStep(
        float(round(candidate_rating)), float(round(level)), float(round(step)), label, estimated
    )


def build_reasons(
    state: LearnerState,
    position: int,
    catalogue: Catalogue,
    lookup: CatalogueLookup,
    embeddings: np.ndarray,
) -> Reasons:
    """Collect the facts that connect a candidate to the learner."""
    problem = catalogue.problems[position]
    vector = np.asarray(embeddings[position], dtype=np.float32)

    related: list[RelatedItem] = []
    if state.items:
        # The candidate itself may be in the history (a review or an explain
        # call on a solved problem); a problem is never related to itself.
        others = [item for item in state.items if item.position != position]
        history = [item.position for item in others]
        similarity = np.asarray(embeddings[history], dtype=np.float32) @ vector
        for index in np.argsort(-similarity, kind="stable")[:MAX_RELATED]:
            if similarity[index] < RELATED_MIN_SIMILARITY:
                break
            item = others[int(index)]
            related.append(
                RelatedItem(
                    problem_id=catalogue.problems[item.position].id,
                    title=catalogue.problems[item.position].title,
                    status=item.status,
                    similarity=round(float(similarity[index]), 3),
                )
            )

    weak = set(state.weak_topics)
    seen = state.seen_topics
    rating = lookup.ratings[position]
    goal_similarity = None
    if state.goal_vector is not None:
        goal_similarity = round(float(vector @ state.goal_vector.astype(np.float32)), 3)

    return Reasons(
        related=tuple(related),
        topic_gap=tuple(tag for tag in problem.tags if tag in weak),
        new_topics=tuple(tag for tag in problem.tags if state.items and tag not in seen),
        difficulty=None
        if np.isnan(rating)
        else difficulty_step(float(rating), state.level, estimated=problem.rating is None),
        companies=tuple(sorted(state.target_companies.intersection(problem.companies))),
        goal_similarity=goal_similarity,
        goal_topics=tuple(tag for tag in problem.tags if tag in (state.goal_tags or ())),
        review=position in state.unsolved,
        already_solved=position in state.solved,
    )
