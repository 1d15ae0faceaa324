"""Weekly retraining: a new ranker from the stored feedback plus the base data, published as a candidate.

Usage (the scheduled Lambda function ``functions/retrain.py`` runs the same code)::

    python -m export.retrain --bucket MODEL_BUCKET --feedback-bucket FEEDBACK_BUCKET

Steps:

1. Read the active version from the SSM parameter and fetch its catalogue,
   encoder, index and ranker, each file checked against its sha256.
2. Read every stored feedback event once (``functions.feedback_store.read_events``)
   and turn the learners' sequences into examples (``export/feedback_examples.py``).
3. Train a ranker on the base data plus those examples with the active
   ranker's chosen parameters (no new search), through the same code as
   ``export/train_ranker.py``.
4. Score the candidate on the held-out Codeforces next-solve groups, the
   registry's promotion metric, and score both rankers on the held-out
   part of the feedback.
5. Publish the candidate with ``infra.registry.publish_derived``: the new
   ranker, and the active version's other components copied inside S3.

The job never promotes on its own unless asked (``--auto-promote``), and
then only through ``infra.registry.promote`` without ``force``, so a
candidate that scores below the active version stays a candidate.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# lightgbm is imported before usearch (pulled in by ranking.index): usearch
# 2.25+ with numkong breaks lightgbm when imported first.
import lightgbm  # noqa: F401  # isort: skip

from export.evaluate import CODEFORCES_TEST_PER_USER, codeforces_test_examples, ranker_ndcg
from export.feedback_examples import feedback_examples
from export.ranker_data import Example, Split
from export.train_ranker import ATTEMPTS_PER_USER, CODEFORCES_PER_USER, PARAMS_FILE, fit_ranker
from functions.feedback_store import FeedbackStore, read_events
from infra.registry import (
    DEFAULT_METRIC_KEY,
    DEFAULT_PARAMETER,
    DEFAULT_PREFIX,
    RegistryError,
    active_version,
    list_versions,
    promote,
    publish_derived,
    read_release,
    release_metric,
)
from ranking.artifacts import CATALOGUE_DIR, ENCODER_DIR, INDEX_DIR, RANKER_DIR, inputs_sha256
from ranking.exceptions import ArtifactError
from ranking.remote_artifacts import fetch_version
from ranking.service import Recommender

TRAINING_COMPONENTS = (CATALOGUE_DIR, ENCODER_DIR, INDEX_DIR, RANKER_DIR)
# Below this many training examples from feedback, a new ranker would be the
# active one trained again on the same base data, so nothing is published.
DEFAULT_MIN_FEEDBACK_EXAMPLES = 20


class RetrainError(RuntimeError):
    """The retraining job cannot run: nothing is promoted yet, or the active version is unusable."""


@dataclass(frozen=True)
class RetrainConfig:
    """Locations of the registry and the feedback, and the size of one run."""

    model_bucket: str
    prefix: str = DEFAULT_PREFIX
    parameter: str = DEFAULT_PARAMETER
    data_dir: Path = Path("data")
    work_dir: Path = Path("build") / "retrain"
    min_feedback_examples: int = DEFAULT_MIN_FEEDBACK_EXAMPLES
    auto_promote: bool = False
    # Codeforces groups per user for training and for the held-out score.
    # Smaller values train and score a smaller set through the same code.
    per_user: tuple[int, int] = (CODEFORCES_PER_USER["train"], CODEFORCES_PER_USER["valid"])
    attempts_per_user: int = ATTEMPTS_PER_USER["train"]
    eval_per_user: int = CODEFORCES_TEST_PER_USER


def _active_params(ranker_dir: Path) -> dict[str, Any]:
    try:
        params = json.loads((ranker_dir / PARAMS_FILE).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise RetrainError(f"the active ranker has no readable {PARAMS_FILE}: {exc}") from exc
    if not isinstance(params, dict):
        raise RetrainError(f"the active ranker's {PARAMS_FILE} is not a JSON object")
    return params


def _link_or_copy(source: Path, target: Path) -> None:
    """Give ``target`` the files of ``source``, hard-linked where the file system allows."""
    try:
        shutil.copytree(source, target, copy_function=os.link)
    except OSError:
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(source, target)


def retrain(s3: Any, ssm: Any, feedback: FeedbackStore, config: RetrainConfig) -> dict[str, Any]:
    """Run one retraining and return its summary (also printed by the command and logged by the handler).

    ``status`` is ``published`` with the candidate version, or ``skipped``
    with the reason when there is too little feedback to learn from.
    """
    started = time.perf_counter()
    base_version = active_version(ssm, config.parameter)
    if base_version is None:
        raise RetrainError(
            f"SSM parameter {config.parameter} does not exist: promote a version before retraining"
        )
    base_dir = fetch_version(
        s3,
        config.model_bucket,
        config.prefix,
        base_version,
        config.work_dir / "versions",
        components=TRAINING_COMPONENTS,
    )
    base_recommender = Recommender.from_artifacts(base_dir)
    catalogue = base_recommender.pipeline.catalogue

    events = read_events(feedback)
    examples, stats = feedback_examples(events, catalogue)
    summary: dict[str, Any] = {"base_version": base_version, "feedback": stats.to_dict()}
    train_count = stats.examples["train"]
    if train_count < config.min_feedback_examples:
        summary.update(
            status="skipped",
            reason=(
                f"{train_count} training examples from feedback, fewer than the "
                f"{config.min_feedback_examples} needed; nothing was published"
            ),
            seconds=round(time.perf_counter() - started, 1),
        )
        return summary

    source = {
        "retrained_from": base_version,
        "feedback_events": stats.events,
        "feedback_sha256": stats.sha256,
        "evaluation": {"codeforces_test_per_user": config.eval_per_user},
    }
    version = _published_before(s3, config, source)
    if version is None:
        version, feedback_scores = _train_and_publish(
            s3, config, base_dir, base_recommender, examples, source
        )
        summary["status"] = "published"
    else:
        feedback_scores = read_release(s3, config.model_bucket, config.prefix, version)["source"].get(
            "feedback_test", {}
        )
        summary["status"] = "unchanged"
    candidate_metric = release_metric(read_release(s3, config.model_bucket, config.prefix, version))
    active_metric = release_metric(read_release(s3, config.model_bucket, config.prefix, base_version))
    summary.update(
        candidate_version=version,
        metric={"key": DEFAULT_METRIC_KEY, "candidate": candidate_metric, "active": active_metric},
        passes_gate=active_metric is None
        or (candidate_metric is not None and candidate_metric >= active_metric),
        feedback_test=feedback_scores,
        promoted=False,
    )
    if config.auto_promote:
        try:
            promote(
                s3,
                ssm,
                config.model_bucket,
                config.prefix,
                config.parameter,
                version,
                reason=f"weekly retraining from {stats.events} feedback events",
            )
        except RegistryError as exc:
            summary["promotion_refused"] = str(exc)
        else:
            summary["promoted"] = True
    summary["seconds"] = round(time.perf_counter() - started, 1)
    return summary


def _published_before(s3: Any, config: RetrainConfig, source: dict[str, Any]) -> str | None:
    """Return the candidate an earlier run published from the same version, feedback and settings."""
    for release in list_versions(s3, config.model_bucket, config.prefix):
        previous = release.get("source", {})
        if all(previous.get(key) == value for key, value in source.items()):
            return str(release["version"])
    return None


def _train_and_publish(
    s3: Any,
    config: RetrainConfig,
    base_dir: Path,
    base_recommender: Recommender,
    examples: Sequence[Example],
    source: dict[str, Any],
) -> tuple[str, dict[str, Any]]:
    """Train the candidate ranker, score it and publish it; returns the version and the feedback scores."""
    base_version = str(source["retrained_from"])
    candidate_dir = config.work_dir / f"candidate-{base_version}-{str(source['feedback_sha256'])[:12]}"
    shutil.rmtree(candidate_dir, ignore_errors=True)
    for component in (CATALOGUE_DIR, ENCODER_DIR, INDEX_DIR):
        _link_or_copy(base_dir / component, candidate_dir / component)
    params = _active_params(base_dir / RANKER_DIR)
    per_user: dict[Split, int] = {"train": config.per_user[0], "valid": config.per_user[1]}
    inputs = inputs_sha256([], {"source": source, "params": params, "per_user": per_user})
    fit_ranker(
        config.data_dir,
        candidate_dir,
        candidate_dir / RANKER_DIR,
        inputs=inputs,
        extra_examples=[e for e in examples if e.split != "test"],
        trials=[params],
        per_user=per_user,
        attempts_per_user={"train": config.attempts_per_user},
        manifest_extra={"retraining": source},
    )

    candidate = Recommender.from_artifacts(candidate_dir)
    catalogue = candidate.pipeline.catalogue
    held_out = codeforces_test_examples(config.data_dir, catalogue, config.eval_per_user)
    value, groups = ranker_ndcg(candidate, held_out, "held-out Codeforces groups")
    if math.isnan(value):
        raise RetrainError("the candidate scored no held-out Codeforces group; check the bundled data")
    feedback_test = [e for e in examples if e.split == "test"]
    feedback_scores: dict[str, Any] = {"groups": 0}
    if feedback_test:
        candidate_score, kept = ranker_ndcg(candidate, feedback_test, "held-out feedback, candidate")
        base_score, _ = ranker_ndcg(base_recommender, feedback_test, "held-out feedback, active")
        feedback_scores = {"groups": kept, "candidate_ndcg@10": candidate_score, "active_ndcg@10": base_score}

    metrics = {
        "key": DEFAULT_METRIC_KEY,
        "value": round(value, 6),
        "evaluated_version": candidate.model_version,
        "evaluation": source["evaluation"],
        "groups": groups,
    }
    version = publish_derived(
        s3,
        config.model_bucket,
        config.prefix,
        base_version,
        candidate_dir,
        [RANKER_DIR],
        metrics,
        {**source, "feedback_test": feedback_scores},
    )
    shutil.rmtree(candidate_dir, ignore_errors=True)
    return version, feedback_scores


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; prints the summary as JSON and returns 0, or 2 when the run is refused."""
    import boto3

    from functions.feedback_store import LocalFeedbackStore, S3FeedbackStore

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bucket", required=True, help="S3 bucket of the model registry")
    parser.add_argument(
        "--prefix", default=DEFAULT_PREFIX, help=f"registry key prefix (default: {DEFAULT_PREFIX})"
    )
    parser.add_argument("--parameter", default=DEFAULT_PARAMETER, help="SSM parameter of the active version")
    feedback = parser.add_mutually_exclusive_group(required=True)
    feedback.add_argument("--feedback-bucket", help="S3 bucket of the feedback events")
    feedback.add_argument("--feedback-dir", type=Path, help="local feedback folder (the local server's)")
    parser.add_argument("--feedback-prefix", default="feedback", help="key prefix of the feedback events")
    parser.add_argument("--data", type=Path, default=Path("data"), help="bundled data folder (default: data)")
    parser.add_argument("--work-dir", type=Path, default=Path("build/retrain"), help="scratch folder")
    parser.add_argument(
        "--auto-promote", action="store_true", help="promote the candidate if it passes the gate"
    )
    args = parser.parse_args(argv)

    s3, ssm = boto3.client("s3"), boto3.client("ssm")
    store: FeedbackStore = (
        S3FeedbackStore(s3, args.feedback_bucket, args.feedback_prefix)
        if args.feedback_bucket
        else LocalFeedbackStore(args.feedback_dir)
    )
    config = RetrainConfig(
        model_bucket=args.bucket,
        prefix=args.prefix,
        parameter=args.parameter,
        data_dir=args.data,
        work_dir=args.work_dir,
        auto_promote=args.auto_promote,
    )
    try:
        summary = retrain(s3, ssm, store, config)
    except (RetrainError, RegistryError, ArtifactError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
