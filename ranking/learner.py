"""The learner's state, derived from a request's history and targets.

Everything the candidate, feature and reason steps need is computed once
here: which problems are solved or failed, the recent level on the shared
difficulty scale, weak topics and the query vectors.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import numpy as np

from ranking.catalogue import Catalogue

if TYPE_CHECKING:
    from ranking.ability import Ability
from ranking.difficulty import DifficultyScale
from ranking.types import LearnerProfile, Status

RECENT_SOLVES = 5
LEVEL_WINDOW = 10
# A solve counts as a struggle when it took this many attempts or minutes.
STRUGGLE_ATTEMPTS = 3
STRUGGLE_MINUTES = 45.0

EncodeFn = Callable[[Sequence[str]], np.ndarray]


@dataclass(frozen=True)
class ResolvedItem:
    """A history item that names a catalogue problem."""

    position: int
    status: Status
    attempts: int | None
    time_spent_minutes: float | None

    @property
    def struggled(self) -> bool:
        """True for a failure, or for a solve or attempt that took many attempts or much time."""
        if self.status == "failed":
            return True
        many_attempts = self.attempts is not None and self.attempts >= STRUGGLE_ATTEMPTS
        slow = self.time_spent_minutes is not None and self.time_spent_minutes >= STRUGGLE_MINUTES
        return many_attempts or slow


@dataclass
class LearnerState:
    """Per-request view of the learner; positions are catalogue rows."""

    items: list[ResolvedItem]
    solved: set[int]
    unsolved: dict[int, ResolvedItem]
    recent_solved: list[int]
    level: float | None
    topic_solved: Counter[str]
    topic_trouble: Counter[str]
    topic_attempted: frozenset[str]
    weak_topics: tuple[str, ...]
    target_companies: frozenset[str]
    goal_text: str | None
    goal_vector: np.ndarray | None
    warnings: list[str] = field(default_factory=list)
    prior_level: float | None = None
    goal_tags: frozenset[str] | None = None
    company_names: dict[str, str] = field(default_factory=dict)
    ability: Ability | None = None

    @property
    def feature_level(self) -> float | None:
        """The level features compare against: the measured one, else the cold-start prior."""
        return self.level if self.level is not None else self.prior_level

    @property
    def is_cold_start(self) -> bool:
        """True when no known history item is left."""
        return not self.items

    @property
    def seen_topics(self) -> set[str]:
        """Topics of any history problem."""
        return set(self.topic_solved) | set(self.topic_trouble) | self.topic_attempted


def normalise_company(name: str, aliases: Mapping[str, str] | None = None) -> str:
    """Spell a company name as the catalogue does: lowercase, hyphens and underscores as
    spaces, single spaces, then the catalogue's alias table (``facebook`` -> ``meta``)."""
    normalised = " ".join(name.replace("-", " ").replace("_", " ").lower().split())
    return (aliases or {}).get(normalised, normalised)


def _chronological_indices(profile: LearnerProfile) -> list[int]:
    """Return request indices of the history in time order.

    Timestamps order the history only when every item has one; otherwise the
    request's list order is taken as chronological.
    """
    indices = list(range(len(profile.history)))
    stamps = [_as_utc(item.timestamp) for item in profile.history]
    if stamps and all(stamp is not None for stamp in stamps):
        indices.sort(key=lambda i: (stamps[i], i))
    return indices


def _as_utc(stamp: datetime | None) -> datetime | None:
    """Make a timestamp comparable with any other: naive times are taken as UTC."""
    if stamp is None:
        return None
    if stamp.tzinfo is None:
        return stamp.replace(tzinfo=UTC)
    try:
        return stamp.astimezone(UTC)
    except OverflowError:
        # Within a day of datetime.min or datetime.max the shift overflows; the
        # wall-clock time is close enough to order such an item.
        return stamp.replace(tzinfo=UTC)


def _add(left: float | None, right: float | None) -> float | None:
    if left is None:
        return right
    if right is None:
        return left
    return left + right


