"""Request and response models of the HTTP API (pydantic v2).

Requests reject unknown keys (``extra="forbid"``) so that a misspelt field
is reported instead of silently ignored. The limits below bound the work one
request can cause. They are product limits, not recommender limits.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, Strict, StrictBool

from functions import examples
from ranking.types import Status

Platform = Literal["leetcode", "codeforces"]
DifficultyLabel = Literal["easier", "same level", "small step up", "big step up", "unknown level"]

MAX_HISTORY_ITEMS = 2000
MAX_COMPANIES = 20
MAX_K = 50

ProblemId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=200,
        description="Catalogue id `<platform>:<key>`, or an alias such as `leetcode:1`.",
        examples=["leetcode:two-sum", "codeforces:1957B"],
    ),
]
CompanyName = Annotated[str, Field(min_length=1, max_length=100)]

_ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
EARLIEST_YEAR = 1970
LATEST_YEAR = 2100


def _whole_number(value: object) -> object:
    """Let JSON integers and whole floats (40.0) through; reject strings and booleans."""
    if isinstance(value, bool | str):
        raise ValueError("must be a JSON number without a fractional part, not a string or boolean")
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _datetime_text(value: object) -> object:
    """Require an ISO 8601 date-time string; numbers and bare dates are ambiguous."""
    if value is not None and (not isinstance(value, str) or not _ISO_DATETIME.match(value)):
        raise ValueError("must be an ISO 8601 date-time string such as 2025-03-03T20:10:00Z")
    return value


def _plausible_year(value: datetime | None) -> datetime | None:
    if value is not None and not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise ValueError(f"must fall between the years {EARLIEST_YEAR} and {LATEST_YEAR}")
    return value


WholeNumber = Annotated[int, BeforeValidator(_whole_number), Strict()]
Timestamp = Annotated[datetime, BeforeValidator(_datetime_text), AfterValidator(_plausible_year)]


class HistoryItem(BaseModel):
    """One problem the learner worked on."""

    model_config = ConfigDict(extra="forbid")

    problem_id: ProblemId
    status: Status = Field(
        description=(
            "`solved`: accepted. `failed`: gave up or never accepted. `attempted`: still in progress."
        ),
    )
    # The range must come before the validators in Annotated, or pydantic 2.14
    # writes it to the JSON schema as "ge"/"le" in place of minimum/maximum.
    attempts: Annotated[int, Field(ge=0, le=1000), BeforeValidator(_whole_number), Strict()] | None = Field(
        default=None, description="Number of submissions or tries."
    )
    time_spent_minutes: float | None = Field(
        default=None,
        ge=0,
        le=10000,
        allow_inf_nan=False,
        description="Total time spent on the problem, in minutes.",
    )
    timestamp: Timestamp | None = Field(
        default=None,
        description=(
            "When the learner last worked on it: an ISO 8601 date-time between 1970 and 2100. "
            "A time without a zone is read as UTC."
        ),
        examples=["2025-03-03T20:10:00Z"],
    )


class LearnerFields(BaseModel):
    """Fields that describe the learner, common to both POST endpoints."""

    model_config = ConfigDict(extra="forbid")

    learner_id: str | None = Field(
        default=None,
        max_length=128,
        description="Caller's own id for the learner. The service neither stores nor uses it.",
    )
    history: list[HistoryItem] = Field(
        default_factory=list,
        max_length=MAX_HISTORY_ITEMS,
        description=(
            "Problems the learner worked on, oldest first. An empty history gives "
            "cold-start recommendations. Unknown ids are skipped with a warning."
        ),
    )
    target_companies: list[CompanyName] = Field(
        default_factory=list,
        max_length=MAX_COMPANIES,
        description="Companies the learner prepares for, matched case-insensitively.",
        examples=[["google"]],
    )
    target_role: str | None = Field(
        default=None,
        max_length=100,
        description="Role the learner prepares for, such as `backend engineer`.",
    )
    goal: str | None = Field(
        default=None,
        max_length=500,
        description="Free-text learning goal. Problems close to it in meaning rank higher.",
        examples=["get comfortable with sliding window and graphs"],
    )


ExplainerMode = Literal["model", "template"]
ExplanationSource = Literal["model", "template"]
EXPLANATION_SOURCE_DOC = (
    "`model` when the generative model wrote the text and the grounding check passed it; "
    "`template` when fixed sentences were filled from `reasons`."
)
EXPLANATION_FALLBACK_DOC = (
    "Why the template stands in although the request asked for the model (no model loaded, "
    "time budget spent, or what the grounding check rejected); null otherwise."
)
DEFAULT_RECOMMEND_BUDGET_MS = 3000
DEFAULT_EXPLAIN_BUDGET_MS = 3000
MIN_BUDGET_MS = 100
MAX_BUDGET_MS = 20000


class RecommendRequest(LearnerFields):
    """Body of `POST /recommend`."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [examples.RECOMMEND_REQUEST_EXAMPLE]},
    )

    k: WholeNumber = Field(default=10, ge=1, le=MAX_K, description="Number of problems to return.")
    platforms: list[Platform] | None = Field(
        default=None,
        min_length=1,
        max_length=2,
        description=(
            "Platforms to recommend from. Without it, picks stay on the platforms of the "
            "known history items, or come from every platform for an empty history."
        ),
    )
    explain: StrictBool = Field(
        default=True,
        description=(
            "Include the text explanation of each recommendation. The `explain` "
            "query parameter, when given, overrides this field."
        ),
    )
    explainer: ExplainerMode = Field(
        default="template",
        description=(
            "`template` writes every explanation from fixed sentences at no cost. `model` has "
            "the generative model write them in rank order within `explanation_budget_ms`; "
            "items past the budget, and any text the grounding check rejects, keep the "
            "template, and `explanation_source` says which one each item got."
        ),
    )
    explanation_budget_ms: WholeNumber = Field(
        default=DEFAULT_RECOMMEND_BUDGET_MS,
        ge=MIN_BUDGET_MS,
        le=MAX_BUDGET_MS,
        description="Time for all generated explanations of this request together, in milliseconds.",
    )


