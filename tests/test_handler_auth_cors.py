"""The handler-level API key check and the CORS headers on function responses."""

from __future__ import annotations

import json
from typing import Any

import pytest

from functions.app import create_app
from functions.auth import has_auth_context
from functions.lambda_entry import LambdaHandler
from functions.settings import Settings, SettingsError, load_settings
from ranking.service import Recommender
from tests.asgi import post_json
from tests.test_handlers import LambdaContextStub, body_of, header, load_event

ORIGIN = "https://app.example.com"


def protected_handler(recommender: Recommender, **settings: Any) -> LambdaHandler:
    return LambdaHandler(create_app(lambda: recommender, settings=Settings(require_api_key=True, **settings)))


def with_api_key(event: dict[str, Any]) -> dict[str, Any]:
    event["requestContext"]["identity"]["apiKeyId"] = "k1a2b3c4d5"
    return event


def with_jwt_claims(event: dict[str, Any]) -> dict[str, Any]:
    event["requestContext"]["authorizer"] = {"jwt": {"claims": {"sub": "platform-a"}, "scopes": None}}
    return event


def test_v1_event_with_api_key_succeeds(recommender: Recommender) -> None:
    handler = protected_handler(recommender)
    response = handler(with_api_key(load_event("apigw_v1_recommend.json")), LambdaContextStub())

    assert response["statusCode"] == 200
    assert len(body_of(response)["recommendations"]) == 5


def test_v2_event_with_jwt_claims_succeeds(recommender: Recommender) -> None:
    handler = protected_handler(recommender)
    event = with_jwt_claims(load_event("apigw_v2_explain.json"))
    event["body"] = json.dumps(json.loads(event["body"]) | {"explainer": "template"})
    response = handler(event, LambdaContextStub())

    assert response["statusCode"] == 200


@pytest.mark.parametrize(
    "event_name", ["apigw_v1_recommend.json", "apigw_v2_recommend.json", "apigw_v2_explain.json"]
)
def test_event_without_auth_rejected(recommender: Recommender, event_name: str) -> None:
    handler = protected_handler(recommender)
    event = load_event(event_name)
    response = handler(event, LambdaContextStub())

    assert response["statusCode"] == 403
    assert header(response, "content-type") == "application/json"
    error = body_of(response)["error"]
    assert error["code"] == "forbidden"
    assert "x-api-key" in error["message"]
    assert error["fields"] == []
    assert error["request_id"] == event["requestContext"]["requestId"]


def test_feedback_without_auth_rejected(recommender: Recommender) -> None:
    handler = protected_handler(recommender)
    event = load_event("apigw_v2_recommend.json")
    event["rawPath"] = event["requestContext"]["http"]["path"] = "/feedback"
    response = handler(event, LambdaContextStub())

    assert response["statusCode"] == 403
    assert body_of(response)["error"]["code"] == "forbidden"


def test_empty_api_key_id_rejected(recommender: Recommender) -> None:
    handler = protected_handler(recommender)
    event = load_event("apigw_v1_recommend.json")
    event["requestContext"]["identity"]["apiKeyId"] = ""

    assert handler(event, LambdaContextStub())["statusCode"] == 403


def test_health_open_without_auth(recommender: Recommender) -> None:
    handler = protected_handler(recommender)
    response = handler(load_event("apigw_v2_health.json"), LambdaContextStub())

    assert response["statusCode"] == 200
    assert body_of(response)["status"] == "ok"


def test_check_off_by_default(recommender: Recommender) -> None:
    handler = LambdaHandler(create_app(lambda: recommender, settings=Settings()))

    assert handler(load_event("apigw_v1_recommend.json"), LambdaContextStub())["statusCode"] == 200


def test_in_process_request_rejected_when_required(recommender: Recommender) -> None:
    # A request that did not come through API Gateway has no auth context at all.
    app = create_app(lambda: recommender, settings=Settings(require_api_key=True))
    response = post_json(app, "/recommend", {"history": [], "k": 1})

    assert response.status_code == 403
    assert response.json()["error"]["request_id"] == response.headers["x-request-id"]


def test_auth_context_detection() -> None:
    assert has_auth_context(with_api_key(load_event("apigw_v1_recommend.json")))
    assert has_auth_context(with_jwt_claims(load_event("apigw_v2_recommend.json")))
    assert not has_auth_context(load_event("apigw_v1_recommend.json"))
    assert not has_auth_context(load_event("apigw_v2_recommend.json"))
    assert not has_auth_context({"requestContext": {"authorizer": {"jwt": {"claims": {}}}}})
    assert not has_auth_context({})


def test_cors_headers_on_success(recommender: Recommender) -> None:
    handler = LambdaHandler(create_app(lambda: recommender, settings=Settings(cors_allow_origin=ORIGIN)))
    response = handler(load_event("apigw_v2_health.json"), LambdaContextStub())

    assert response["statusCode"] == 200
    assert header(response, "access-control-allow-origin") == ORIGIN
    assert header(response, "vary") == "Origin"
    assert header(response, "access-control-expose-headers") == "x-request-id"


def test_cors_headers_on_errors(recommender: Recommender) -> None:
    handler = protected_handler(recommender, cors_allow_origin=ORIGIN)
    rejected = handler(load_event("apigw_v2_recommend.json"), LambdaContextStub())
    invalid = handler(with_jwt_claims(load_event("apigw_v2_recommend_invalid.json")), LambdaContextStub())

    assert rejected["statusCode"] == 403
    assert invalid["statusCode"] == 422
    for response in (rejected, invalid):
        assert header(response, "access-control-allow-origin") == ORIGIN
        assert header(response, "vary") == "Origin"


def test_cors_wildcard_has_no_vary(recommender: Recommender) -> None:
    app = create_app(lambda: recommender, settings=Settings(cors_allow_origin="*"))
    response = post_json(app, "/recommend", {"history": [], "k": 0})

    assert response.status_code == 422
    assert response.headers["access-control-allow-origin"] == "*"
    assert "vary" not in response.headers


def test_cors_off_by_default(recommender: Recommender) -> None:
    app = create_app(lambda: recommender, settings=Settings())
    response = post_json(app, "/recommend", {"history": [], "k": 1})

    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("true", True), ("1", True), ("YES", True), ("false", False), ("0", False), ("", False)],
)
def test_require_api_key_parsed(raw: str, expected: bool) -> None:
    assert load_settings({"REQUIRE_API_KEY": raw}).require_api_key is expected


@pytest.mark.parametrize("raw", ["maybe", "2"])
def test_require_api_key_invalid(raw: str) -> None:
    with pytest.raises(SettingsError, match="REQUIRE_API_KEY"):
        load_settings({"REQUIRE_API_KEY": raw})


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("*", "*"), (ORIGIN, ORIGIN), ("http://localhost:3000", "http://localhost:3000"), (" ", None)],
)
def test_cors_origin_parsed(raw: str, expected: str | None) -> None:
    assert load_settings({"CORS_ALLOW_ORIGIN": raw}).cors_allow_origin == expected


@pytest.mark.parametrize(
    "raw", ["https://a.example.com,https://b.example.com", "app.example.com", f"{ORIGIN}/"]
)
def test_cors_origin_invalid(raw: str) -> None:
    with pytest.raises(SettingsError, match="CORS_ALLOW_ORIGIN"):
        load_settings({"CORS_ALLOW_ORIGIN": raw})
