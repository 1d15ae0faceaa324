"""The structured facts an explanation may use, and the prompt built from them.

The prompt holds only facts drawn from a recommendation's reasons: the
problem's title, platform, difficulty and topics, the related history items
with their status, the weak, new and goal topics, the difficulty step and the
target companies that ask it. The learner's free-text goal never enters the
prompt; only the catalogue topics it matched do, so a request cannot steer
the model with its own instructions.

The prompt is ChatML: a system instruction, two worked examples and the
facts. Everything before the facts is the same for every request, so its
KV cache is computed once per container (``STATIC_PREFIX``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ranking.catalogue import Problem
from ranking.types import Reasons, Status

# Bump when the prompt text changes: the export's agreement check and the
# evaluation record it.
PROMPT_VERSION = "3"
MAX_TOPICS = 2
MAX_RELATED_IN_PROMPT = 1
PLATFORM_NAMES = {"leetcode": "LeetCode", "codeforces": "Codeforces"}
STATUS_CLAUSES: dict[Status, str] = {
    "solved": "which you solved",
    "failed": "which you did not manage to solve",
    "attempted": "which you have started but not finished",
}
STEP_PHRASES = {
    "easier": "easier than your level of about {level}, a quick win",
    "same level": "matching your level of about {level}",
    "small step up": "a small step up from your level of about {level}",
    "big step up": "a big step up from your level of about {level}",
}


@dataclass(frozen=True)
class Facts:
    """Everything an explanation of one recommendation may state."""

    title: str
    platform: str
    difficulty_label: str
    rating: int | None
    rating_estimated: bool
    topics: tuple[str, ...]
    related: tuple[tuple[str, Status], ...]
    weak_topics: tuple[str, ...]
    new_topics: tuple[str, ...]
    goal_topics: tuple[str, ...]
    step_label: str | None
    level: int | None
    companies: tuple[str, ...]
    review: bool
    already_solved: bool

    @property
    def numbers(self) -> frozenset[str]:
        """Every number the facts hold, as written in them."""
        values = {str(value) for value in (self.rating, self.level) if value is not None}
        for text in (self.title, *self.topics, *self.companies, *(title for title, _ in self.related)):
            values.update(_digits(text))
        return frozenset(values)


def _digits(text: str) -> set[str]:
    found: set[str] = set()
    current = ""
    for char in text + " ":
        if char.isdigit():
            current += char
        elif current:
            found.add(current)
            current = ""
    return found


def facts_from(problem: Problem, reasons: Reasons, company_names: Mapping[str, str] | None = None) -> Facts:
    """Collect the facts of one recommendation from its problem and reasons."""
    step = reasons.difficulty
    level = None
    if step is not None and step.learner_level is not None:
        level = round(step.learner_level)
    return Facts(
        title=problem.title,
        platform=PLATFORM_NAMES.get(problem.platform, problem.platform),
        difficulty_label=problem.difficulty_label,
        rating=None if step is None else round(step.candidate_rating),
        rating_estimated=bool(step and step.rating_estimated),
        topics=tuple(problem.tags[:MAX_TOPICS]),
        related=tuple((item.title, item.status) for item in reasons.related),
        weak_topics=reasons.topic_gap[:MAX_TOPICS],
        new_topics=reasons.new_topics[:MAX_TOPICS],
        goal_topics=reasons.goal_topics[:MAX_TOPICS],
        step_label=None if step is None or step.learner_level is None else step.label,
        level=level,
        companies=tuple((company_names or {}).get(key, key) for key in reasons.companies),
        review=reasons.review,
        already_solved=reasons.already_solved,
    )


def _join(words: tuple[str, ...] | list[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def render_facts(facts: Facts) -> str:
    """Write the facts as short numbered sentences, the only content of the user turn.

    The problem's own topics, its platform and a second related item stay out
    of the prompt: every extra line gave the model something to misplace. The
    checker still accepts them, because they are true.
    """
    lines = [f"Problem: {facts.title}."]
    if facts.already_solved:
        lines.append("You have already solved it.")
    elif facts.review:
        lines.append("You tried it before and have not solved it yet.")
    for title, status in facts.related[:MAX_RELATED_IN_PROMPT]:
        lines.append(f"It is similar to {title}, {STATUS_CLAUSES[status]}.")
    if facts.goal_topics:
        lines.append(f"It practises {_join(facts.goal_topics)}, which your goal names.")
    if facts.weak_topics:
        lines.append(f"It practises {_join(facts.weak_topics)}, where you failed or were slow before.")
    if facts.new_topics:
        lines.append(f"It introduces {_join(facts.new_topics)}, which you have not practised yet.")
    rating = None
    if facts.rating is not None:
        rating = f"It is rated {'about ' if facts.rating_estimated else ''}{facts.rating}"
    if facts.step_label in STEP_PHRASES and facts.level is not None:
        step = STEP_PHRASES[facts.step_label].format(level=facts.level)
        lines.append(f"{rating}, {step}." if rating else f"It is {step}.")
    elif rating:
        lines.append(f"{rating}.")
    if facts.companies:
        lines.append(f"It was asked in interviews at {_join(facts.companies)}.")
    return "\n".join(f"{number}. {line}" for number, line in enumerate(lines, start=1))


SYSTEM = (
    "You tell a learner in plain words why a practice problem was picked for them. "
    "Combine the numbered facts into one or two sentences, keeping their wording, and "
    "add nothing that the facts do not say. Say each fact once."
)


def _example(title: str, answer: str, **fields: Any) -> tuple[Facts, str]:
    blank: dict[str, Any] = {
        "platform": "LeetCode",
        "difficulty_label": "",
        "rating": None,
        "rating_estimated": False,
        "topics": (),
        "related": (),
        "weak_topics": (),
        "new_topics": (),
        "goal_topics": (),
        "step_label": None,
        "level": None,
        "companies": (),
        "review": False,
        "already_solved": False,
    }
    return Facts(title=title, **{**blank, **fields}), answer


_EXAMPLES = (
    _example(
        "Coin Change",
        "Coin Change practises dynamic programming, where you failed or were slow before, and it is "
        "similar to House Robber, which you did not manage to solve. It is a small step up from your "
        "level of about 1300, and Amazon asks it.",
        rating=1500,
        rating_estimated=True,
        related=(("House Robber", "failed"),),
        weak_topics=("dynamic programming",),
        step_label="small step up",
        level=1300,
        companies=("Amazon",),
    ),
    _example(
        "Boy or Girl",
        "Boy or Girl introduces strings, which you have not practised yet, and it is similar to Word "
        "Capitalization, which you solved. Rated 800, it is easier than your level of about 1100, "
        "a quick win.",
        platform="Codeforces",
        rating=800,
        related=(("Word Capitalization", "solved"),),
        new_topics=("strings",),
        step_label="easier",
        level=1100,
    ),
    _example(
        "Trapping Rain Water",
        "You tried Trapping Rain Water before and have not solved it yet, and it practises two pointers, "
        "which your goal names. It is a big step up from your level of about 1600.",
        rating=2100,
        rating_estimated=True,
        review=True,
        goal_topics=("two pointers",),
        step_label="big step up",
        level=1600,
    ),
)


def _turn(role: str, text: str) -> str:
    return f"<|im_start|>{role}\n{text}<|im_end|>\n"


def _user(facts: Facts) -> str:
    return "Facts:\n" + render_facts(facts)


STATIC_PREFIX = (
    _turn("system", SYSTEM)
    + "".join(_turn("user", _user(facts)) + _turn("assistant", answer) for facts, answer in _EXAMPLES)
    + "<|im_start|>user\n"
)


def build_prompt(facts: Facts) -> str:
    """Build the whole prompt for ``facts``, which always starts with ``STATIC_PREFIX``."""
    return STATIC_PREFIX + _user(facts) + "<|im_end|>\n<|im_start|>assistant\n"
