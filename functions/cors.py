"""Add ``Access-Control-Allow-Origin`` to every response, errors included.

The REST API responds to CORS preflights itself (template.yaml), but a browser
also needs the header on the actual response before it lets a page read it.
The origin comes from ``CORS_ALLOW_ORIGIN``, the same value as the
template's ``CorsAllowOrigins``. With one origin rather than ``*``, the
response also carries ``Vary: Origin`` so that caches keep responses for
different origins apart.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from functions.middleware import REQUEST_ID_HEADER


class CorsHeadersMiddleware:
    """Set the CORS response headers for ``origin`` on every HTTP response."""

    def __init__(self, app: ASGIApp, origin: str) -> None:
        self.app = app
        self.origin = origin

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if "access-control-allow-origin" not in headers:
                    headers["Access-Control-Allow-Origin"] = self.origin
                    headers["Access-Control-Expose-Headers"] = REQUEST_ID_HEADER
                if self.origin != "*":
                    vary = [value.strip().lower() for value in headers.get("vary", "").split(",")]
                    if "origin" not in vary:
                        headers.add_vary_header("Origin")
            await send(message)

        await self.app(scope, receive, send_with_cors)
