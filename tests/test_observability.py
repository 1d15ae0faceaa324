"""Log fields, EMF metrics and tracing of real Lambda invocations through ``LambdaHandler``."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from functions import observability
from functions.app import create_app
from functions.convert import to_platforms, to_profile
from functions.lambda_entry import LambdaHandler
from functions.logs import LAMBDA_FIELDS, JsonFormatter
from functions.schemas import RecommendRequest
from functions.settings import Settings
from ranking.service import Recommender
from tests.asgi import post_json
from tests.test_handlers import LambdaContextStub, body_of, load_event

STAGE_METRICS = {"EncodeLatency", "RetrieveLatency", "FeaturesLatency", "RankLatency", "ExplainLatency"}


@pytest.fixture
def handler(recommender: Recommender, tmp_path: Path) -> LambdaHandler:
    """A Lambda handler on the shared real recommender, storing feedback under ``tmp_path``."""
    settings = Settings(feedback_dir=tmp_path / "feedback", learner_id_salt="test-salt")
    return LambdaHandler(create_app(lambda: recommender, settings=settings))


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """Every record at DEBUG and above, formatted as the Lambda runtime's handler would."""
    stream = io.StringIO()
    capture = logging.StreamHandler(stream)
    capture.setFormatter(JsonFormatter(LAMBDA_FIELDS))
    root = logging.getLogger()
    level = root.level
    root.addHandler(capture)
    root.setLevel(logging.DEBUG)
    yield stream
    root.removeHandler(capture)
    root.setLevel(level)


def emf_blobs(stdout: str) -> list[dict[str, Any]]:
    """Return the EMF objects printed on stdout, one per line."""
    return [json.loads(line) for line in stdout.splitlines() if line.startswith('{"_aws"')]


def metric_names(blob: dict[str, Any]) -> set[str]:
    directive = blob["_aws"]["CloudWatchMetrics"][0]
    return {metric["Name"] for metric in directive["Metrics"]}


def metric_units(blob: dict[str, Any]) -> dict[str, str]:
    directive = blob["_aws"]["CloudWatchMetrics"][0]
    return {metric["Name"]: metric["Unit"] for metric in directive["Metrics"]}


def value(blob: dict[str, Any], name: str) -> float:
    """Return the one value of metric ``name``; powertools writes each value list as a JSON array."""
    values = blob[name]
    assert isinstance(values, list), (name, values)
    assert len(values) == 1, (name, values)
    return float(values[0])


