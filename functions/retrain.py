"""Lambda entry point of RetrainFunction: the weekly retraining from stored feedback.

EventBridge Scheduler invokes it once a week (``template.yaml``). It runs
``export.retrain.retrain`` with the registry and feedback settings of the
other functions and returns the summary, which is also logged as one JSON
line. A run that is refused (nothing promoted yet, an unusable active
version) logs one error line and raises, so the invocation counts as a
Lambda error and the function's error alarm fires.
"""

from __future__ import annotations

import logging
from typing import Any

from functions.logs import configure_logging
from functions.settings import get_settings, load_retrain_settings

logger = logging.getLogger(__name__)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Run one retraining; ``event`` (the schedule's payload) is not read."""
    settings = get_settings()
    configure_logging(settings.log_level, in_lambda=settings.in_lambda)
    retrain_settings = load_retrain_settings()
    if settings.artifacts_bucket is None or settings.feedback_bucket is None:
        message = "retraining cannot start: set both ARTIFACTS_BUCKET and FEEDBACK_BUCKET on the function"
        logger.error(message)
        raise RuntimeError(message)

    # Imported here: the training stack (LightGBM, ONNX tooling) loads only in this function.
    import boto3

    from export.retrain import RetrainConfig, retrain
    from functions.feedback_store import S3FeedbackStore

    s3, ssm = boto3.client("s3"), boto3.client("ssm")
    config = RetrainConfig(
        model_bucket=settings.artifacts_bucket,
        prefix=settings.artifacts_prefix,
        parameter=settings.model_version_parameter,
        data_dir=retrain_settings.data_dir,
        work_dir=retrain_settings.work_dir,
        min_feedback_examples=retrain_settings.min_feedback_examples,
        auto_promote=retrain_settings.auto_promote,
    )
    feedback = S3FeedbackStore(s3, settings.feedback_bucket, settings.feedback_prefix)
    try:
        summary = retrain(s3, ssm, feedback, config)
    except Exception as exc:
        logger.error("retraining failed: %s", exc, extra={"error_type": type(exc).__name__})
        raise
    logger.info("retraining finished", extra={"retrain": summary})
    return summary
