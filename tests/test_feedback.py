"""POST /feedback: validation, anonymisation, idempotent batches, S3 on moto and the local folder."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from moto import mock_aws

from functions.app import create_app
from functions.feedback_store import S3FeedbackStore, anonymise, read_events
from functions.settings import Settings
from ranking.exceptions import ArtifactError
from tests.asgi import post_json

BUCKET = "feedback-test"
EVENT = {
    "event_id": "evt-0001-aaaa",
    "learner_id": "alice@example.com",
    "problem_id": "leetcode:two-sum",
    "action": "solved",
    "timestamp": "2026-12-01T10:00:00Z",
    "time_spent_minutes": 14,
    "explanation_helpful": True,
    "model_version": "00cce528be2d",
    "rank": 1,
}


def no_recommender() -> Any:
    # Feedback never needs the recommender; a load attempt would be a bug.
    raise ArtifactError("the feedback route must not load the recommender")


def post(settings: Settings, body: dict[str, Any]) -> httpx.Response:
    return post_json(create_app(no_recommender, settings=settings), "/feedback", body)


@pytest.fixture
def s3(fake_aws_env: None) -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


def test_local_feedback_is_stored_anonymised(tmp_path: Path) -> None:
    settings = Settings(feedback_dir=tmp_path, learner_id_salt="pepper")
    response = post(settings, {"events": [EVENT]})
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == 1
    stored = (tmp_path / response.json()["batch"]).read_text()
    assert "alice@example.com" not in stored
    event = json.loads(stored)
    assert event["learner"] == anonymise("alice@example.com", b"pepper")
    assert event["learner"] != anonymise("alice@example.com", b"other salt")
    assert event["action"] == "solved"
    assert event["explanation_helpful"] is True


def test_retried_batch_is_stored_once(s3: Any) -> None:
    settings = Settings(feedback_bucket=BUCKET, learner_id_salt="pepper")
    second = {**EVENT, "event_id": "evt-0002-bbbb", "action": "shown"}
    first = post(settings, {"events": [EVENT, second]})
    retry = post(settings, {"events": [second, EVENT]})
    assert first.status_code == retry.status_code == 200
    assert first.json()["batch"] == retry.json()["batch"]
    overlapping = post(settings, {"events": [EVENT, {**EVENT, "event_id": "evt-0003-cccc"}]})
    assert overlapping.status_code == 200
    events = read_events(S3FeedbackStore(s3, BUCKET, "feedback"))
    stored = sorted(event["event_id"] for event in events)
    assert stored == ["evt-0001-aaaa", "evt-0002-bbbb", "evt-0003-cccc"]


def test_repeated_id_within_a_batch_counts_once(tmp_path: Path) -> None:
    settings = Settings(feedback_dir=tmp_path, learner_id_salt="pepper")
    response = post(settings, {"events": [EVENT, EVENT]})
    assert response.status_code == 200
    assert response.json()["accepted"] == 1


def test_unreachable_s3_gives_503_and_stores_nothing(s3: Any) -> None:
    # Writing to a bucket that does not exist makes S3 reject the write.
    settings = Settings(feedback_bucket="no-such-bucket", learner_id_salt="pepper")
    response = post(settings, {"events": [EVENT]})
    assert response.status_code == 503
    assert "retry the same batch" in response.json()["error"]["message"]


def test_lambda_without_salt_refuses_feedback(tmp_path: Path) -> None:
    settings = Settings(feedback_dir=tmp_path, in_lambda=True)
    response = post(settings, {"events": [EVENT]})
    assert response.status_code == 503
    assert "salt" in response.json()["error"]["message"]
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"action": "liked"}, "events[0].action"),
        ({"event_id": "short"}, "events[0].event_id"),
        ({"time_spent_minutes": -1}, "events[0].time_spent_minutes"),
        ({"rank": 0}, "events[0].rank"),
        ({"timestamp": "yesterday"}, "events[0].timestamp"),
    ],
)
def test_bad_event_fields_are_named(tmp_path: Path, change: dict[str, Any], field: str) -> None:
    settings = Settings(feedback_dir=tmp_path, learner_id_salt="pepper")
    response = post(settings, {"events": [{**EVENT, **change}]})
    assert response.status_code == 422, response.text
    assert any(error["field"] == field for error in response.json()["error"]["fields"])


def test_empty_batch_is_refused(tmp_path: Path) -> None:
    response = post(Settings(feedback_dir=tmp_path, learner_id_salt="pepper"), {"events": []})
    assert response.status_code == 422
    assert response.json()["error"]["fields"][0]["field"] == "events"
