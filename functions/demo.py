"""Start the local server, ask it for recommendations and an explanation, and print them.

    python -m functions.demo --artifacts build/artifacts --host 127.0.0.1 --port 8000

The server runs as a child process with its log in a temporary file. The
demo stops that process when it is done, also on errors and Ctrl-C. If the
port is taken, the demo picks a free one.
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

import httpx

from functions import examples
from functions.local import DEFAULT_HOST, DEFAULT_PORT, is_loopback
from functions.settings import PROJECT_ROOT

WRAP_WIDTH = 90
INDENT = "    "
POLL_SECONDS = 0.5
PROGRESS_SECONDS = 2.0
LOG_TAIL_LINES = 20
# Time for the generated explanations of the whole list: about 1.5 s each on
# 2 cores, so the top five all get model-written text.
DEMO_BUDGET_MS = 10000


class DemoError(RuntimeError):
    """The demo server did not start or returned an error."""


def port_is_free(host: str, port: int) -> bool:
    """Tell whether a server could bind ``host:port`` now (with SO_REUSEADDR, as uvicorn does)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str) -> int:
    """Return a TCP port on ``host`` that the operating system reports as free."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
    return port


def _wrap(text: str) -> str:
    return textwrap.fill(text, width=WRAP_WIDTH, initial_indent=INDENT, subsequent_indent=INDENT)


def _number(value: Any, digits: int = 0) -> str:
    return "?" if value is None else f"{value:.{digits}f}"


def _rating_text(item: dict[str, Any]) -> str:
    if item["rating"] is not None:
        return f"rating {_number(item['rating'])}"
    difficulty = item["reasons"]["difficulty"]
    if difficulty is not None and difficulty["candidate_rating"] is not None:
        # The recommender estimates an unrated problem's rating from its label and acceptance rate.
        return f"rating ~{_number(difficulty['candidate_rating'])} (estimated)"
    return "unrated"


def _source_note(body: dict[str, Any]) -> str:
    source = body.get("explanation_source")
    if source == "model":
        return "(written by the explainer model, checked against the reasons)"
    fallback = body.get("explanation_fallback")
    return f"(template: {fallback})" if fallback else "(template)"


def format_recommendations(body: dict[str, Any]) -> str:
    """Render a `POST /recommend` response as a numbered list, wrapped at ~90 columns."""
    lines = [
        f"Recommendations (model {body['model_version']}, "
        f"cold start: {'yes' if body['cold_start'] else 'no'})",
        "",
    ]
    for rank, item in enumerate(body["recommendations"], start=1):
        label = item["difficulty_label"] or "no label"
        lines.append(f"{rank:2d}. {item['title']}  [{item['problem_id']}]")
        lines.append(f"{INDENT}{label}, {_rating_text(item)}, score {_number(item['score'], 3)}")
        lines.append(_wrap("tags: " + (", ".join(item["tags"]) or "none")))
        if item["explanation"]:
            lines.append(_wrap(item["explanation"]))
            lines.append(_wrap(_source_note(item)))
        lines.append("")
    for warning in body["warnings"]:
        lines.append(f"warning: {warning}")

    return "\n".join(lines).rstrip() + "\n"


def format_explanation(body: dict[str, Any]) -> str:
    """Render a `POST /explain` response: the text, then the structured reasons."""
    reasons = body["reasons"]
    lines = [
        f"Why {body['title']} [{body['problem_id']}]?",
        _wrap(body["explanation"]),
        _wrap(_source_note(body)),
    ]
    for related in reasons["related"]:
        lines.append(
            _wrap(
                f"related: {related['title']} ({related['status']}, "
                f"similarity {_number(related['similarity'], 2)})"
            )
        )
    if reasons["topic_gap"]:
        lines.append(_wrap("topic gap: " + ", ".join(reasons["topic_gap"])))
    if reasons["new_topics"]:
        lines.append(_wrap("new topics: " + ", ".join(reasons["new_topics"])))
    difficulty = reasons["difficulty"]
    if difficulty is not None:
        lines.append(
            _wrap(
                f"difficulty: {difficulty['label']} (rating "
                f"{_number(difficulty['candidate_rating'])} against level "
                f"{_number(difficulty['learner_level'])})"
            )
        )
    if reasons["companies"]:
        lines.append(_wrap("companies: " + ", ".join(reasons["companies"])))
    for warning in body["warnings"]:
        lines.append(f"warning: {warning}")

    return "\n".join(lines) + "\n"


def _log_tail(log: IO[str]) -> str:
    log.flush()
    log.seek(0)
    return "".join(log.readlines()[-LOG_TAIL_LINES:])


def wait_until_ready(
    client: httpx.Client, server: subprocess.Popen[bytes], log: IO[str], timeout: float
) -> dict[str, Any]:
    """Poll ``GET /health`` until it returns 200, printing a progress line every 2 s.

    Raises
    ------
    DemoError
        If the server exits, reports a failed load or is not ready in ``timeout`` seconds.
    """
    started = time.monotonic()
    last_progress = -PROGRESS_SECONDS
    while True:
        elapsed = time.monotonic() - started
        if server.poll() is not None:
            raise DemoError(
                f"the server exited with status {server.returncode}, and its log ends with:\n"
                + _log_tail(log)
            )
        if elapsed > timeout:
            raise DemoError(f"the service was not ready after {timeout:.0f} s")

        try:
            response = client.get("/health", timeout=5.0)
        except httpx.TransportError:
            stage = "waiting for the server to accept connections"
        else:
            body = response.json()
            if response.status_code == 200:
                return dict(body)
            if body.get("status") == "unavailable":
                raise DemoError(
                    f"the service failed to load: {body.get('message')}\n"
                    "The server log ends with:\n" + _log_tail(log)
                )
            stage = "loading the recommender"

        if elapsed - last_progress >= PROGRESS_SECONDS:
            print(f"  {stage} ({elapsed:.0f} s)", flush=True)
            last_progress = elapsed
        time.sleep(POLL_SECONDS)


def _post(client: httpx.Client, path: str, payload: dict[str, Any]) -> dict[str, Any]:
    response = client.post(path, json=payload, timeout=60.0)
    if response.status_code != 200:
        raise DemoError(f"POST {path} returned {response.status_code}: {response.text}")
    return dict(response.json())


def run_demo(artifacts: Path, host: str, port: int, timeout: float) -> None:
    """Start the server, send one recommend and one explain request, print both, stop it."""
    if not port_is_free(host, port):
        new_port = free_port(host)
        print(f"port {port} is in use; using port {new_port}")
        port = new_port

    command = [
        sys.executable, "-m", "functions.local",
        "--artifacts", str(artifacts.resolve()),
        "--host", host,
        "--port", str(port),
    ]  # fmt: skip
    base_url = f"http://{'[' + host + ']' if ':' in host else host}:{port}"
    with tempfile.NamedTemporaryFile("w+", prefix="demo-server-", suffix=".log") as log:
        print(f"starting the server on {base_url}", flush=True)
        server = subprocess.Popen(command, cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT)
        try:
            with httpx.Client(base_url=base_url) as client:
                health = wait_until_ready(client, server, log, timeout)
                print(f"service ready: model {health['model_version']}\n", flush=True)

                request = {
                    **examples.RECOMMEND_REQUEST_EXAMPLE,
                    "explainer": "model",
                    "explanation_budget_ms": DEMO_BUDGET_MS,
                }
                recommended = _post(client, "/recommend", request)
                print(format_recommendations(recommended))
                if not recommended["recommendations"]:
                    raise DemoError("the service returned no recommendations")

                top = recommended["recommendations"][0]["problem_id"]
                explained = _post(client, "/explain", {**examples.SAMPLE_LEARNER, "problem_id": top})
                print(format_explanation(explained))
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
            print("server stopped")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the demo and return the exit status: 0 on success, 1 on failure."""
    parser = argparse.ArgumentParser(
        prog="python -m functions.demo",
        description="Start the local API, send a sample learner and print the responses.",
    )
    parser.add_argument(
        "--artifacts", type=Path, default=PROJECT_ROOT / "build" / "artifacts",
        help="artifacts folder (default: build/artifacts under the project root)",
    )  # fmt: skip
    parser.add_argument("--host", default=DEFAULT_HOST, help="loopback address to bind")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="preferred TCP port")
    parser.add_argument(
        "--timeout", type=float, default=300.0, help="seconds to wait for the service to load"
    )
    args = parser.parse_args(argv)
    if not is_loopback(args.host):
        parser.error(f"--host {args.host} is not a loopback address; the demo serves locally only")

    print("sample learner:")
    for item in examples.SAMPLE_HISTORY:
        print(f"{INDENT}{item['status']:<9} {item['problem_id']}")
    print(f"{INDENT}target companies: {', '.join(examples.SAMPLE_LEARNER['target_companies'])}")
    print(f"{INDENT}goal: {examples.SAMPLE_LEARNER['goal']}\n")

    try:
        run_demo(args.artifacts, args.host, args.port, args.timeout)
    except DemoError as exc:
        print(f"demo failed: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("demo interrupted", file=sys.stderr)
        return 130

    return 0


if __name__ == "__main__":
    sys.exit(main())
