"""The one ASGI app behind both Lambda functions and the local server."""

from __future__ import annotations

import functools
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import metadata

from fastapi import FastAPI

from functions.auth import AuthContextMiddleware
from functions.cors import CorsHeadersMiddleware
from functions.errors import install_error_handlers
from functions.json_response import FiniteJSONResponse
from functions.logs import configure_logging
from functions.middleware import RequestContextMiddleware
from functions.routes import router
from functions.schemas import ExplainRequest, FeedbackRequest, RecommendRequest
from functions.service_provider import ServiceFactory, ServiceProvider, build_provider
from functions.settings import Settings, get_settings

logger = logging.getLogger(__name__)

API_TITLE = "Practice recommender API"
API_DESCRIPTION = """\
Recommends the next LeetCode and Codeforces problems a learner should practise,
and explains each choice.

Send the learner's history (problems solved, failed or attempted), target
companies and a free-text goal. Every response carries structured `reasons`
(related history problems, topic gaps, difficulty step, company match) and a
template explanation built only from those reasons.

Errors share one JSON shape: `{"error": {"code", "message", "fields", "request_id"}}`.
Each response carries an `x-request-id` header that matches the service logs.
"""


def _api_version() -> str:
    try:
        return metadata.version("practice-recommender")
    except metadata.PackageNotFoundError:
        return "0.0.0+unknown"


def create_app(
    service_factory: ServiceFactory | None = None,
    *,
    settings: Settings | None = None,
    load_on_startup: bool = False,
    provider: ServiceProvider | None = None,
) -> FastAPI:
    """Build the ASGI app.

    Parameters
    ----------
    service_factory
        Creates the recommender, called once on first use. Defaults to
        ``Recommender.from_artifacts`` on ``settings.artifacts_dir``.
    settings
        Configuration. Defaults to the one parsed from the environment.
    load_on_startup
        Start loading the recommender in a background thread when the ASGI
        lifespan starts (the local server). Lambda runs without lifespan
        events, so there the first request loads it.
    provider
        Serves the recommender instead of one built from ``settings``; it
        cannot be combined with ``service_factory``.
    """
    settings = settings or get_settings()
    if provider is not None and service_factory is not None:
        raise ValueError("pass service_factory or provider to create_app, not both")
    provider = provider or build_provider(settings, service_factory)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if load_on_startup:
            provider.load_in_background()
        yield

    app = FastAPI(
        title=API_TITLE,
        version=_api_version(),
        description=API_DESCRIPTION,
        default_response_class=FiniteJSONResponse,
        lifespan=lifespan,
    )
    app.state.provider = provider
    app.state.settings = settings
    install_error_handlers(
        app, {"/recommend": RecommendRequest, "/explain": ExplainRequest, "/feedback": FeedbackRequest}
    )
    # The last middleware added runs first: CORS headers go on every response,
    # including the 500 and 403 that the inner two write themselves.
    app.add_middleware(AuthContextMiddleware, required=settings.require_api_key)
    app.add_middleware(RequestContextMiddleware, provider=provider)
    if settings.cors_allow_origin:
        app.add_middleware(CorsHeadersMiddleware, origin=settings.cors_allow_origin)
    app.include_router(router)

    return app


@functools.cache
def get_app() -> FastAPI:
    """Return this process's app, configured from the environment (Lambda cold start)."""
    settings = get_settings()
    configure_logging(settings.log_level, in_lambda=settings.in_lambda)
    logger.info(
        "app created",
        extra={"artifacts_dir": str(settings.artifacts_dir), "in_lambda": settings.in_lambda},
    )

    return create_app(settings=settings)
