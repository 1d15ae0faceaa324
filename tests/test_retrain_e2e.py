"""Publish, promote, serve, collect feedback, retrain, gate, promote and roll back on moto's S3 and SSM.

Feedback comes in through ``POST /feedback`` of a fresh container, as real
learner sequences: the first submissions of Codeforces users from the
bundled data, replayed as ``solved`` and ``failed`` events. The retraining
then reads those events back from S3, trains a real LightGBM ranker and
publishes it as a candidate. The training and the held-out scoring use fewer
groups per user than the weekly job (``SMALL``), so the test takes a few
minutes. The code path is the job's own.
"""

from __future__ import annotations

import csv
import json
import logging
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from moto import mock_aws

from export.evaluate import codeforces_test_examples, ranker_ndcg
from export.retrain import RetrainConfig, RetrainError, retrain
from functions.app import create_app
from functions.feedback_store import S3FeedbackStore, read_events
from functions.settings import Settings
from infra.registry import (
    DEFAULT_METRIC_KEY,
    RegistryError,
    list_versions,
    promote,
    publish,
    read_release,
    rollback,
)
from ranking.service import Recommender
from tests.asgi import post_json

MODEL_BUCKET = "retrain-models"
FEEDBACK_BUCKET = "retrain-feedback"
PREFIX = "models"
PARAMETER = "/practice-recommender/active-model-version"
COMPONENTS = ("catalogue", "encoder", "index", "ranker")
SUBMISSIONS = Path("codeforces_submissions/cf_top32_submissions.csv")
LEARNERS = 12
EVENTS_PER_LEARNER = 40
EVAL_PER_USER = 10
SMALL: dict[str, Any] = {"per_user": (10, 3), "attempts_per_user": 20, "eval_per_user": EVAL_PER_USER}


@pytest.fixture
def aws(fake_aws_env: None) -> Iterator[SimpleNamespace]:
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=MODEL_BUCKET)
        s3.create_bucket(Bucket=FEEDBACK_BUCKET)
        yield SimpleNamespace(s3=s3, ssm=boto3.client("ssm", region_name="us-east-1"))


def container(cache: Path) -> Any:
    """A fresh app, as a new Lambda container would start it."""
    settings = Settings(
        artifacts_bucket=MODEL_BUCKET,
        artifacts_prefix=PREFIX,
        model_version_parameter=PARAMETER,
        artifacts_cache_dir=cache,
        feedback_bucket=FEEDBACK_BUCKET,
        learner_id_salt="pepper",
    )
    return create_app(settings=settings)


def replayed_events(data_dir: Path, catalogue: Any) -> list[dict[str, Any]]:
    """The first submissions of ``LEARNERS`` Codeforces users as feedback events, one per submission."""
    by_user: dict[str, list[dict[str, str]]] = {}
    with (data_dir / SUBMISSIONS).open(newline="", encoding="utf-8") as source:
        for row in csv.DictReader(source):
            if f"codeforces:{row['task_id']}" in catalogue:
                by_user.setdefault(row["handle"], []).append(row)
    start = datetime(2026, 11, 2, tzinfo=UTC)
    events = []
    for user, rows in sorted(by_user.items())[:LEARNERS]:
        for number, row in enumerate(rows[:EVENTS_PER_LEARNER]):
            events.append(
                {
                    "event_id": f"evt-{user}-{number:04d}",
                    "learner_id": user,
                    "problem_id": f"codeforces:{row['task_id']}",
                    "action": "solved" if row["verdict"] == "OK" else "failed",
                    "timestamp": (start + timedelta(minutes=30 * number)).isoformat(),
                    "time_spent_minutes": 25.0,
                }
            )
    return events


def small_config(tmp_path: Path, data_dir: Path, **overrides: Any) -> RetrainConfig:
    values: dict[str, Any] = {
        "model_bucket": MODEL_BUCKET,
        "prefix": PREFIX,
        "parameter": PARAMETER,
        "data_dir": data_dir,
        "work_dir": tmp_path / "retrain",
        **SMALL,
    }
    return RetrainConfig(**{**values, **overrides})