def resolve_history(profile: LearnerProfile, catalogue: Catalogue) -> tuple[list[ResolvedItem], list[str]]:
    """Map history ids to catalogue rows, merging repeats; unknown ids become warnings.

    A problem listed several times keeps its last status, except that a solve
    is never undone by a later failure; attempts and minutes are summed.
    """
    warnings: list[str] = []
    merged: dict[int, ResolvedItem] = {}
    order: list[int] = []
    for request_index in _chronological_indices(profile):
        item = profile.history[request_index]
        problem_id = catalogue.resolve(item.problem_id)
        if problem_id is None:
            warnings.append(
                f"history[{request_index}].problem_id {item.problem_id!r} is not in the "
                "catalogue and was ignored"
            )
            continue
        position = catalogue.position(problem_id)
        previous = merged.get(position)
        if previous is None:
            merged[position] = ResolvedItem(position, item.status, item.attempts, item.time_spent_minutes)
        else:
            status: Status = "solved" if "solved" in (previous.status, item.status) else item.status
            attempts = _add(previous.attempts, item.attempts)
            merged[position] = ResolvedItem(
                position,
                status,
                None if attempts is None else int(attempts),
                _add(previous.time_spent_minutes, item.time_spent_minutes),
            )
            order.remove(position)
            warnings.append(
                f"history[{request_index}].problem_id {item.problem_id!r} repeats an earlier item; "
                "the two were merged (a solve wins, attempts and minutes are added)"
            )
        order.append(position)
    return [merged[position] for position in order], warnings


def build_state(
    profile: LearnerProfile,
    catalogue: Catalogue,
    scale: DifficultyScale,
    encode: EncodeFn | None,
    company_aliases: Mapping[str, str] | None = None,
) -> LearnerState:
    """Derive the learner state; ``encode`` embeds the goal text (None skips it)."""
    items, warnings = resolve_history(profile, catalogue)
    solved = {item.position for item in items if item.status == "solved"}
    unsolved = {item.position: item for item in items if item.status != "solved"}
    solved_order = [item.position for item in items if item.status == "solved"]

    ratings = [scale.rating(catalogue.problems[p]) for p in solved_order[-LEVEL_WINDOW:]]
    known = [rating for rating in ratings if rating is not None]
    level = float(np.mean(known)) if known else None

    topic_solved: Counter[str] = Counter()
    topic_trouble: Counter[str] = Counter()
    topic_seen: Counter[str] = Counter()
    for item in items:
        tags = catalogue.problems[item.position].tags
        if item.struggled:
            topic_trouble.update(tags)
        elif item.status == "solved":
            topic_solved.update(tags)
        else:
            # A short attempt in progress shows the topic was seen, not that it is weak.
            topic_seen.update(tags)
    weak = tuple(
        sorted(
            (tag for tag, trouble in topic_trouble.items() if trouble >= topic_solved[tag]),
            key=lambda tag: (-topic_trouble[tag], tag),
        )
    )

    goal_parts = [part.strip() for part in (profile.goal, profile.target_role) if part and part.strip()]
    goal_text = ". ".join(goal_parts) if goal_parts else None
    goal_vector = None
    if goal_text and encode is not None:
        goal_vector = encode([goal_text])[0]

    # The learner's own spelling is kept for explanations ("Google", not "google").
    company_names: dict[str, str] = {}
    for company in profile.target_companies:
        if company.strip():
            company_names.setdefault(normalise_company(company, company_aliases), " ".join(company.split()))
    companies = list(company_names)

    return LearnerState(
        items=items,
        solved=solved,
        unsolved=unsolved,
        recent_solved=solved_order[-RECENT_SOLVES:],
        level=level,
        topic_solved=topic_solved,
        topic_trouble=topic_trouble,
        topic_attempted=frozenset(topic_seen),
        weak_topics=weak,
        target_companies=frozenset(companies),
        company_names=company_names,
        goal_text=goal_text,
        goal_vector=goal_vector,
        warnings=warnings,
    )
