"""Map failures to HTTP status codes and the JSON error body of ``schemas.ErrorResponse``.

Domain errors raised by the recommender become client errors here:
``RequestError`` is 422 and an unknown problem is 404. A recommender that
failed to load is 503. Validation errors name each field by its path in the
body (``history[0].status``) and state what the field accepts.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from email.message import Message
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel
from starlette.exceptions import HTTPException
from starlette.responses import Response

from functions.allowed import describe_allowed
from functions.json_response import FiniteJSONResponse
from functions.schemas import ErrorDetail, ErrorResponse, FieldError
from ranking.exceptions import RequestError

logger = logging.getLogger(__name__)

VALIDATION_ERROR = "validation_error"
INVALID_JSON = "invalid_json"
UNSUPPORTED_CONTENT_TYPE = "unsupported_content_type"
EMPTY_BODY = "empty_body"
NOT_FOUND = "not_found"
FORBIDDEN = "forbidden"
METHOD_NOT_ALLOWED = "method_not_allowed"
HTTP_ERROR = "http_error"
SERVICE_UNAVAILABLE = "service_unavailable"
INTERNAL_ERROR = "internal_error"

_LOCATION_PREFIXES = ("query", "path", "header", "cookie")


class ApiError(Exception):
    """An error that the API returns as-is, with its HTTP status and error code."""

    def __init__(
        self,
        status_code: int,
        code: str,
        message: str,
        fields: Sequence[FieldError] = (),
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.code = code
        self.message = message
        self.fields = list(fields)


def request_id_of(request: Request) -> str | None:
    """Return the id the request middleware stored for this request, if any."""
    request_id = getattr(request.state, "request_id", None)
    return request_id if isinstance(request_id, str) else None


def error_response(
    status_code: int,
    code: str,
    message: str,
    *,
    fields: Sequence[FieldError] = (),
    request_id: str | None = None,
    headers: dict[str, str] | None = None,
) -> FiniteJSONResponse:
    """Build the JSON error response common to every failure."""
    body = ErrorResponse(
        error=ErrorDetail(code=code, message=message, fields=list(fields), request_id=request_id)
    )

    return FiniteJSONResponse(body.model_dump(mode="json"), status_code=status_code, headers=headers)


def format_location(location: Sequence[str | int]) -> str:
    """Render a pydantic error location as a readable path.

    ``("body", "history", 2, "attempts")`` becomes ``history[2].attempts`` and
    ``("query", "explain")`` becomes ``query.explain``. An error on the body
    as a whole is ``body``.
    """
    parts = list(location)
    text = ""
    if parts and parts[0] == "body":
        parts = parts[1:]
    elif parts and parts[0] in _LOCATION_PREFIXES:
        text = str(parts.pop(0))

    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text = f"{text}.{part}" if text else str(part)

    return text or "body"


def _is_json_media_type(content_type: str | None) -> bool:
    if not content_type:
        return False
    message = Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json")
    )


def _field_error(error: dict[str, Any], body_model: type[BaseModel] | None) -> FieldError:
    location = tuple(error.get("loc", ()))
    field = format_location(location)
    error_type = error.get("type", "")
    message = str(error.get("msg", "Invalid value"))

    allowed: str | None = None
    body_path = location[1:] if location[:1] == ("body",) else None
    if error_type == "extra_forbidden":
        message = "Unknown field. Check its spelling."
        if body_model is not None and body_path is not None:
            allowed = describe_allowed(body_model, body_path[:-1], list_fields=True)
    elif body_model is not None and body_path is not None:
        allowed = describe_allowed(body_model, body_path)
    elif error_type.startswith("bool_"):
        allowed = "true or false"

    return FieldError(field=field, message=message, allowed=allowed)


def translate_validation_error(
    exc: RequestValidationError,
    content_type: str | None,
    body_model: type[BaseModel] | None,
) -> ApiError:
    """Turn FastAPI's validation error into an ``ApiError`` with readable field paths.

    A body that is not JSON, or not declared as JSON, is a 400. Field errors
    are a 422.
    """
    errors = [dict(error) for error in exc.errors()]

    for error in errors:
        if error.get("type") == "json_invalid":
            position = error.get("loc", ("body", "?"))[-1]
            detail = (error.get("ctx") or {}).get("error", "invalid JSON")
            return ApiError(
                400, INVALID_JSON, f"The body is not valid JSON: {detail} at character {position}."
            )

    body_errors = [error for error in errors if tuple(error.get("loc", ())) == ("body",)]
    if body_errors and body_errors[0].get("type") == "missing":
        return ApiError(400, EMPTY_BODY, "The request body is empty. Send a JSON object.")
    if body_errors and not _is_json_media_type(content_type):
        return ApiError(
            400,
            UNSUPPORTED_CONTENT_TYPE,
            f"Content-Type {content_type or '(none)'} is not supported; "
            "send the body as JSON with Content-Type: application/json.",
        )

    fields = [_field_error(error, body_model) for error in errors]
    noun = "field has an error" if len(fields) == 1 else "fields have errors"

    return ApiError(422, VALIDATION_ERROR, f"The request is invalid: {len(fields)} {noun}.", fields)


async def _handle_api_error(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, ApiError):  # pragma: no cover - registered for ApiError only
        raise exc
    return error_response(
        exc.status_code,
        exc.code,
        exc.message,
        fields=exc.fields,
        request_id=request_id_of(request),
    )


async def _handle_request_error(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, RequestError):  # pragma: no cover - registered for RequestError only
        raise exc
    logger.info("request rejected by the recommender", extra={"field": exc.field})
    return error_response(
        422,
        VALIDATION_ERROR,
        f"The request is invalid: {exc.message}",
        fields=[FieldError(field=exc.field, message=exc.message)],
        request_id=request_id_of(request),
    )


async def _handle_validation_error(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, RequestValidationError):  # pragma: no cover
        raise exc
    body_models: dict[str, type[BaseModel]] = request.app.state.body_models
    api_error = translate_validation_error(
        exc,
        request.headers.get("content-type"),
        body_models.get(request.url.path),
    )
    return await _handle_api_error(request, api_error)


async def _handle_http_exception(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, HTTPException):  # pragma: no cover
        raise exc
    if exc.status_code == 404:
        code = NOT_FOUND
        message = (
            f"No route for {request.method} {request.url.path}; the API serves "
            "POST /recommend, POST /explain, GET /health and GET /openapi.json."
        )
    elif exc.status_code == 405:
        code = METHOD_NOT_ALLOWED
        message = f"{request.method} is not allowed on {request.url.path}."
    elif exc.status_code == 400 and request.method == "POST":
        # FastAPI raises this 400 when the body cannot be decoded at all, e.g.
        # bytes that are not UTF-8 or JSON nested too deeply to parse.
        code = INVALID_JSON
        message = (
            f"The body could not be parsed ({exc.detail}). Send one JSON object encoded as UTF-8, "
            "as described in /openapi.json."
        )
    else:
        code = HTTP_ERROR
        message = str(exc.detail)
    return error_response(
        exc.status_code,
        code,
        message,
        request_id=request_id_of(request),
        headers=dict(exc.headers) if exc.headers else None,
    )


def install_error_handlers(app: FastAPI, body_models: dict[str, type[BaseModel]]) -> None:
    """Register the JSON error handlers. ``body_models`` maps a path to its request model."""
    app.state.body_models = body_models
    app.add_exception_handler(ApiError, _handle_api_error)
    app.add_exception_handler(RequestError, _handle_request_error)
    app.add_exception_handler(RequestValidationError, _handle_validation_error)
    app.add_exception_handler(HTTPException, _handle_http_exception)
