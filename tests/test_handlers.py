"""Invoke the Lambda handlers with sample API Gateway events and the real recommender."""

from __future__ import annotations

import importlib
import json
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from mangum import Mangum
from mangum.types import LambdaCognitoIdentity, LambdaMobileClientContext

from functions import app as app_module
from functions import settings as settings_module
from functions.app import create_app
from functions.settings import ARTIFACTS_DIR_VAR, Settings
from ranking.types import ExplainerMode, ExplainResult, LearnerProfile, RecommendResult
from tests.conftest import EVENTS_DIR


@dataclass
class LambdaContextStub:
    """The Lambda context object; mypy checks it against ``mangum.types.LambdaContext``."""

    function_name: str = "practice-recommender-recommend"
    function_version: str = "$LATEST"
    invoked_function_arn: str = (
        "arn:aws:lambda:eu-west-1:123456789012:function:practice-recommender-recommend"
    )
    memory_limit_in_mb: int = 2048
    aws_request_id: str = "5b1a7c9e-2f3d-4e6a-8b0c-9d8e7f6a5b4c"
    log_group_name: str = "/aws/lambda/practice-recommender-recommend"
    log_stream_name: str = "2025/03/03/[$LATEST]0123456789abcdef0123456789abcdef"
    identity: LambdaCognitoIdentity | None = None
    client_context: LambdaMobileClientContext | None = None

    def get_remaining_time_in_millis(self) -> int:
        return 29_000


def load_event(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS_DIR / name).read_text())
    return event


