"""The text each problem is embedded from."""

from __future__ import annotations

from ranking.catalogue import Problem

# About 256 word pieces; the encoder truncates there anyway, so longer text
# only costs tokenizer time.
MAX_DESCRIPTION_CHARS = 1200


def problem_text(problem: Problem) -> str:
    """Build the encoder input for a problem: title, topics, then the statement's start."""
    parts = [problem.title.strip()]
    if problem.tags:
        parts.append("Topics: " + ", ".join(problem.tags) + ".")
    description = " ".join(problem.description.split())
    if description:
        parts.append(description[:MAX_DESCRIPTION_CHARS])
    return " ".join(parts)
