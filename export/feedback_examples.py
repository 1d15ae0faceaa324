"""Training examples from the feedback events that ``POST /feedback`` stored.

Each anonymised learner's events, in time order, are read like a Codeforces
submission sequence (``export/ranker_data.py``): ``solved`` and ``failed``
events build the history, and after a prefix with at least
``MIN_PRIOR_SOLVES`` solves, the next first solve is the positive (grade 3).
The problems solved soon after it, and the recommended problems the learner
clicked in that window without solving them yet, are weaker positives
(grade 1). ``shown`` and ``dismissed`` events add no label: a problem that was
shown and not taken up is one of the unlabelled candidates, as it is for the
base data.

Sequences are split by time as the base data is: the first 80 % of a
learner's eligible solves train, the next 10 % validate and the last 10 %
are held out. Events whose problem is not in the catalogue, or whose action
or timestamp cannot be read, are counted and skipped, never guessed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from export.ranker_data import HISTORY_WINDOW, SOON_AFTER, Example, Split, split_of
from ranking.catalogue import Catalogue
from ranking.types import HistoryItem, LearnerProfile, Status

# Fewer prior solves than this leaves too little history to learn from.
MIN_PRIOR_SOLVES = 2
HISTORY_ACTIONS = frozenset({"solved", "failed"})
KNOWN_ACTIONS = frozenset({"shown", "clicked", "solved", "failed", "dismissed"})


@dataclass
class FeedbackStats:
    """Counts of what the conversion used and skipped."""

    events: int = 0
    learners: int = 0
    skipped_unknown_problem: int = 0
    skipped_unreadable: int = 0
    examples: dict[str, int] = field(default_factory=lambda: {"train": 0, "valid": 0, "test": 0})
    sha256: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Return the counts as a JSON-ready dict."""
        return {
            "events": self.events,
            "learners": self.learners,
            "skipped_unknown_problem": self.skipped_unknown_problem,
            "skipped_unreadable": self.skipped_unreadable,
            "examples": dict(self.examples),
            "sha256": self.sha256,
        }


@dataclass(frozen=True)
class _Event:
    when: datetime
    event_id: str
    problem_id: str
    action: str
    minutes: float | None


def events_sha256(events: Iterable[Mapping[str, Any]]) -> str:
    """Hash the events in event-id order, so the same feedback always gives the same hash."""
    digest = hashlib.sha256()
    for event in sorted(events, key=lambda item: str(item.get("event_id", ""))):
        digest.update(json.dumps(event, sort_keys=True, default=str).encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()


def _parse(event: Mapping[str, Any]) -> _Event | None:
    try:
        when = datetime.fromisoformat(str(event["timestamp"]))
        action = str(event["action"])
        minutes = event.get("time_spent_minutes")
        parsed = _Event(
            when=when,
            event_id=str(event["event_id"]),
            problem_id=str(event["problem_id"]),
            action=action,
            minutes=None if minutes is None else float(minutes),
        )
    except (KeyError, TypeError, ValueError):
        return None
    if when.tzinfo is None or action not in KNOWN_ACTIONS:
        return None
    return parsed


def _history(events: list[_Event]) -> tuple[HistoryItem, ...]:
    """Summarise solve and fail events into one item per problem, last touched last."""
    attempts: dict[str, int] = {}
    minutes: dict[str, float] = {}
    solved: set[str] = set()
    last_touch: dict[str, int] = {}
    for index, event in enumerate(events):
        if event.action not in HISTORY_ACTIONS or event.problem_id in solved:
            continue
        attempts[event.problem_id] = attempts.get(event.problem_id, 0) + 1
        if event.minutes is not None:
            minutes[event.problem_id] = minutes.get(event.problem_id, 0.0) + event.minutes
        if event.action == "solved":
            solved.add(event.problem_id)
        last_touch[event.problem_id] = index
    ordered = sorted(attempts, key=lambda problem_id: last_touch[problem_id])[-HISTORY_WINDOW:]
    items = []
    for problem_id in ordered:
        status: Status = "solved" if problem_id in solved else "failed"
        items.append(
            HistoryItem(
                problem_id=problem_id,
                status=status,
                attempts=attempts[problem_id],
                time_spent_minutes=minutes.get(problem_id),
            )
        )
    return tuple(items)


def _learner_examples(learner: str, events: list[_Event]) -> list[Example]:
    first_solves: list[int] = []
    seen: set[str] = set()
    for index, event in enumerate(events):
        if event.action == "solved" and event.problem_id not in seen:
            seen.add(event.problem_id)
            first_solves.append(index)
    eligible = first_solves[MIN_PRIOR_SOLVES:]
    examples: list[Example] = []
    for rank, cut in enumerate(eligible):
        split: Split = split_of(rank / len(eligible))
        same_split = [c for r, c in enumerate(eligible) if split_of(r / len(eligible)) == split]
        # Weaker labels stop at the split's end, so no label of a later split is read.
        window_end = same_split[-1] + 1
        following = [c for c in eligible if cut < c < window_end][:SOON_AFTER]
        history = _history(events[:cut])
        touched = {item.problem_id for item in history}
        horizon = following[-1] + 1 if following else min(window_end, cut + 1 + SOON_AFTER)
        relevance = {
            event.problem_id: 1
            for event in events[cut + 1 : horizon]
            if event.action == "clicked" and event.problem_id not in touched
        }
        relevance.update({events[c].problem_id: 1 for c in following})
        relevance[events[cut].problem_id] = 3
        examples.append(
            Example(
                group=f"feedback:{learner[:16]}:{cut}",
                split=split,
                profile=LearnerProfile(history=history),
                relevance=relevance,
            )
        )
    return examples


def feedback_examples(
    events: Iterable[Mapping[str, Any]], catalogue: Catalogue
) -> tuple[list[Example], FeedbackStats]:
    """Turn stored feedback events into ranker examples; returns them and the counts."""
    events = list(events)
    stats = FeedbackStats(events=len(events), sha256=events_sha256(events))
    by_learner: dict[str, list[_Event]] = {}
    for raw in events:
        parsed = _parse(raw)
        learner = raw.get("learner")
        if parsed is None or not isinstance(learner, str) or not learner:
            stats.skipped_unreadable += 1
            continue
        if parsed.problem_id not in catalogue:
            stats.skipped_unknown_problem += 1
            continue
        by_learner.setdefault(learner, []).append(parsed)
    stats.learners = len(by_learner)
    examples: list[Example] = []
    for learner, learner_events in sorted(by_learner.items()):
        learner_events.sort(key=lambda event: (event.when, event.event_id))
        examples += _learner_examples(learner, learner_events)
    for example in examples:
        stats.examples[example.split] += 1
    return examples, stats