def body_of(response: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(response["body"])
    return body


def header(response: dict[str, Any], name: str) -> str | None:
    headers = {key.lower(): value for key, value in response["headers"].items()}
    return headers.get(name)


@pytest.fixture(scope="module")
def handlers(artifacts_dir: Path) -> Iterator[dict[str, Mangum]]:
    """Import both handler modules as a cold start would, with ARTIFACTS_DIR set."""
    root_handlers = list(logging.getLogger().handlers)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(ARTIFACTS_DIR_VAR, str(artifacts_dir))
        settings_module.get_settings.cache_clear()
        app_module.get_app.cache_clear()
        recommend = importlib.reload(importlib.import_module("functions.recommend"))
        explain = importlib.reload(importlib.import_module("functions.explain"))
        yield {"recommend": recommend.handler, "explain": explain.handler}

    settings_module.get_settings.cache_clear()
    app_module.get_app.cache_clear()
    logging.getLogger().handlers[:] = root_handlers


def test_handlers_share_one_app(handlers: dict[str, Mangum]) -> None:
    assert handlers["recommend"].app is handlers["explain"].app


def test_v2_recommend_returns_k_items(handlers: dict[str, Mangum]) -> None:
    event = load_event("apigw_v2_recommend.json")
    response = handlers["recommend"](event, LambdaContextStub())

    assert response["statusCode"] == 200
    assert header(response, "content-type") == "application/json"
    assert header(response, "x-request-id") == event["requestContext"]["requestId"]
    body = body_of(response)
    assert len(body["recommendations"]) == json.loads(event["body"])["k"]
    assert body["model_version"]
    assert body["cold_start"] is False
    assert all(item["explanation"] for item in body["recommendations"])


def test_v1_recommend_returns_k_items(handlers: dict[str, Mangum]) -> None:
    event = load_event("apigw_v1_recommend.json")
    response = handlers["recommend"](event, LambdaContextStub())

    assert response["statusCode"] == 200
    assert header(response, "x-request-id") == event["requestContext"]["requestId"]
    body = body_of(response)
    assert len(body["recommendations"]) == json.loads(event["body"])["k"]
    # Failed items may come back for review; solved ones never do.
    history = json.loads(event["body"])["history"]
    solved = {item["problem_id"] for item in history if item["status"] == "solved"}
    assert solved.isdisjoint(item["problem_id"] for item in body["recommendations"])


def test_v2_explain_returns_explanation(handlers: dict[str, Mangum]) -> None:
    event = load_event("apigw_v2_explain.json")
    response = handlers["explain"](event, LambdaContextStub(function_name="practice-explain"))

    assert response["statusCode"] == 200
    body = body_of(response)
    assert body["problem_id"] == json.loads(event["body"])["problem_id"]
    assert body["explanation"]
    # The explainer finishes within the default budget, or the template is used with its reason.
    assert body["explanation_source"] in ("model", "template")
    assert (body["explanation_source"] == "model") == (body["explanation_fallback"] is None)
    assert set(body["reasons"]) == {
        "related",
        "topic_gap",
        "new_topics",
        "difficulty",
        "companies",
        "goal_similarity",
        "review",
        "goal_topics",
        "already_solved",
    }


def test_v2_invalid_body_names_fields(handlers: dict[str, Mangum]) -> None:
    response = handlers["recommend"](load_event("apigw_v2_recommend_invalid.json"), LambdaContextStub())

    assert response["statusCode"] == 422
    error = body_of(response)["error"]
    assert error["code"] == "validation_error"
    fields = {item["field"]: item for item in error["fields"]}
    assert set(fields) == {"history[0].status", "history[0].attempts", "k"}
    assert fields["history[0].status"]["allowed"] == "one of: solved, failed, attempted"
    assert fields["history[0].attempts"]["allowed"] == "an integer from 0 to 1000, or null"
    assert fields["k"]["allowed"] == "an integer from 1 to 50"


def test_v2_health_reports_ok(handlers: dict[str, Mangum]) -> None:
    response = handlers["recommend"](load_event("apigw_v2_health.json"), LambdaContextStub())

    assert response["statusCode"] == 200
    body = body_of(response)
    assert body["status"] == "ok"
    assert body["model_version"]
    assert body["details"]["problems"] > 0


def test_request_id_falls_back_to_lambda_context(handlers: dict[str, Mangum]) -> None:
    event = load_event("apigw_v2_health.json")
    del event["requestContext"]["requestId"]
    context = LambdaContextStub(aws_request_id="0f9e8d7c-6b5a-4c3d-2e1f-0a9b8c7d6e5f")

    response = handlers["recommend"](event, context)

    assert header(response, "x-request-id") == context.aws_request_id


def test_access_log_has_request_fields(handlers: dict[str, Mangum], caplog: pytest.LogCaptureFixture) -> None:
    event = load_event("apigw_v2_recommend.json")
    with caplog.at_level(logging.INFO, logger="functions.middleware"):
        handlers["recommend"](event, LambdaContextStub())

    records = [record for record in caplog.records if record.name == "functions.middleware"]
    assert len(records) == 1
    fields = vars(records[0])
    assert fields["request_id"] == event["requestContext"]["requestId"]
    assert fields["lambda_request_id"] == LambdaContextStub().aws_request_id
    assert fields["path"] == "/recommend"
    assert fields["status"] == 200
    assert fields["latency_ms"] > 0
    assert fields["model_version"]


def test_missing_artifacts_give_503_logged_once(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # A real load failure: the real Recommender.from_artifacts on an empty folder.
    app = create_app(settings=Settings(artifacts_dir=tmp_path / "absent"))
    handler = Mangum(app, lifespan="off")
    event = load_event("apigw_v2_recommend.json")

    with caplog.at_level(logging.INFO, logger="functions.service_provider"):
        first = handler(event, LambdaContextStub())
        second = handler(event, LambdaContextStub())
        health = handler(load_event("apigw_v2_health.json"), LambdaContextStub())

    for response in (first, second):
        assert response["statusCode"] == 503
        error = body_of(response)["error"]
        assert error["code"] == "service_unavailable"
        assert "make artifacts" in error["message"]
        assert str(tmp_path) not in response["body"]
    assert health["statusCode"] == 503
    assert body_of(health)["status"] == "unavailable"
    failures = [record for record in caplog.records if record.message == "recommender failed to load"]
    assert len(failures) == 1


class ExplodingRecommender:
    """A recommender whose every call raises an error carrying a secret-looking message."""

    model_version = "exploding-1"

    def recommend(
        self,
        profile: LearnerProfile,
        k: int = 10,
        platforms: Sequence[str] | None = None,
        explain: bool = True,
        explainer: ExplainerMode = "template",
        budget_s: float = 3.0,
    ) -> RecommendResult:
        raise RuntimeError("database password is hunter2")

    def explain(
        self,
        profile: LearnerProfile,
        problem_id: str,
        explainer: ExplainerMode = "template",
        budget_s: float = 3.0,
    ) -> ExplainResult:
        raise RuntimeError("database password is hunter2")

    def health(self) -> dict[str, Any]:
        return {}


def test_unexpected_error_gives_generic_500(caplog: pytest.LogCaptureFixture) -> None:
    # A fake is needed here: the real recommender has no input that makes it
    # crash, and this test must prove that a crash's message stays out of the body.
    app = create_app(ExplodingRecommender, settings=Settings())
    handler = Mangum(app, lifespan="off")
    event = load_event("apigw_v2_recommend.json")

    with caplog.at_level(logging.ERROR, logger="functions.middleware"):
        response = handler(event, LambdaContextStub())

    assert response["statusCode"] == 500
    assert "hunter2" not in response["body"]
    assert "Traceback" not in response["body"]
    error = body_of(response)["error"]
    assert error["code"] == "internal_error"
    assert error["request_id"] == event["requestContext"]["requestId"]
    logged = [record for record in caplog.records if record.message == "unhandled error"]
    assert len(logged) == 1
    assert logged[0].exc_info is not None
    assert vars(logged[0])["request_id"] == event["requestContext"]["requestId"]
