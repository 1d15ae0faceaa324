"""The three endpoints. Each one validates, calls the recommender and builds the response."""

from __future__ import annotations

import contextlib
import logging
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request, Response

from functions import convert, examples, observability
from functions.errors import NOT_FOUND, SERVICE_UNAVAILABLE, ApiError
from functions.feedback_store import (
    FeedbackStore,
    FeedbackStoreError,
    LocalFeedbackStore,
    S3FeedbackStore,
    anonymise,
    write_batch,
)
from functions.schemas import (
    ErrorResponse,
    ExplainRequest,
    ExplainResponse,
    FeedbackRequest,
    FeedbackResponse,
    FieldError,
    HealthResponse,
    RecommendRequest,
    RecommendResponse,
)
from functions.service_provider import ServiceProvider, ServiceUnavailableError
from functions.settings import Settings
from ranking import stages
from ranking.service_api import RecommenderService

router = APIRouter()
logger = logging.getLogger(__name__)
# Used only outside Lambda when no salt is configured, so local runs work; a
# deployed function without a salt refuses feedback instead.
LOCAL_DEVELOPMENT_SALT = b"local-development-only"

_ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorResponse, "description": "The body is not JSON, or not sent as JSON."},
    422: {"model": ErrorResponse, "description": "A field is invalid, and `fields` names each one."},
    500: {"model": ErrorResponse, "description": "Unexpected error. The body carries no details."},
    503: {"model": ErrorResponse, "description": "The recommender is loading or failed to load."},
}
_LOADING_RETRY_SECONDS = "2"


def get_provider(request: Request) -> ServiceProvider:
    """Return the app's recommender provider (a FastAPI dependency)."""
    provider: ServiceProvider = request.app.state.provider
    return provider


ProviderDependency = Annotated[ServiceProvider, Depends(get_provider)]


def _service(provider: ServiceProvider) -> RecommenderService:
    try:
        return provider.get()
    except ServiceUnavailableError as exc:
        raise ApiError(503, SERVICE_UNAVAILABLE, exc.message) from exc


@router.post(
    "/recommend",
    response_model=RecommendResponse,
    responses=_ERROR_RESPONSES,
    summary="Recommend the next problems to practise",
    description=(
        "Ranks catalogue problems the learner has not solved, using the history, "
        "target companies and goal. Each item carries structured `reasons` and, "
        "unless `explain` is false, an explanation: the template by default, or text "
        "from the generative model with `explainer` set to `model`. Unknown history "
        "ids are skipped and listed in `warnings`."
    ),
)
def recommend(
    body: Annotated[
        RecommendRequest,
        Body(
            openapi_examples={
                "learner": {
                    "summary": "Learner with a short history",
                    "value": examples.RECOMMEND_REQUEST_EXAMPLE,
                },
                "cold_start": {
                    "summary": "New learner without history",
                    "value": examples.COLD_START_REQUEST_EXAMPLE,
                },
            }
        ),
    ],
    provider: ProviderDependency,
    explain: Annotated[
        bool | None,
        Query(description="Include explanations. Overrides the body's `explain` field."),
    ] = None,
) -> RecommendResponse:
    service = _service(provider)
    include_explanations = body.explain if explain is None else explain

    # The recommender writes each explanation during recommend(). This layer
    # passes the text through and never calls explain() per item.
    with stages.collect() as timer:
        result = service.recommend(
            convert.to_profile(body),
            k=body.k,
            platforms=convert.to_platforms(body.platforms),
            explain=include_explanations,
            explainer=body.explainer,
            budget_s=body.explanation_budget_ms / 1000,
        )
    observability.record_recommend(result, timer)

    return convert.recommend_response(result, include_explanations=include_explanations)


@router.post(
    "/explain",
    response_model=ExplainResponse,
    responses={
        **_ERROR_RESPONSES,
        404: {"model": ErrorResponse, "description": "`problem_id` is not in the catalogue."},
    },
    summary="Explain why a problem suits the learner",
    description=(
        "Returns the structured reasons and an explanation for one problem, given the "
        "same learner fields as `POST /recommend`. The generative model writes the text "
        "and a grounding check compares it with the reasons; the template stands in when "
        "the check fails or time runs out, as `explanation_source` says."
    ),
)
def explain(
    body: Annotated[
        ExplainRequest,
        Body(
            openapi_examples={
                "learner": {
                    "summary": "Why Minimum Window Substring?",
                    "value": examples.EXPLAIN_REQUEST_EXAMPLE,
                }
            }
        ),
    ],
    provider: ProviderDependency,
) -> ExplainResponse:
    service = _service(provider)

    try:
        with stages.collect() as timer:
            result = service.explain(
                convert.to_profile(body),
                body.problem_id,
                explainer=body.explainer,
                budget_s=body.explanation_budget_ms / 1000,
            )
    except KeyError as exc:
        raise ApiError(
            404,
            NOT_FOUND,
            f"Problem {body.problem_id!r} is not in the catalogue.",
            [
                FieldError(
                    field="problem_id",
                    message="No catalogue problem has this id or alias.",
                    allowed="a catalogue id such as leetcode:two-sum or codeforces:1957B",
                )
            ],
        ) from exc
    observability.record_explain(result, timer)

    return convert.explain_response(result)


