"""Reject calls to the protected routes that did not pass API Gateway's authentication.

API Gateway already rejects keyless calls to /recommend, /explain and
/feedback (template.yaml), but a direct invocation of a function, or a
route that someone deploys without the key requirement, would skip that
check. With ``REQUIRE_API_KEY`` set, the app therefore also requires the
auth context that API Gateway writes into the event: the API key id of a
REST API (``requestContext.identity.apiKeyId``) or the JWT claims of an HTTP
API authorizer (``requestContext.authorizer.jwt.claims``). A request without
an event, such as one to the local server, has no auth context either.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from functions.errors import FORBIDDEN, error_response

logger = logging.getLogger(__name__)

PROTECTED_PATHS = frozenset({"/recommend", "/explain", "/feedback"})


def has_auth_context(event: dict[str, Any]) -> bool:
    """Tell whether an API Gateway event carries an API key id or JWT claims."""
    request_context = event.get("requestContext")
    if not isinstance(request_context, dict):
        return False

    identity = request_context.get("identity")
    if isinstance(identity, dict):
        api_key_id = identity.get("apiKeyId")
        if isinstance(api_key_id, str) and api_key_id:
            return True

    authorizer = request_context.get("authorizer")
    jwt = authorizer.get("jwt") if isinstance(authorizer, dict) else None
    claims = jwt.get("claims") if isinstance(jwt, dict) else None
    return isinstance(claims, dict) and bool(claims)


def is_protected(path: str) -> bool:
    """Tell whether ``path`` is a route that needs an auth context; ``/health`` does not."""
    return (path.rstrip("/") or "/") in PROTECTED_PATHS


class AuthContextMiddleware:
    """Return 403 for a protected route whose event lacks an auth context, when ``required``."""

    def __init__(self, app: ASGIApp, required: bool) -> None:
        self.app = app
        self.required = required

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            self.required
            and scope["type"] == "http"
            and is_protected(scope.get("path", ""))
            and not has_auth_context(scope.get("aws.event") or {})
        ):
            request_id = scope.get("state", {}).get("request_id")
            logger.warning(
                "request rejected: no API Gateway auth context",
                extra={"method": scope.get("method"), "path": scope.get("path")},
            )
            response = error_response(
                403,
                FORBIDDEN,
                "The request has no API key. Call the API through API Gateway with the "
                "x-api-key header set to a key of its usage plan.",
                request_id=request_id,
            )
            await response(scope, receive, send)
            return

        await self.app(scope, receive, send)
