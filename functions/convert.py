"""Translate between the HTTP models in ``schemas`` and the recommender's domain types."""

from __future__ import annotations

from functions import schemas
from ranking import types


def to_profile(request: schemas.LearnerFields) -> types.LearnerProfile:
    """Build the recommender's learner profile from a validated request body."""
    history = tuple(
        types.HistoryItem(
            problem_id=item.problem_id,
            status=item.status,
            attempts=item.attempts,
            time_spent_minutes=item.time_spent_minutes,
            timestamp=item.timestamp,
        )
        for item in request.history
    )

    return types.LearnerProfile(
        history=history,
        target_companies=tuple(request.target_companies),
        target_role=request.target_role,
        goal=request.goal,
    )


def to_platforms(platforms: list[schemas.Platform] | None) -> list[str] | None:
    """Return the requested platforms without repeats, or None for all of them."""
    if platforms is None:
        return None
    return list(dict.fromkeys(platforms))


def reasons_model(reasons: types.Reasons) -> schemas.Reasons:
    """Copy the recommender's reasons into the response model."""
    difficulty = None
    if reasons.difficulty is not None:
        difficulty = schemas.DifficultyStep(
            candidate_rating=reasons.difficulty.candidate_rating,
            learner_level=reasons.difficulty.learner_level,
            step=reasons.difficulty.step,
            label=reasons.difficulty.label,
            rating_estimated=reasons.difficulty.rating_estimated,
        )

    return schemas.Reasons(
        related=[
            schemas.RelatedItem(
                problem_id=item.problem_id,
                title=item.title,
                status=item.status,
                similarity=item.similarity,
            )
            for item in reasons.related
        ],
        topic_gap=list(reasons.topic_gap),
        new_topics=list(reasons.new_topics),
        difficulty=difficulty,
        companies=list(reasons.companies),
        goal_similarity=reasons.goal_similarity,
        goal_topics=list(reasons.goal_topics),
        review=reasons.review,
        already_solved=reasons.already_solved,
    )


def recommendation_model(
    recommendation: types.Recommendation, *, include_explanation: bool
) -> schemas.Recommendation:
    """Copy one recommendation, dropping its explanation unless ``include_explanation``."""
    problem = recommendation.problem

    return schemas.Recommendation(
        problem_id=problem.id,
        title=problem.title,
        url=problem.url,
        platform=problem.platform,
        difficulty_label=problem.difficulty_label,
        # zerotrac ratings carry ten decimals; one is plenty for an Elo-style estimate.
        rating=None if problem.rating is None else round(problem.rating, 1),
        tags=list(problem.tags),
        companies=list(problem.companies),
        score=recommendation.score,
        reasons=reasons_model(recommendation.reasons),
        explanation=recommendation.explanation if include_explanation else None,
        explanation_source=recommendation.explanation_source if include_explanation else None,
        explanation_fallback=recommendation.explanation_fallback if include_explanation else None,
    )


def recommend_response(
    result: types.RecommendResult, *, include_explanations: bool
) -> schemas.RecommendResponse:
    """Build the `POST /recommend` body from the recommender's result."""
    return schemas.RecommendResponse(
        recommendations=[
            recommendation_model(item, include_explanation=include_explanations)
            for item in result.recommendations
        ],
        warnings=list(result.warnings),
        cold_start=result.cold_start,
        model_version=result.model_version,
    )


def explain_response(result: types.ExplainResult) -> schemas.ExplainResponse:
    """Build the `POST /explain` body from the recommender's result."""
    return schemas.ExplainResponse(
        problem_id=result.problem.id,
        title=result.problem.title,
        explanation=result.explanation,
        explanation_source=result.explanation_source,
        explanation_fallback=result.explanation_fallback,
        reasons=reasons_model(result.reasons),
        warnings=list(result.warnings),
        model_version=result.model_version,
    )
