"""The local server's command line and the demo client."""

from __future__ import annotations

import asyncio
import dataclasses
import socket
from pathlib import Path

import httpx
import pytest

from functions import demo, examples, local
from functions.settings import load_settings


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("192.168.1.20", False),
        ("example.org", False),
    ],
)
def test_is_loopback(host: str, expected: bool) -> None:
    assert local.is_loopback(host) is expected


def test_local_rejects_public_host(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        local.main(["--host", "0.0.0.0", "--port", "8123"])

    assert info.value.code == 2
    assert "--allow-non-loopback" in capsys.readouterr().err


def test_local_rejects_bad_port(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        local.main(["--port", "70000"])

    assert "--port 70000 is invalid" in capsys.readouterr().err


def test_demo_rejects_public_host(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        demo.main(["--host", "10.0.0.5"])

    assert "not a loopback address" in capsys.readouterr().err


def test_port_is_free_detects_listener() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]

        assert demo.port_is_free("127.0.0.1", port) is False


def test_format_recommendations_wraps_lines() -> None:
    text = demo.format_recommendations(examples.RECOMMEND_RESPONSE_EXAMPLE)

    first = examples.RECOMMEND_RESPONSE_EXAMPLE["recommendations"][0]
    assert f" 1. {first['title']}  [{first['problem_id']}]" in text
    assert "Hard, rating ~2288 (estimated), score 0.961" in text
    assert "tags: depth-first search, graph, eulerian circuit" in text
    assert "(template)" in text
    assert max(len(line) for line in text.splitlines()) <= demo.WRAP_WIDTH


def test_format_explanation_lists_reasons() -> None:
    text = demo.format_explanation(examples.EXPLAIN_RESPONSE_EXAMPLE)

    assert text.startswith("Why Minimum Window Substring [leetcode:minimum-window-substring]?")
    assert "related: Longest Substring Without Repeating Characters (failed, similarity" in text
    assert "difficulty: big step up (rating 2266 against level 1319)" in text
    assert max(len(line) for line in text.splitlines()) <= demo.WRAP_WIDTH


def test_demo_end_to_end(artifacts_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    port = demo.free_port("127.0.0.1")

    status = demo.main(["--artifacts", str(artifacts_dir), "--port", str(port), "--timeout", "180"])

    output = capsys.readouterr().out
    assert status == 0, output
    assert "service ready" in output
    assert " 1. " in output
    assert " 5. " in output
    assert "Why " in output
    # The demo requests model-written explanations, and at least one must pass the grounding check.
    assert "(written by the explainer model, checked against the reasons)" in output
    assert output.rstrip().endswith("server stopped")


def test_local_app_answers_cors_preflight(artifacts_dir: Path) -> None:
    settings = dataclasses.replace(load_settings({}), artifacts_dir=artifacts_dir)
    app = local.build_local_app(settings, ["http://localhost:5173"])

    async def preflight(origin: str) -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            return await client.options(
                "/recommend", headers={"Origin": origin, "Access-Control-Request-Method": "POST"}
            )

    allowed = asyncio.run(preflight("http://localhost:5173"))
    other = asyncio.run(preflight("http://other.example"))
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "http://localhost:5173"
    assert "access-control-allow-origin" not in other.headers
