"""Domain types shared by the recommender, the explainer and the API layer."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from ranking.catalogue import Problem

Status = Literal["solved", "failed", "attempted"]
STATUSES: tuple[Status, ...] = ("solved", "failed", "attempted")
StepLabel = Literal["easier", "same level", "small step up", "big step up", "unknown level"]
ExplanationSource = Literal["model", "template"]
ExplainerMode = Literal["model", "template"]


@dataclass(frozen=True)
class HistoryItem:
    """One problem the learner touched, in chronological order within the history.

    ``failed`` means the learner gave up or never got accepted; ``attempted``
    means work is still in progress.
    """

    problem_id: str
    status: Status
    attempts: int | None = None
    time_spent_minutes: float | None = None
    timestamp: datetime | None = None


@dataclass(frozen=True)
class LearnerProfile:
    """The learner fields of a request: history, targets and goal."""

    history: tuple[HistoryItem, ...] = ()
    target_companies: tuple[str, ...] = ()
    target_role: str | None = None
    goal: str | None = None


@dataclass(frozen=True)
class RelatedItem:
    """A history problem close to the recommended one."""

    problem_id: str
    title: str
    status: Status
    similarity: float


@dataclass(frozen=True)
class DifficultyStep:
    """The candidate's difficulty against the learner's recent level (same scale).

    ``rating_estimated`` is true when the problem has no rating of its own and
    ``candidate_rating`` is estimated from its difficulty label and acceptance rate.
    """

    candidate_rating: float
    learner_level: float | None
    step: float | None
    label: StepLabel
    rating_estimated: bool = False


@dataclass(frozen=True)
class Reasons:
    """Structured facts behind a recommendation; explanations use nothing else."""

    related: tuple[RelatedItem, ...] = ()
    topic_gap: tuple[str, ...] = ()
    new_topics: tuple[str, ...] = ()
    difficulty: DifficultyStep | None = None
    companies: tuple[str, ...] = ()
    goal_similarity: float | None = None
    goal_topics: tuple[str, ...] = ()
    review: bool = False
    already_solved: bool = False


@dataclass(frozen=True)
class Recommendation:
    """A ranked problem with its score and reasons."""

    problem: Problem
    score: float
    reasons: Reasons
    explanation: str | None = None
    explanation_source: ExplanationSource | None = None
    explanation_fallback: str | None = None


@dataclass(frozen=True)
class RecommendResult:
    """The result of a recommend call."""

    recommendations: list[Recommendation]
    warnings: list[str] = field(default_factory=list)
    cold_start: bool = False
    model_version: str = ""


@dataclass(frozen=True)
class ExplainResult:
    """The result of an explain call."""

    problem: Problem
    reasons: Reasons
    explanation: str
    explanation_source: ExplanationSource = "template"
    explanation_fallback: str | None = None
    warnings: list[str] = field(default_factory=list)
    model_version: str = ""
