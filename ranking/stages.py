"""Wall-clock timing of the stages of one recommender call, with an optional tracing hook.

A caller that wants the numbers opens ``collect()`` around a recommender
call; ``stage`` blocks and ``record_count`` calls inside it write into the
returned ``StageTimer``. Without an open ``collect()`` they only run the
block. The API layer publishes the numbers as metrics, and it can install a
span factory with ``set_span_factory`` so that each stage also becomes a
trace subsegment.
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

SpanFactory = Callable[[str], AbstractContextManager[Any]]

ENCODE = "encode"
RETRIEVE = "retrieve"
FEATURES = "features"
RANK = "rank"
EXPLAIN = "explain"
# Count of the candidates that the ranker scored.
CANDIDATES = "candidates"

_span_factory: SpanFactory | None = None


class StageTimer:
    """Durations in milliseconds of the named stages, which add up when repeated, and named counts."""

    def __init__(self) -> None:
        self.durations_ms: dict[str, float] = {}
        self.counts: dict[str, int] = {}


_current: contextvars.ContextVar[StageTimer | None] = contextvars.ContextVar(
    "ranking_stage_timer", default=None
)


def set_span_factory(factory: SpanFactory | None) -> None:
    """Open ``factory(stage name)`` around every stage from now on; ``None`` removes the hook."""
    global _span_factory
    _span_factory = factory


@contextmanager
def collect() -> Iterator[StageTimer]:
    """Collect the stage durations and counts of the calls made in this block."""
    timer = StageTimer()
    token = _current.set(timer)
    try:
        yield timer
    finally:
        _current.reset(token)


@contextmanager
def stage(name: str) -> Iterator[None]:
    """Time the block as stage ``name``, inside a span when a factory is installed."""
    span = _span_factory(name) if _span_factory is not None else nullcontext()
    started = time.perf_counter()
    try:
        with span:
            yield
    finally:
        timer = _current.get()
        if timer is not None:
            elapsed_ms = (time.perf_counter() - started) * 1000
            timer.durations_ms[name] = round(timer.durations_ms.get(name, 0.0) + elapsed_ms, 3)


def record_count(name: str, value: int) -> None:
    """Store a count in the open ``collect()`` block, if any."""
    timer = _current.get()
    if timer is not None:
        timer.counts[name] = value
