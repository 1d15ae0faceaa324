"""The three endpoints. Each one validates, calls the recommender and builds the response."""

from __future__ import annotations

import contextlib
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request, Response

from functions import convert, examples
from functions.errors import NOT_FOUND, SERVICE_UNAVAILABLE, ApiError
from functions.schemas import (
    ErrorResponse,
    ExplainRequest,
    ExplainResponse,
    FieldError,
    HealthResponse,
    RecommendRequest,
    RecommendResponse,
)
from functions.service_provider import ServiceProvider, ServiceUnavailableError
from ranking.service_api import RecommenderService

router = APIRouter()

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
    result = service.recommend(
        convert.to_profile(body),
        k=body.k,
        platforms=convert.to_platforms(body.platforms),
        explain=include_explanations,
        explainer=body.explainer,
        budget_s=body.explanation_budget_ms / 1000,
    )

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
    details = {**service.health(), "load_seconds": provider.load_seconds}

    return HealthResponse(status="ok", model_version=service.model_version, details=details)
