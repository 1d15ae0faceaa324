"""Topics a learner's free-text goal names, matched against the catalogue's tags.

The goal is split into words (lowercase, plural "s" dropped) and scanned for
tag phrases, longest first, so "binary search tree" names that tag and not
"binary search" or "tree" as well. Tag aliases from ingest apply too, so a goal
containing "dp" names "dynamic programming". Words after a negation ("not",
"no", "except", "without", "avoid", "anything but") up to the next
punctuation mark are skipped, so "anything but math" does not name math.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

_TOKEN = re.compile(r"[a-z0-9]+|[,.;:!?]")
_BREAKS = frozenset(",.;:!?")
_NEGATIONS = frozenset({"not", "no", "except", "without", "avoid", "excluding", "skip"})
# "but" negates only in "anything but", "everything but" and "all but".
_BUT_OPENERS = frozenset({"anything", "everything", "all"})


def _word(token: str) -> str:
    return token[:-1] if len(token) > 3 and token.endswith("s") else token


def words_of(text: str) -> tuple[str, ...]:
    """Split text into lowercase words without a plural "s" ("Graphs" -> "graph")."""
    return tuple(_word(token) for token in _TOKEN.findall(text.lower()) if token not in _BREAKS)


def _goal_tokens(goal: str) -> list[tuple[str, bool]]:
    """Return the goal's words, each flagged True when a negation covers it."""
    tokens: list[tuple[str, bool]] = []
    negated = False
    previous = ""
    for token in _TOKEN.findall(goal.lower()):
        if token in _BREAKS:
            negated = False
            tokens.append(("", True))  # keeps phrases from matching across a break
            previous = ""
            continue
        if token in _NEGATIONS or (token == "but" and previous in _BUT_OPENERS):
            negated = True
        tokens.append((_word(token), negated))
        previous = token
    return tokens


class GoalMatcher:
    """Finds the catalogue tags a goal names; built once per catalogue."""

    def __init__(self, tags: Iterable[str], aliases: Mapping[str, str] | None = None) -> None:
        known = set(tags)
        phrases: dict[tuple[str, ...], str] = {}
        for tag in known:
            if words := words_of(tag):
                phrases[words] = tag
        for variant, canonical in (aliases or {}).items():
            if canonical in known and (words := words_of(variant)):
                phrases.setdefault(words, canonical)
        # Longest phrases first, so a longer tag claims its words before a shorter one.
        self._phrases = sorted(phrases.items(), key=lambda item: (-len(item[0]), item[0]))

    def topics(self, goal: str | None) -> frozenset[str]:
        """Return the tags ``goal`` names outside any negation."""
        if not goal:
            return frozenset()
        tokens = _goal_tokens(goal)
        free = [bool(word) and not negated for word, negated in tokens]
        words = [word for word, _ in tokens]
        found: set[str] = set()
        for phrase, tag in self._phrases:
            size = len(phrase)
            for start in range(len(words) - size + 1):
                if all(free[start : start + size]) and tuple(words[start : start + size]) == phrase:
                    found.add(tag)
                    for offset in range(size):
                        free[start + offset] = False
        return frozenset(found)
