"""ASGI middleware: request id, log fields, an access log line and metrics per request, and the 500 guard.

The request id comes from API Gateway (``requestContext.requestId``), else
from the Lambda context, else from a well-formed ``x-request-id`` header the
client sent, else it is generated. It is returned as ``x-request-id``, and
it is bound to every log line of the request, with the cold start and the
model version once the recommender has loaded.

Any exception that escapes the app is logged with its traceback, and the
client gets a generic 500 JSON body, so no stack trace or internal message reaches
the client.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from functions import logs, observability
from functions.errors import INTERNAL_ERROR, error_response
from functions.service_provider import ServiceProvider

logger = logging.getLogger(__name__)

REQUEST_ID_HEADER = "x-request-id"
_CLIENT_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def resolve_request_id(scope: Scope) -> tuple[str, str | None]:
    """Return (request id, Lambda invocation id or None) for an HTTP scope."""
    event: dict[str, Any] = scope.get("aws.event") or {}
    request_context = event.get("requestContext") or {}
    gateway_id = request_context.get("requestId")
    lambda_id = getattr(scope.get("aws.context"), "aws_request_id", None)
    lambda_id = lambda_id if isinstance(lambda_id, str) and lambda_id else None

    if isinstance(gateway_id, str) and gateway_id:
        return gateway_id, lambda_id
    if lambda_id:
        return lambda_id, lambda_id

    client_id = Headers(scope=scope).get(REQUEST_ID_HEADER, "")
    if _CLIENT_REQUEST_ID.fullmatch(client_id):
        return client_id, None

    return str(uuid.uuid4()), None


class RequestContextMiddleware:
    """Tag each HTTP request with an id, log it once, and turn crashes into a JSON 500."""

    def __init__(self, app: ASGIApp, provider: ServiceProvider) -> None:
        self.app = app
        self.provider = provider
        self._cold_start = True

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        request_id, lambda_request_id = resolve_request_id(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        cold_start, self._cold_start = self._cold_start, False
        # Inside Lambda the handler already bound the invocation's cold start.
        cold_start = bool(logs.bound_fields().get("cold_start", cold_start))
        with logs.bind(request_id=request_id, cold_start=cold_start, model_version=self._model_version):
            await self._serve(scope, receive, send, request_id, lambda_request_id, cold_start)

    def _model_version(self) -> str | None:
        return self.provider.model_version

    async def _serve(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        request_id: str,
        lambda_request_id: str | None,
        cold_start: bool,
    ) -> None:
        started = time.perf_counter()
        status: int | None = None

        async def send_with_request_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message).append(REQUEST_ID_HEADER, request_id)
            await send(message)

        try:
            await self.app(scope, receive, send_with_request_id)
        except Exception:
            logger.exception(
                "unhandled error",
                extra={"request_id": request_id, "path": scope.get("path")},
            )
            if status is None:
                response = error_response(
                    500,
                    INTERNAL_ERROR,
                    "An unexpected error occurred. Quote the request id when you report it.",
                    request_id=request_id,
                )
                await response(scope, receive, send_with_request_id)
        finally:
            latency_ms = round((time.perf_counter() - started) * 1000, 2)
            logger.info(
                "request",
                extra={
                    "request_id": request_id,
                    "lambda_request_id": lambda_request_id,
                    "method": scope.get("method"),
                    "path": scope.get("path"),
                    "status": status,
                    "latency_ms": latency_ms,
                    "model_version": self.provider.model_version,
                    "cold_start": cold_start,
                },
            )
            observability.record_request(
                scope.get("path", ""), status or 500, latency_ms, cold_start=cold_start
            )
