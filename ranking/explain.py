"""Deterministic explanations written only from a recommendation's reasons.

Every sentence restates one structured fact, so nothing in the text can be
untrue of the learner's own request.
"""

from __future__ import annotations

from ranking.catalogue import Problem
from ranking.reasons import GOAL_MIN_SIMILARITY
from ranking.types import DifficultyStep, Reasons

MAX_TOPICS = 2


def _join(words: list[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def _difficulty_sentence(problem: Problem, step: DifficultyStep) -> str:
    # A rating fitted from the difficulty label is an estimate, so the sentence calls it "about" that rating.
    if step.rating_estimated:
        article = "an" if problem.difficulty_label[:1] in ("E", "A", "I", "O", "U") else "a"
        rating = f"As {article} {problem.difficulty_label} problem (about {step.candidate_rating:.0f})"
    else:
        rating = f"Rated {step.candidate_rating:.0f}"
    if step.learner_level is None:
        return f"{rating}."
    level = f"your recent level of about {step.learner_level:.0f}"
    if step.label == "same level":
        return f"{rating}, it matches {level}."
    if step.label == "easier":
        return f"{rating}, it is below {level}, a quick win."
    return f"{rating}, it is a {step.label} from {level}."


def explain_template(problem: Problem, reasons: Reasons, goal: str | None = None) -> str:
    """Write two to four short sentences from ``reasons``; never more facts than they hold."""
    sentences: list[str] = []
    if reasons.review:
        sentences.append(f"You have not solved {problem.title} yet, so it is worth another try.")
    if reasons.related:
        first = reasons.related[0]
        verb = "solved" if first.status == "solved" else "struggled with"
        sentences.append(f"It builds on {first.title}, which you {verb}.")
    if reasons.topic_gap:
        topics = _join(list(reasons.topic_gap[:MAX_TOPICS]))
        sentences.append(f"It practises {topics}, where your history shows failures or slow solves.")
    elif reasons.new_topics:
        topics = _join(list(reasons.new_topics[:MAX_TOPICS]))
        sentences.append(f"It introduces {topics}, which you have not practised yet.")
    step = reasons.difficulty
    if step is not None:
        sentences.append(_difficulty_sentence(problem, step))
    if reasons.companies:
        names = _join([name.title() for name in reasons.companies])
        sentences.append(f"{names} asked it in interviews.")
    if goal and reasons.goal_similarity is not None and reasons.goal_similarity >= GOAL_MIN_SIMILARITY:
        sentences.append("It fits your stated goal.")
    if not sentences:
        sentences.append(f"{problem.title} is a popular problem to start with.")
    return " ".join(sentences)