@router.get(
    "/health",
    response_model=HealthResponse,
    responses={503: {"model": HealthResponse, "description": "Loading, or failed to load."}},
    summary="Report whether the recommender is ready",
    description=(
        "200 with artifact versions and counts once the recommender has loaded; "
        "503 with `status` `loading` or `unavailable` before that. Inside Lambda "
        "the first call loads the recommender."
    ),
)
def health(provider: ProviderDependency, response: Response) -> HealthResponse:
    if provider.state == "idle":
        # A failure is reported below from the provider's state.
        with contextlib.suppress(ServiceUnavailableError):
            provider.get()

    if provider.state == "loading":
        response.status_code = 503
        response.headers["Retry-After"] = _LOADING_RETRY_SECONDS
        return HealthResponse(
            status="loading",
            model_version=None,
            message="The recommender is loading. Retry in a few seconds.",
        )
    if provider.state == "failed":
        response.status_code = 503
        return HealthResponse(status="unavailable", model_version=None, message=provider.failure_message)

    service = provider.get()
    details = {**service.health(), **provider.details()}

    return HealthResponse(status="ok", model_version=service.model_version, details=details)


def _feedback_salt(request: Request) -> bytes:
    cached: bytes | None = getattr(request.app.state, "feedback_salt", None)
    if cached is not None:
        return cached
    settings: Settings = request.app.state.settings
    if settings.learner_id_salt:
        salt = settings.learner_id_salt.encode("utf-8")
    elif settings.learner_id_salt_parameter:
        import boto3

        try:
            response = boto3.client("ssm").get_parameter(
                Name=settings.learner_id_salt_parameter, WithDecryption=True
            )
        except Exception as exc:  # botocore's client and connection errors alike
            logger.error("learner id salt unreadable from %s: %s", settings.learner_id_salt_parameter, exc)
            raise ApiError(
                503, SERVICE_UNAVAILABLE, "Feedback is not available: the learner id salt is unreadable."
            ) from exc
        salt = str(response["Parameter"]["Value"]).encode("utf-8")
    elif not settings.in_lambda:
        salt = LOCAL_DEVELOPMENT_SALT
    else:
        logger.error(
            "feedback rejected: learner id salt missing; set LEARNER_ID_SALT or LEARNER_ID_SALT_PARAMETER"
        )
        raise ApiError(503, SERVICE_UNAVAILABLE, "Feedback is not configured: no learner id salt is set.")
    request.app.state.feedback_salt = salt
    return salt


def _feedback_store(request: Request) -> FeedbackStore:
    store: FeedbackStore | None = getattr(request.app.state, "feedback_store", None)
    if store is None:
        settings: Settings = request.app.state.settings
        if settings.feedback_bucket:
            import boto3

            store = S3FeedbackStore(boto3.client("s3"), settings.feedback_bucket, settings.feedback_prefix)
        else:
            store = LocalFeedbackStore(settings.feedback_dir)
        request.app.state.feedback_store = store
    return store


@router.post(
    "/feedback",
    response_model=FeedbackResponse,
    responses=_ERROR_RESPONSES,
    summary="Record what learners did with recommendations",
    description=(
        "Stores a batch of feedback events (shown, clicked, solved, failed, dismissed, time "
        "spent, whether the explanation helped) for the weekly retraining. Learner ids are "
        "replaced by a salted hash before storage. The batch is acknowledged only once it is "
        "stored; retrying the same batch, or an event with the same `event_id`, stores it once."
    ),
)
def feedback(body: FeedbackRequest, request: Request) -> FeedbackResponse:
    salt = _feedback_salt(request)
    unique = {event.event_id: event for event in reversed(body.events)}
    events = [
        {
            **event.model_dump(mode="json", exclude={"learner_id"}),
            "learner": anonymise(event.learner_id, salt),
        }
        for event in sorted(unique.values(), key=lambda item: item.event_id)
    ]
    try:
        key = write_batch(_feedback_store(request), events, datetime.now(UTC))
    except FeedbackStoreError as exc:
        logger.error("feedback batch not stored: %s", exc)
        raise ApiError(
            503, SERVICE_UNAVAILABLE, "The feedback could not be stored; retry the same batch later."
        ) from exc
    return FeedbackResponse(accepted=len(events), batch=key)
