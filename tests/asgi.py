"""Send one request to an ASGI app in process, on a private event loop.

``asyncio.run`` would reset the thread's current event loop to None when it
ends. Mangum's handlers, tested elsewhere in the session, keep a loop there,
and dropping it later raises an "unclosed event loop" warning, which pytest
turns into an error in whichever test happens to run next.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx


def post_json(app: Any, path: str, body: dict[str, Any]) -> httpx.Response:
    """POST ``body`` as JSON to ``path`` and return the response."""

    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            return await client.post(path, json=body)

    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(send())
    finally:
        loop.close()


def get_json(app: Any, path: str) -> httpx.Response:
    """GET ``path`` and return the response."""

    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            return await client.get(path)

    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(send())
    finally:
        loop.close()