class ExplainRequest(LearnerFields):
    """Body of `POST /explain`."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [examples.EXPLAIN_REQUEST_EXAMPLE]},
    )

    problem_id: ProblemId
    explainer: ExplainerMode = Field(
        default="model",
        description=(
            "`model` has the generative model write the text, checked against `reasons`; the "
            "template stands in when no model is loaded, time runs out or the check fails. "
            "`template` always uses the fixed sentences."
        ),
    )
    explanation_budget_ms: WholeNumber = Field(
        default=DEFAULT_EXPLAIN_BUDGET_MS,
        ge=MIN_BUDGET_MS,
        le=MAX_BUDGET_MS,
        description="Time the generative model may spend on the text, in milliseconds.",
    )


class RelatedItem(BaseModel):
    """A history problem close in content to the recommended one."""

    problem_id: str
    title: str
    status: Status
    similarity: float | None = Field(
        description="Cosine similarity of the two problems' embeddings, -1 to 1."
    )


class DifficultyStep(BaseModel):
    """The candidate's difficulty against the learner's recent level, on one rating scale."""

    candidate_rating: float | None = Field(description="Rating of the recommended problem.")
    learner_level: float | None = Field(
        description="Rating level of the learner's recent solved problems, or null if unknown."
    )
    step: float | None = Field(description="`candidate_rating - learner_level`, or null if unknown.")
    label: DifficultyLabel
    rating_estimated: bool = Field(
        description=(
            "True when the problem has no rating of its own and `candidate_rating` is "
            "estimated from its difficulty label and acceptance rate."
        )
    )


class Reasons(BaseModel):
    """Structured facts behind a recommendation, the only source of the explanation text."""

    related: list[RelatedItem] = Field(description="History problems most similar to this one.")
    topic_gap: list[str] = Field(
        description="Topics of this problem where the learner's history shows failures or slow solves."
    )
    new_topics: list[str] = Field(description="Topics of this problem that no history problem has.")
    difficulty: DifficultyStep | None = Field(description="Null when the problem has no rating.")
    companies: list[str] = Field(description="Target companies known to ask this problem.")
    goal_similarity: float | None = Field(
        description="Cosine similarity between the problem and the goal text, or null without a goal."
    )
    goal_topics: list[str] = Field(description="Topics of this problem that the goal text names.")
    review: bool = Field(
        description="True when the learner attempted or failed this problem without solving it."
    )
    already_solved: bool = Field(
        description="True when the history shows this problem solved (possible only in `/explain`)."
    )


class Recommendation(BaseModel):
    """One recommended problem."""

    problem_id: str
    title: str
    url: str = Field(description="Problem page, or empty when unknown.")
    platform: str = Field(examples=["leetcode", "codeforces"])
    difficulty_label: str = Field(description="`Easy`, `Medium`, `Hard` or empty.")
    rating: float | None = Field(description="Numeric difficulty, or null when unknown.")
    tags: list[str]
    companies: list[str] = Field(description="Companies known to ask the problem.")
    score: float | None = Field(
        description=(
            "Ranker score, higher is better; comparable only within one response. The list is "
            "in rank order after a diversity re-rank, so a later item can score higher than an "
            "earlier one; the first item always has the highest score. "
            "Null only if the ranker produced a non-finite number."
        )
    )
    reasons: Reasons
    explanation: str | None = Field(
        description=(
            "Why this problem was picked, in plain words, stating only facts from `reasons`. "
            "Null when the request set `explain` to false."
        )
    )
    explanation_source: ExplanationSource | None = Field(
        default=None,
        description=EXPLANATION_SOURCE_DOC + " Null when `explanation` is null.",
    )
    explanation_fallback: str | None = Field(
        default=None,
        description=EXPLANATION_FALLBACK_DOC,
    )


class RecommendResponse(BaseModel):
    """Body of a successful `POST /recommend`."""

    model_config = ConfigDict(json_schema_extra={"examples": [examples.RECOMMEND_RESPONSE_EXAMPLE]})

    recommendations: list[Recommendation] = Field(description="Best first, at most `k` items.")
    warnings: list[str] = Field(description="Problems with the request that did not stop it.")
    cold_start: bool = Field(description="True when the history held no usable problem.")
    model_version: str = Field(description="Identity of the artifacts that served the request.")


class ExplainResponse(BaseModel):
    """Body of a successful `POST /explain`."""

    model_config = ConfigDict(json_schema_extra={"examples": [examples.EXPLAIN_RESPONSE_EXAMPLE]})

    problem_id: str
    title: str
    explanation: str
    explanation_source: ExplanationSource = Field(description=EXPLANATION_SOURCE_DOC)
    explanation_fallback: str | None = Field(default=None, description=EXPLANATION_FALLBACK_DOC)
    reasons: Reasons
    warnings: list[str]
    model_version: str


FeedbackAction = Literal["shown", "clicked", "solved", "failed", "dismissed"]


class FeedbackEvent(BaseModel):
    """One thing a learner did with a recommendation."""

    model_config = ConfigDict(extra="forbid")

    event_id: str = Field(
        min_length=8,
        max_length=100,
        pattern=r"^[A-Za-z0-9_.:-]+$",
        description="Client-made unique id; a retried event with the same id is stored once.",
        examples=["0f5c2a9e-4b1d-4c1e-9a55-3d2f1e6b7c80"],
    )
    learner_id: str = Field(
        min_length=1,
        max_length=200,
        description="The platform's learner id. It is replaced by a salted hash before storage.",
    )
    problem_id: ProblemId
    action: FeedbackAction = Field(description="What the learner did with the recommended problem.")
    timestamp: datetime = Field(description="When it happened, ISO 8601 with a time zone.")
    time_spent_minutes: float | None = Field(default=None, ge=0, le=10000)
    explanation_helpful: StrictBool | None = Field(
        default=None, description="The learner's rating of the explanation, when asked."
    )
    model_version: str | None = Field(default=None, max_length=64, description="From the recommend response.")
    rank: int | None = Field(default=None, ge=1, le=50, description="Position in the recommend response.")


class FeedbackRequest(BaseModel):
    """Body of `POST /feedback`: a batch of events."""

    model_config = ConfigDict(extra="forbid")

    events: list[FeedbackEvent] = Field(min_length=1, max_length=100)


class FeedbackResponse(BaseModel):
    """Body of a successful `POST /feedback`."""

    accepted: int = Field(description="Events stored, after dropping repeated ids within the batch.")
    batch: str = Field(description="Storage key of the batch; a retry of the same batch gets the same key.")


class HealthResponse(BaseModel):
    """Body of `GET /health`."""

    status: Literal["ok", "loading", "unavailable"] = Field(
        description="`ok` (200) when the recommender serves requests, otherwise 503."
    )
    model_version: str | None = Field(description="Null until the recommender has loaded.")
    message: str | None = Field(default=None, description="Why the service is not `ok`.")
    details: dict[str, Any] = Field(
        default_factory=dict,
        description=(
            "Artifact versions and counts from the recommender, its load time, the registry "
            "`registry_version` when served from S3, and `refresh_error` when the last check for "
            "a new model version failed."
        ),
    )


class FieldError(BaseModel):
    """One invalid input."""

    field: str = Field(
        description="Path of the input in the body, such as `history[2].attempts`.",
        examples=["history[2].attempts"],
    )
    message: str
    allowed: str | None = Field(
        default=None,
        description="What the field accepts, such as `an integer from 0 to 1000`.",
    )


class ErrorDetail(BaseModel):
    """Code, message and invalid fields of a failed request."""

    code: str = Field(
        description=(
            "Stable machine-readable code: `validation_error`, `invalid_json`, "
            "`unsupported_content_type`, `empty_body`, `not_found`, `method_not_allowed`, "
            "`http_error`, `service_unavailable` or `internal_error`."
        )
    )
    message: str = Field(description="Human-readable summary.")
    fields: list[FieldError] = Field(default_factory=list)
    request_id: str | None = Field(
        default=None, description="Id of the request, also sent as the `x-request-id` header."
    )


class ErrorResponse(BaseModel):
    """Body of every error response."""

    model_config = ConfigDict(json_schema_extra={"examples": [examples.VALIDATION_ERROR_EXAMPLE]})

    error: ErrorDetail
