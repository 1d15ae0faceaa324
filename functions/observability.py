"""CloudWatch metrics in the embedded metric format (EMF) and X-Ray tracing, through aws-lambda-powertools.

Metrics are recorded only while ``functions.lambda_entry`` serves a Lambda
invocation (``recording``), and that entry prints them as one EMF JSON line
when the invocation ends. The local server and in-process tests never enter
that block, so they record and print nothing. ``POWERTOOLS_METRICS_DISABLED``
turns the printing off inside Lambda too.

Every EMF line has the dimensions ``service`` (``POWERTOOLS_SERVICE_NAME``)
and ``endpoint`` (one of ``ENDPOINTS``, or ``other``), so the number of
metric series stays fixed. The namespace is ``POWERTOOLS_METRICS_NAMESPACE``.

The tracer is powertools' own: it is disabled outside Lambda, under SAM local
and with ``POWERTOOLS_TRACE_DISABLED=true``, and then every span is a no-op.
"""

from __future__ import annotations

import contextvars
import logging
import os
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from aws_lambda_powertools import Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

from ranking import stages
from ranking.stages import StageTimer
from ranking.types import ExplainResult, RecommendResult

logger = logging.getLogger(__name__)

DEFAULT_SERVICE_NAME = "practice-recommender"
DEFAULT_METRICS_NAMESPACE = "PracticeRecommender"
# The routes that get their own endpoint dimension; any other path is "other",
# so that requests for random paths cannot create new metric series.
ENDPOINTS = frozenset({"/recommend", "/explain", "/feedback", "/health"})
OTHER_ENDPOINT = "other"

REQUESTS = "Requests"
ERRORS_4XX = "Errors4xx"
ERRORS_5XX = "Errors5xx"
LATENCY = "Latency"
COLD_START = "ColdStart"
CANDIDATE_COUNT = "CandidateCount"
RECOMMENDATION_COUNT = "RecommendationCount"
EXPLANATIONS = "Explanations"
EXPLANATION_FALLBACKS = "ExplanationFallbacks"
# Latency metric of each ranking stage (ranking.stages names).
STAGE_LATENCY = {
    stages.ENCODE: "EncodeLatency",
    stages.RETRIEVE: "RetrieveLatency",
    stages.FEATURES: "FeaturesLatency",
    stages.RANK: "RankLatency",
    stages.EXPLAIN: "ExplainLatency",
}

metrics = Metrics(
    namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or DEFAULT_METRICS_NAMESPACE,
    service=os.environ.get("POWERTOOLS_SERVICE_NAME") or DEFAULT_SERVICE_NAME,
)
tracer = Tracer(service=os.environ.get("POWERTOOLS_SERVICE_NAME") or DEFAULT_SERVICE_NAME)

_recording: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "functions_metrics_recording", default=False
)


def endpoint_of(path: str) -> str:
    """Return the endpoint dimension of a request path: the route itself, or ``other``."""
    path = path.rstrip("/") or "/"
    return path if path in ENDPOINTS else OTHER_ENDPOINT


@contextmanager
def recording() -> Iterator[None]:
    """Record metrics in this block, then print them as one EMF line and clear them.

    Nothing is printed when the block recorded no metric, such as an event
    that never reached the app.
    """
    token = _recording.set(True)
    try:
        yield
    finally:
        _recording.reset(token)
        try:
            if metrics.metric_set:
                metrics.flush_metrics()
        finally:
            # flush_metrics keeps the values when POWERTOOLS_METRICS_DISABLED is set.
            metrics.clear_metrics()


def _add(name: str, unit: MetricUnit, value: float) -> None:
    if _recording.get():
        metrics.add_metric(name=name, unit=unit, value=value)


def record_request(path: str, status: int, latency_ms: float, *, cold_start: bool) -> None:
    """Record one served request: its count, latency, error class and cold start."""
    if not _recording.get():
        return
    metrics.add_dimension(name="endpoint", value=endpoint_of(path))
    _add(REQUESTS, MetricUnit.Count, 1)
    _add(LATENCY, MetricUnit.Milliseconds, latency_ms)
    # Both error metrics are always sent, so their Average is the error rate.
    _add(ERRORS_4XX, MetricUnit.Count, 1 if 400 <= status < 500 else 0)
    _add(ERRORS_5XX, MetricUnit.Count, 1 if status >= 500 else 0)
    _add(COLD_START, MetricUnit.Count, 1 if cold_start else 0)


def _record_stages(timer: StageTimer) -> None:
    for stage, milliseconds in timer.durations_ms.items():
        name = STAGE_LATENCY.get(stage)
        if name is not None:
            _add(name, MetricUnit.Milliseconds, milliseconds)


def record_recommend(result: RecommendResult, timer: StageTimer) -> None:
    """Record the stage latencies, candidate and recommendation counts and explanation fallbacks."""
    _record_stages(timer)
    if stages.CANDIDATES in timer.counts:
        _add(CANDIDATE_COUNT, MetricUnit.Count, timer.counts[stages.CANDIDATES])
    _add(RECOMMENDATION_COUNT, MetricUnit.Count, len(result.recommendations))
    explained = [item for item in result.recommendations if item.explanation is not None]
    if explained:
        _add(EXPLANATIONS, MetricUnit.Count, len(explained))
        fallbacks = sum(item.explanation_fallback is not None for item in explained)
        _add(EXPLANATION_FALLBACKS, MetricUnit.Count, fallbacks)


def record_explain(result: ExplainResult, timer: StageTimer) -> None:
    """Record the stage latencies and whether the template replaced the model's text."""
    _record_stages(timer)
    _add(EXPLANATIONS, MetricUnit.Count, 1)
    _add(EXPLANATION_FALLBACKS, MetricUnit.Count, 1 if result.explanation_fallback is not None else 0)


def _stage_subsegment(name: str) -> AbstractContextManager[Any]:
    return tracer.provider.in_subsegment(name=f"## {name}")


def enable_stage_tracing() -> None:
    """Trace each ranking stage as an X-Ray subsegment, unless the tracer is disabled.

    The sync routes run in a worker thread and the X-Ray SDK keeps its
    context per thread, so the stage subsegments hang under the function's
    segment, next to the handler's ``## handler`` subsegment.
    """
    if not tracer.disabled:
        stages.set_span_factory(_stage_subsegment)
