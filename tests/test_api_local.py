"""The local server's command line and the demo client."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from functions import demo, examples, local


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
    assert "Hard, rating ~2276 (label median), score 0.852" in text
    assert "tags: hash table, string, sliding window, two pointers" in text
    assert max(len(line) for line in text.splitlines()) <= demo.WRAP_WIDTH


def test_format_explanation_lists_reasons() -> None:
    text = demo.format_explanation(examples.EXPLAIN_RESPONSE_EXAMPLE)

    assert text.startswith("Why Minimum Window Substring [leetcode:minimum-window-substring]?")
    assert "related: Longest Substring Without Repeating Characters (failed, similarity" in text
    assert "difficulty: big step up (rating 2276 against level 1256)" in text
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
    assert output.rstrip().endswith("server stopped")