def test_retrain_from_feedback_end_to_end(
    aws: SimpleNamespace, artifacts_dir: Path, data_dir: Path, tmp_path: Path, recommender: Recommender
) -> None:
    # Publish the built ranker with its held-out score, computed as the retraining computes it.
    base_dir = tmp_path / "base"
    for component in COMPONENTS:
        shutil.copytree(artifacts_dir / component, base_dir / component)
    held_out = codeforces_test_examples(data_dir, recommender.pipeline.catalogue, EVAL_PER_USER)
    base_score, _ = ranker_ndcg(recommender, held_out, "base version")
    metrics = {
        "key": DEFAULT_METRIC_KEY,
        "value": round(base_score, 6),
        "evaluation": {"codeforces_test_per_user": EVAL_PER_USER},
    }
    base = publish(aws.s3, MODEL_BUCKET, PREFIX, base_dir, metrics, skip_explainer=True)
    promote(aws.s3, aws.ssm, MODEL_BUCKET, PREFIX, PARAMETER, base)

    # Serve, then send the replayed feedback in batches of 100; one batch twice, as a client retry.
    app = container(tmp_path / "tmp-a")
    served = post_json(app, "/recommend", {"k": 3})
    assert served.status_code == 200
    assert served.json()["model_version"] == base
    events = replayed_events(data_dir, recommender.pipeline.catalogue)
    batches = [events[i : i + 100] for i in range(0, len(events), 100)]
    for batch in [*batches, batches[0]]:
        stored = post_json(app, "/feedback", {"events": batch})
        assert stored.status_code == 200, stored.text
    store = S3FeedbackStore(aws.s3, FEEDBACK_BUCKET, "feedback")
    assert len(read_events(store)) == len(events)

    summary = retrain(aws.s3, aws.ssm, store, small_config(tmp_path, data_dir))

    assert summary["status"] == "published", summary
    assert summary["base_version"] == base
    assert summary["feedback"]["events"] == len(events)
    assert summary["feedback"]["learners"] == LEARNERS
    assert summary["feedback"]["examples"]["train"] >= 20
    candidate = summary["candidate_version"]
    assert candidate != base
    assert aws.ssm.get_parameter(Name=PARAMETER)["Parameter"]["Value"] == base, "retraining never promotes"
    release = read_release(aws.s3, MODEL_BUCKET, PREFIX, candidate)
    assert release["source"]["retrained_from"] == base
    assert release["source"]["feedback_events"] == len(events)
    assert release["metrics"]["value"] == summary["metric"]["candidate"]
    assert release["metrics"]["evaluation"] == metrics["evaluation"]
    base_release = read_release(aws.s3, MODEL_BUCKET, PREFIX, base)
    # Only the ranker changed; the other components are the base version's objects.
    for component in ("catalogue", "encoder", "index"):
        assert release["components"][component] == base_release["components"][component]
    assert release["components"]["ranker"] != base_release["components"]["ranker"]
    ranker_manifest = json.loads(
        aws.s3.get_object(Bucket=MODEL_BUCKET, Key=f"{PREFIX}/versions/{candidate}/ranker/manifest.json")[
            "Body"
        ].read()
    )
    assert ranker_manifest["retraining"]["feedback_events"] == len(events)
    assert [r["version"] for r in list_versions(aws.s3, MODEL_BUCKET, PREFIX)] == [base, candidate]

    # The gate: promotion without --force follows the metric comparison the summary reports.
    passes = summary["metric"]["candidate"] >= summary["metric"]["active"]
    assert summary["passes_gate"] is passes
    if passes:
        promote(aws.s3, aws.ssm, MODEL_BUCKET, PREFIX, PARAMETER, candidate)
    else:
        with pytest.raises(RegistryError, match="below active version"):
            promote(aws.s3, aws.ssm, MODEL_BUCKET, PREFIX, PARAMETER, candidate)
        promote(aws.s3, aws.ssm, MODEL_BUCKET, PREFIX, PARAMETER, candidate, force=True, reason="test")

    after = post_json(container(tmp_path / "tmp-b"), "/recommend", {"k": 3})
    assert after.status_code == 200
    assert after.json()["model_version"] == candidate

    rollback(aws.s3, aws.ssm, MODEL_BUCKET, PREFIX, PARAMETER, reason="test")
    back = post_json(container(tmp_path / "tmp-c"), "/recommend", {"k": 3})
    assert back.status_code == 200
    assert back.json()["model_version"] == base

    # The same feedback again publishes the same candidate, not a second one.
    again = retrain(aws.s3, aws.ssm, store, small_config(tmp_path, data_dir, auto_promote=True))
    assert again["candidate_version"] == candidate
    assert [r["version"] for r in list_versions(aws.s3, MODEL_BUCKET, PREFIX)] == [base, candidate]
    # Auto-promotion goes through the same gate.
    assert again["promoted"] is passes
    assert ("promotion_refused" in again) is not passes


def test_retrain_skips_little_feedback(
    aws: SimpleNamespace, artifacts_dir: Path, data_dir: Path, tmp_path: Path
) -> None:
    base_dir = tmp_path / "base"
    for component in COMPONENTS:
        shutil.copytree(artifacts_dir / component, base_dir / component)
    base = publish(aws.s3, MODEL_BUCKET, PREFIX, base_dir, None, skip_explainer=True)
    promote(aws.s3, aws.ssm, MODEL_BUCKET, PREFIX, PARAMETER, base)
    store = S3FeedbackStore(aws.s3, FEEDBACK_BUCKET, "feedback")

    summary = retrain(aws.s3, aws.ssm, store, small_config(tmp_path, data_dir))

    assert summary["status"] == "skipped"
    assert summary["feedback"]["events"] == 0
    assert "0 training examples from feedback, fewer than the 20 needed" in summary["reason"]
    assert [r["version"] for r in list_versions(aws.s3, MODEL_BUCKET, PREFIX)] == [base]


def test_retrain_rejects_no_active_version(aws: SimpleNamespace, data_dir: Path, tmp_path: Path) -> None:
    store = S3FeedbackStore(aws.s3, FEEDBACK_BUCKET, "feedback")
    with pytest.raises(RetrainError, match="promote a version before retraining"):
        retrain(aws.s3, aws.ssm, store, small_config(tmp_path, data_dir))


def test_handler_rejects_missing_buckets(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from functions import retrain as retrain_function
    from functions.settings import get_settings

    for name in ("ARTIFACTS_BUCKET", "FEEDBACK_BUCKET"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    try:
        with (
            caplog.at_level(logging.ERROR),
            pytest.raises(RuntimeError, match="set both ARTIFACTS_BUCKET and FEEDBACK_BUCKET"),
        ):
            retrain_function.handler({}, None)
    finally:
        get_settings.cache_clear()
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert "retraining cannot start" in errors[0].getMessage()
