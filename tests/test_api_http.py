"""Real HTTP requests against uvicorn serving the app and the real recommender on 127.0.0.1."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from functions import examples
from functions.app import create_app
from functions.settings import Settings

STARTUP_TIMEOUT_SECONDS = 120.0
SOLVED_IDS = {item["problem_id"] for item in examples.SAMPLE_HISTORY if item["status"] == "solved"}


def _wait_until_ready(base_url: str, server: uvicorn.Server, thread: threading.Thread) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if not thread.is_alive():
            raise RuntimeError("uvicorn stopped before the recommender was ready")
        if server.started:
            response = httpx.get(f"{base_url}/health", timeout=5.0)
            if response.status_code == 200:
                return
            if response.json()["status"] == "unavailable":
                raise RuntimeError(f"recommender failed to load: {response.text}")
        time.sleep(0.2)
    raise RuntimeError(f"service not ready after {STARTUP_TIMEOUT_SECONDS:.0f} s")


@pytest.fixture(scope="module")
def base_url(artifacts_dir: Path) -> Iterator[str]:
    """Serve the app on a free loopback port in a background thread for this module."""
    app = create_app(settings=Settings(artifacts_dir=artifacts_dir), load_on_startup=True)
    # Binding the socket here, before uvicorn starts, avoids a race for the port.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_ready(url, server, thread)
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture(scope="module")
def client(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=60.0) as http_client:
        yield http_client


def error_fields(response: httpx.Response) -> dict[str, dict[str, Any]]:
    fields: list[dict[str, Any]] = response.json()["error"]["fields"]
    return {item["field"]: item for item in fields}


def test_recommend_sample_learner(client: httpx.Client) -> None:
    response = client.post("/recommend", json={**examples.SAMPLE_LEARNER, "k": 7})

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    ids = [item["problem_id"] for item in body["recommendations"]]
    assert len(ids) == 7
    assert len(set(ids)) == 7
    assert SOLVED_IDS.isdisjoint(ids)
    assert all(item["explanation"] for item in body["recommendations"])
    scores = [item["score"] for item in body["recommendations"]]
    # The diversity re-rank may move a lower score up, but the first pick is the best-scored one.
    assert scores[0] == max(scores)
    assert body["cold_start"] is False
    assert body["warnings"] == []


def test_recommend_explain_false_omits_text(client: httpx.Client) -> None:
    from_query = client.post("/recommend?explain=false", json={**examples.SAMPLE_LEARNER, "k": 3})
    from_body = client.post("/recommend", json={**examples.SAMPLE_LEARNER, "k": 3, "explain": False})

    for response in (from_query, from_body):
        assert response.status_code == 200
        assert [item["explanation"] for item in response.json()["recommendations"]] == [None] * 3


def test_recommend_platform_filter(client: httpx.Client) -> None:
    response = client.post("/recommend", json={"k": 5, "platforms": ["codeforces"]})

    assert response.status_code == 200
    platforms = {item["platform"] for item in response.json()["recommendations"]}
    assert platforms == {"codeforces"}


def test_recommend_cold_start(client: httpx.Client) -> None:
    response = client.post("/recommend", json={"history": [], "k": 5})

    assert response.status_code == 200
    body = response.json()
    assert body["cold_start"] is True
    assert len(body["recommendations"]) == 5
    assert len({item["problem_id"] for item in body["recommendations"]}) == 5
    assert all(item["title"] for item in body["recommendations"])


def test_recommend_unknown_history_id_warns(client: httpx.Client) -> None:
    history = [
        *examples.SAMPLE_HISTORY,
        {"problem_id": "leetcode:no-such-problem-xyz", "status": "solved"},
    ]
    response = client.post("/recommend", json={"history": history, "k": 3})

    assert response.status_code == 200
    warnings = response.json()["warnings"]
    assert any("leetcode:no-such-problem-xyz" in warning for warning in warnings)


def test_explain_sample_learner(client: httpx.Client) -> None:
    response = client.post("/explain", json=examples.EXPLAIN_REQUEST_EXAMPLE)

    assert response.status_code == 200
    body = response.json()
    assert body["problem_id"] == examples.EXPLAIN_REQUEST_EXAMPLE["problem_id"]
    assert body["title"]
    assert body["explanation"]
    # Model or template depends on whether generation finished within the
    # default budget on this machine; tests/test_explainer_api.py pins each case.
    assert body["explanation_source"] in ("model", "template")
    assert (body["explanation_source"] == "model") == (body["explanation_fallback"] is None)
    assert body["model_version"]


def test_explain_unknown_problem_is_404(client: httpx.Client) -> None:
    response = client.post(
        "/explain", json={**examples.SAMPLE_LEARNER, "problem_id": "leetcode:no-such-problem-xyz"}
    )

    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == "not_found"
    assert "leetcode:no-such-problem-xyz" in error["message"]
    assert list(error_fields(response)) == ["problem_id"]


def test_health_reports_model_version(client: httpx.Client) -> None:
    health = client.get("/health")
    recommended = client.post("/recommend", json={"k": 1})

    assert health.status_code == 200
    assert health.json()["status"] == "ok"
    assert health.json()["model_version"] == recommended.json()["model_version"]


def test_openapi_has_paths_and_examples(client: httpx.Client) -> None:
    spec = client.get("/openapi.json").json()

    assert spec["info"]["title"] == "Practice recommender API"
    assert {"/recommend", "/explain", "/health"} <= set(spec["paths"])
    for path in ("/recommend", "/explain"):
        content = spec["paths"][path]["post"]["requestBody"]["content"]["application/json"]
        assert content["examples"], path
        assert spec["paths"][path]["post"]["description"], path
    schemas = spec["components"]["schemas"]
    assert schemas["RecommendRequest"]["examples"]
    assert schemas["RecommendResponse"]["examples"]
    assert schemas["HistoryItem"]["properties"]["status"]["description"]


INVALID_RECOMMEND_CASES = [
    pytest.param(
        {"history": [{"problem_id": "leetcode:two-sum", "status": "done"}]},
        "history[0].status",
        "one of: solved, failed, attempted",
        id="bad-status",
    ),
    pytest.param(
        {"history": [{"problem_id": "leetcode:two-sum", "status": "solved", "attempts": -1}]},
        "history[0].attempts",
        "an integer from 0 to 1000, or null",
        id="negative-attempts",
    ),
    pytest.param({"k": 0}, "k", "an integer from 1 to 50", id="k-zero"),
    pytest.param({"k": 51}, "k", "an integer from 1 to 50", id="k-51"),
    pytest.param({"goal": "g" * 501}, "goal", "a string of at most 500 characters, or null", id="long-goal"),
    pytest.param({"kk": 5}, "kk", None, id="unknown-key"),
    pytest.param({"platforms": ["atcoder"]}, "platforms[0]", "one of: leetcode, codeforces", id="platform"),
    pytest.param(
        {"history": [{"problem_id": "", "status": "solved"}]},
        "history[0].problem_id",
        "a string of 1 to 200 characters",
        id="empty-problem-id",
    ),
    pytest.param({"k": "5"}, "k", "an integer from 1 to 50", id="k-as-string"),
    pytest.param({"k": True}, "k", "an integer from 1 to 50", id="k-as-boolean"),
    pytest.param(
        {"history": [{"problem_id": "leetcode:two-sum", "status": "solved", "attempts": 2.5}]},
        "history[0].attempts",
        "an integer from 0 to 1000, or null",
        id="fractional-attempts",
    ),
    pytest.param({"explain": "yes"}, "explain", None, id="explain-as-string"),
    pytest.param(
        {"history": [{"problem_id": "leetcode:two-sum", "status": "solved", "timestamp": 0}]},
        "history[0].timestamp",
        None,
        id="timestamp-as-number",
    ),
    pytest.param(
        {"history": [{"problem_id": "leetcode:two-sum", "status": "solved", "timestamp": "2025-03-03"}]},
        "history[0].timestamp",
        None,
        id="timestamp-without-time",
    ),
    pytest.param(
        {"history": [{"problem_id": "x", "status": "solved", "timestamp": "0001-01-01T00:00:00+03:00"}]},
        "history[0].timestamp",
        None,
        id="timestamp-year-1",
    ),
]


@pytest.mark.parametrize(("payload", "field", "allowed"), INVALID_RECOMMEND_CASES)
def test_recommend_invalid_names_field(
    client: httpx.Client, payload: dict[str, Any], field: str, allowed: str | None
) -> None:
    response = client.post("/recommend", json=payload)

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"
    fields = error_fields(response)
    assert list(fields) == [field]
    if allowed is not None:
        assert fields[field]["allowed"] == allowed


def test_unknown_key_lists_known_fields(client: httpx.Client) -> None:
    response = client.post("/recommend", json={"histroy": []})

    allowed = error_fields(response)["histroy"]["allowed"]
    assert allowed.startswith("known fields: ")
    assert "history" in allowed


def test_nan_time_spent_is_rejected(client: httpx.Client) -> None:
    # Python's json module accepts the NaN literal, so it reaches validation.
    body = b'{"history": [{"problem_id": "leetcode:two-sum", "status": "solved", '
    body += b'"time_spent_minutes": NaN}]}'
    response = client.post("/recommend", content=body, headers={"content-type": "application/json"})

    assert response.status_code == 422
    assert list(error_fields(response)) == ["history[0].time_spent_minutes"]


def test_malformed_json_is_400(client: httpx.Client) -> None:
    response = client.post("/recommend", content=b'{"k": 3,', headers={"content-type": "application/json"})

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_json"


def test_wrong_content_type_is_400(client: httpx.Client) -> None:
    response = client.post("/recommend", content=b'{"k": 3}', headers={"content-type": "text/plain"})

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "unsupported_content_type"


def test_explain_missing_problem_id_is_422(client: httpx.Client) -> None:
    response = client.post("/explain", json=examples.SAMPLE_LEARNER)

    assert response.status_code == 422
    assert list(error_fields(response)) == ["problem_id"]


def test_client_request_id_is_echoed(client: httpx.Client) -> None:
    response = client.get("/health", headers={"x-request-id": "demo-run-7"})

    assert response.headers["x-request-id"] == "demo-run-7"


def test_unknown_route_is_json_404(client: httpx.Client) -> None:
    response = client.get("/recommendations")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert response.headers["x-request-id"]


def test_mixed_timestamp_zones_are_ordered(client: httpx.Client) -> None:
    # One timestamp with a zone, one without (read as UTC): both endpoints must return 200, not 500.
    history = [
        {"problem_id": "leetcode:two-sum", "status": "solved", "timestamp": "2025-03-03T20:10:00Z"},
        {"problem_id": "leetcode:3sum", "status": "solved", "timestamp": "2025-03-04T20:10:00"},
    ]
    recommend = client.post("/recommend", json={"history": history, "k": 3})
    explain = client.post("/explain", json={"history": history, "problem_id": "leetcode:4sum"})

    assert recommend.status_code == 200
    assert len(recommend.json()["recommendations"]) == 3
    assert explain.status_code == 200
    assert explain.json()["problem_id"] == "leetcode:4sum"


def test_request_examples_are_answered(client: httpx.Client) -> None:
    for path, example in (
        ("/recommend", examples.RECOMMEND_REQUEST_EXAMPLE),
        ("/recommend", examples.COLD_START_REQUEST_EXAMPLE),
        ("/explain", examples.EXPLAIN_REQUEST_EXAMPLE),
    ):
        response = client.post(path, json=example)
        assert response.status_code == 200, (path, response.text[:300])
        assert response.json()["warnings"] == []


def test_body_not_utf8_is_400_invalid_json(client: httpx.Client) -> None:
    response = client.post(
        "/recommend", content=b'{"goal": "\xff\xfe"}', headers={"content-type": "application/json"}
    )

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_json"
    assert "UTF-8" in error["message"]


def test_contest_rating_is_rounded(client: httpx.Client) -> None:
    # Zerotrac's contest ratings carry ten decimals in the catalogue.
    response = client.post("/recommend", json={"k": 50, "platforms": ["leetcode"], "goal": "binary search"})
    ratings = [item["rating"] for item in response.json()["recommendations"] if item["rating"] is not None]
    assert ratings
    assert all(rating == round(rating, 1) for rating in ratings)
    assert any(rating != round(rating) for rating in ratings)


def test_whole_float_k_is_accepted(client: httpx.Client) -> None:
    # JSON Schema counts 4.0 as an integer, so the API must too.
    response = client.post("/recommend", json={"k": 4.0})

    assert response.status_code == 200
    assert len(response.json()["recommendations"]) == 4


def test_explain_example_matches_service(client: httpx.Client) -> None:
    # Explanations depend on the catalogue and encoder, not on the ranker, so the
    # documented example must be exactly what the service returns.
    # A long budget, so the model's greedy text is never cut by a slow machine.
    request = {**examples.EXPLAIN_REQUEST_EXAMPLE, "explanation_budget_ms": 20000}
    response = client.post("/explain", json=request)
    body = response.json()
    expected = examples.EXPLAIN_RESPONSE_EXAMPLE

    assert response.status_code == 200
    assert body["explanation"] == expected["explanation"]
    assert body["explanation_source"] == expected["explanation_source"]
    # Similarities come from the int8 encoder, whose last digit may differ between CPUs.
    reasons, expected_reasons = dict(body["reasons"]), dict(expected["reasons"])
    assert reasons.pop("goal_similarity") == pytest.approx(expected_reasons.pop("goal_similarity"), abs=0.01)
    related, expected_related = reasons.pop("related"), expected_reasons.pop("related")
    assert [item["problem_id"] for item in related] == [item["problem_id"] for item in expected_related]
    assert [item["similarity"] for item in related] == pytest.approx(
        [item["similarity"] for item in expected_related], abs=0.01
    )
    assert reasons == expected_reasons