def invoke_once(
    handler: LambdaHandler, capsys: pytest.CaptureFixture[str], event: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Invoke the handler and return its response and the one EMF object it printed."""
    capsys.readouterr()
    response = handler(event, LambdaContextStub())
    blobs = emf_blobs(capsys.readouterr().out)
    assert len(blobs) == 1
    return response, blobs[0]


def test_recommend_emf_metrics(
    handler: LambdaHandler, recommender: Recommender, capsys: pytest.CaptureFixture[str]
) -> None:
    event = load_event("apigw_v2_recommend.json")
    response, blob = invoke_once(handler, capsys, event)

    assert response["statusCode"] == 200
    items = body_of(response)["recommendations"]
    directive = blob["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == observability.DEFAULT_METRICS_NAMESPACE
    assert directive["Dimensions"] == [["endpoint", "service"]]
    assert blob["endpoint"] == "/recommend"
    assert blob["service"] == observability.DEFAULT_SERVICE_NAME
    assert metric_names(blob) >= STAGE_METRICS
    assert all(metric_units(blob)[name] == "Milliseconds" for name in STAGE_METRICS)
    assert all(value(blob, name) >= 0 for name in STAGE_METRICS)
    assert value(blob, "Requests") == 1
    assert value(blob, "Errors4xx") == 0
    assert value(blob, "Errors5xx") == 0
    assert value(blob, "Latency") > 0
    assert value(blob, "RecommendationCount") == len(items)
    assert value(blob, "Explanations") == len(items)
    fallbacks = [item for item in items if item["explanation_fallback"] is not None]
    assert value(blob, "ExplanationFallbacks") == len(fallbacks)

    # The candidate set the ranker scored, rebuilt from the same request.
    request = RecommendRequest.model_validate_json(event["body"])
    state = recommender.pipeline.state(to_profile(request), encode=recommender.encoder.encode)
    platforms = to_platforms(request.platforms)
    if not platforms and state.items:
        platforms = sorted({recommender.pipeline.lookup.platforms[item.position] for item in state.items})
    candidates = recommender.pipeline.candidates(state, platforms)
    assert value(blob, "CandidateCount") == len(candidates.positions)
    assert value(blob, "CandidateCount") >= len(items)


def test_model_fallbacks_counted(
    handler: LambdaHandler, recommender: Recommender, capsys: pytest.CaptureFixture[str]
) -> None:
    # A budget below MIN_GENERATION_S makes every model explanation fall back to the template.
    event = load_event("apigw_v2_recommend.json")
    body = json.loads(event["body"]) | {"explainer": "model", "explanation_budget_ms": 100, "k": 3}
    event["body"] = json.dumps(body)
    response, blob = invoke_once(handler, capsys, event)

    assert response["statusCode"] == 200
    items = body_of(response)["recommendations"]
    templates = [item for item in items if item["explanation_source"] == "template"]
    assert len(templates) == 3
    assert value(blob, "Explanations") == 3
    assert value(blob, "ExplanationFallbacks") == len(templates)


def test_explain_emf_metrics(handler: LambdaHandler, capsys: pytest.CaptureFixture[str]) -> None:
    event = load_event("apigw_v2_explain.json")
    event["body"] = json.dumps(json.loads(event["body"]) | {"explainer": "template"})
    response, blob = invoke_once(handler, capsys, event)

    assert response["statusCode"] == 200
    assert blob["endpoint"] == "/explain"
    assert {"EncodeLatency", "ExplainLatency"} <= metric_names(blob)
    assert "CandidateCount" not in metric_names(blob)
    assert value(blob, "Explanations") == 1
    fell_back = body_of(response)["explanation_fallback"] is not None
    assert value(blob, "ExplanationFallbacks") == (1 if fell_back else 0)


def test_client_error_counts_4xx(handler: LambdaHandler, capsys: pytest.CaptureFixture[str]) -> None:
    response, blob = invoke_once(handler, capsys, load_event("apigw_v2_recommend_invalid.json"))

    assert response["statusCode"] == 422
    assert blob["endpoint"] == "/recommend"
    assert value(blob, "Errors4xx") == 1
    assert value(blob, "Errors5xx") == 0
    assert "CandidateCount" not in metric_names(blob)


def test_unknown_path_is_other_endpoint(handler: LambdaHandler, capsys: pytest.CaptureFixture[str]) -> None:
    event = load_event("apigw_v2_health.json")
    event["rawPath"] = event["requestContext"]["http"]["path"] = "/no-such-route-123"
    response, blob = invoke_once(handler, capsys, event)

    assert response["statusCode"] == 404
    assert blob["endpoint"] == "other"
    assert value(blob, "Errors4xx") == 1


def test_metrics_flushed_per_invocation(handler: LambdaHandler, capsys: pytest.CaptureFixture[str]) -> None:
    event = load_event("apigw_v2_health.json")
    capsys.readouterr()
    handler(event, LambdaContextStub())
    handler(event, LambdaContextStub())
    blobs = emf_blobs(capsys.readouterr().out)

    assert len(blobs) == 2
    assert [value(blob, "Requests") for blob in blobs] == [1, 1]
    assert [value(blob, "ColdStart") for blob in blobs] == [1, 0]
    assert observability.metrics.metric_set == {}


def test_app_outside_lambda_prints_no_metrics(
    recommender: Recommender, capsys: pytest.CaptureFixture[str]
) -> None:
    app = create_app(lambda: recommender, settings=Settings())
    capsys.readouterr()
    response = post_json(app, "/recommend", json.loads(load_event("apigw_v2_recommend.json")["body"]))

    assert response.status_code == 200
    assert emf_blobs(capsys.readouterr().out) == []
    assert observability.metrics.metric_set == {}


def test_log_lines_carry_lambda_fields(
    handler: LambdaHandler,
    recommender: Recommender,
    log_lines: io.StringIO,
    capsys: pytest.CaptureFixture[str],
) -> None:
    event = load_event("apigw_v2_recommend.json")
    context = LambdaContextStub()
    handler(event, context)
    handler(event, context)
    lines = [json.loads(line) for line in log_lines.getvalue().splitlines()]

    assert len(lines) >= 4
    for line in lines:
        assert set(LAMBDA_FIELDS) <= set(line), line
        assert line["request_id"] == event["requestContext"]["requestId"]
        assert line["lambda_request_id"] == context.aws_request_id
        assert line["function_name"] == context.function_name
    assert {line["cold_start"] for line in lines} == {True, False}
    # The first request loads the recommender; from then on every line names its version.
    loaded = next(index for index, line in enumerate(lines) if line["message"] == "recommender loaded")
    assert all(line["model_version"] is None for line in lines[:loaded])
    assert all(line["model_version"] == recommender.model_version for line in lines[loaded:])
    access = [line for line in lines if line["logger"] == "functions.middleware"]
    assert len(access) == 2


def test_tracer_disabled_outside_lambda() -> None:
    assert observability.tracer.disabled


def test_personal_data_not_logged(
    handler: LambdaHandler, log_lines: io.StringIO, capsys: pytest.CaptureFixture[str]
) -> None:
    marker = "pii-marker-7f3a91"
    recommend = load_event("apigw_v2_recommend.json")
    body = json.loads(recommend["body"])
    body |= {"learner_id": f"learner-{marker}", "goal": f"practise graphs {marker}"}
    recommend["body"] = json.dumps(body)
    explain = load_event("apigw_v2_explain.json")
    explain["body"] = json.dumps(
        json.loads(explain["body"]) | {"learner_id": marker, "goal": marker, "explainer": "template"}
    )
    feedback = load_event("apigw_v2_recommend.json")
    feedback["rawPath"] = feedback["requestContext"]["http"]["path"] = "/feedback"
    feedback["body"] = json.dumps(
        {
            "events": [
                {
                    "event_id": "event-0001",
                    "learner_id": f"learner-{marker}",
                    "problem_id": "leetcode:two-sum",
                    "action": "solved",
                    "timestamp": "2025-03-04T10:00:00Z",
                }
            ]
        }
    )
    invalid = load_event("apigw_v2_recommend.json")
    invalid["body"] = json.dumps(body | {"k": 0})

    capsys.readouterr()
    statuses = [handler(event, LambdaContextStub())["statusCode"] for event in (recommend, explain, feedback)]
    statuses.append(handler(invalid, LambdaContextStub())["statusCode"])
    captured = capsys.readouterr()

    assert statuses == [200, 200, 200, 422]
    assert len(emf_blobs(captured.out)) == 4
    assert log_lines.getvalue().count("\n") >= 4
    assert marker not in log_lines.getvalue()
    assert marker not in captured.out
    assert marker not in captured.err
