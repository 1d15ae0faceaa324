"""Publish, promote, serve, send feedback and roll back, end to end on moto's S3 and SSM.

The real artifacts (without the explainer, as the Lambda functions run
them) are published twice: the built set, and a copy whose ranker manifest
carries one extra field, which makes a second valid version. Each "container"
is a new app with its own /tmp folder, loading whatever version SSM names.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3
import httpx
import pytest
from moto import mock_aws

from functions.app import create_app
from functions.feedback_store import S3FeedbackStore, read_events
from functions.settings import Settings
from infra.registry import promote, publish, rollback
from ranking.artifacts import read_manifest, write_manifest
from tests.asgi import post_json

BUCKET = "registry-e2e"
PREFIX = "models"
PARAMETER = "/practice-recommender/active-model-version"
METRIC_KEY = "tasks.codeforces_next.ranker.ndcg@10"
COMPONENTS = ("catalogue", "encoder", "index", "ranker")


@pytest.fixture
def aws(fake_aws_env: None) -> Iterator[SimpleNamespace]:
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        yield SimpleNamespace(s3=s3, ssm=boto3.client("ssm", region_name="us-east-1"))


def serving_copy(artifacts_dir: Path, folder: Path, note: str | None = None) -> Path:
    """Copy the four serving components; ``note`` changes the ranker manifest, hence the version."""
    for component in COMPONENTS:
        shutil.copytree(artifacts_dir / component, folder / component)
    if note is not None:
        manifest = read_manifest(folder / "ranker")
        manifest["note"] = note
        write_manifest(folder / "ranker", manifest)
    return folder


def container(cache: Path) -> Any:
    """A fresh app, as a new Lambda container would start it."""
    settings = Settings(
        artifacts_bucket=BUCKET,
        artifacts_prefix=PREFIX,
        model_version_parameter=PARAMETER,
        artifacts_cache_dir=cache,
        feedback_bucket=BUCKET,
        learner_id_salt="pepper",
    )
    return create_app(settings=settings)


def call(app: Any, path: str, body: dict[str, Any]) -> httpx.Response:
    return post_json(app, path, body)


def test_publish_promote_serve_feedback_rollback(
    aws: SimpleNamespace, artifacts_dir: Path, tmp_path: Path
) -> None:
    first_dir = serving_copy(artifacts_dir, tmp_path / "first")
    second_dir = serving_copy(artifacts_dir, tmp_path / "second", note="candidate")
    first = publish(
        aws.s3, BUCKET, PREFIX, first_dir, {"key": METRIC_KEY, "value": 0.60}, skip_explainer=True
    )
    second = publish(
        aws.s3, BUCKET, PREFIX, second_dir, {"key": METRIC_KEY, "value": 0.65}, skip_explainer=True
    )
    assert first != second

    promote(aws.s3, aws.ssm, BUCKET, PREFIX, PARAMETER, first)
    promote(aws.s3, aws.ssm, BUCKET, PREFIX, PARAMETER, second)
    served = call(container(tmp_path / "tmp-a"), "/recommend", {"k": 3})
    assert served.status_code == 200, served.text
    assert len(served.json()["recommendations"]) == 3
    assert (tmp_path / "tmp-a" / second / "ranker" / "manifest.json").is_file()

    shown = served.json()["recommendations"][0]
    event = {
        "event_id": "evt-e2e-0001",
        "learner_id": "learner-42",
        "problem_id": shown["problem_id"],
        "action": "clicked",
        "timestamp": "2026-12-05T09:00:00Z",
        "model_version": served.json()["model_version"],
        "rank": 1,
    }
    stored = call(container(tmp_path / "tmp-b"), "/feedback", {"events": [event]})
    assert stored.status_code == 200, stored.text
    events = read_events(S3FeedbackStore(aws.s3, BUCKET, "feedback"))
    assert [item["problem_id"] for item in events] == [shown["problem_id"]]
    assert "learner-42" not in json.dumps(events)

    rollback(aws.s3, aws.ssm, BUCKET, PREFIX, PARAMETER, reason="test")
    assert aws.ssm.get_parameter(Name=PARAMETER)["Parameter"]["Value"] == first
    after = call(container(tmp_path / "tmp-c"), "/recommend", {"k": 3})
    assert after.status_code == 200
    assert (tmp_path / "tmp-c" / first / "ranker" / "manifest.json").is_file()
    assert not (tmp_path / "tmp-c" / second).exists()
