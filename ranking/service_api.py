"""The interface the API layer calls. ``ranking.service.Recommender`` implements it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from ranking.types import ExplainerMode, ExplainResult, LearnerProfile, RecommendResult


class RecommenderService(Protocol):
    """The recommender operations that ``functions/`` calls."""

    model_version: str

    def recommend(
        self,
        profile: LearnerProfile,
        k: int = 10,
        platforms: Sequence[str] | None = None,
        explain: bool = True,
        explainer: ExplainerMode = "template",
        budget_s: float = 3.0,
    ) -> RecommendResult:
        """Rank unseen problems for the learner; unknown history ids become warnings.

        With ``explain`` each recommendation carries an explanation: the
        template, or with ``explainer="model"`` generated text written within
        ``budget_s`` seconds for the whole list.
        """
        ...

    def explain(
        self,
        profile: LearnerProfile,
        problem_id: str,
        explainer: ExplainerMode = "template",
        budget_s: float = 3.0,
    ) -> ExplainResult:
        """Explain why ``problem_id`` suits the learner; raise KeyError if it is unknown."""
        ...

    def health(self) -> dict[str, Any]:
        """Return artifact versions and counts for ``GET /health``."""
        ...
