"""Deterministic explanations written only from a recommendation's reasons.

Each sentence restates one structured fact (a related history item, a topic,
the difficulty step, a company, a topic the goal names), so the text claims
nothing that the reasons do not hold.
"""

from __future__ import annotations

from collections.abc import Mapping

from ranking.catalogue import Problem
from ranking.types import DifficultyStep, Reasons

MAX_TOPICS = 2
# The grounding check's limit, which the template keeps too.
MAX_WORDS = 60
RELATED_CLAUSES = {
    "solved": "which you solved",
    "failed": "which you did not manage to solve",
    "attempted": "which you have started",
}


def _join(words: list[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def _difficulty_sentence(problem: Problem, step: DifficultyStep) -> str:
    rating = f"{step.candidate_rating:.0f}"
    article = "an" if problem.difficulty_label[:1] in ("E", "A", "I", "O", "U") else "a"
    if step.rating_estimated:
        # A rating fitted from the difficulty label is an estimate, so the sentence puts "about" before it.
        lead = f"As {article} {problem.difficulty_label} problem rated about {rating}"
    else:
        lead = f"Rated {rating}"
    if step.learner_level is None:
        if step.rating_estimated:
            return f"It is {article} {problem.difficulty_label} problem, rated about {rating}."
        return f"It is rated {rating}."
    level = f"your recent level of about {step.learner_level:.0f}"
    if step.label == "same level":
        return f"{lead}, it matches {level}."
    if step.label == "easier":
        return f"{lead}, it is below {level}, a quick win."
    return f"{lead}, it is a {step.label} from {level}."


def _history_sentences(problem: Problem, reasons: Reasons) -> list[str]:
    sentences: list[str] = []
    if reasons.already_solved:
        sentences.append(f"You have already solved {problem.title}.")
    elif reasons.review:
        sentences.append(f"You have not solved {problem.title} yet, so it is worth another try.")
    if reasons.related:
        first = reasons.related[0]
        sentences.append(f"It is similar to {first.title}, {RELATED_CLAUSES[first.status]}.")
    return sentences


def _topic_sentence(problem: Problem, reasons: Reasons) -> str | None:
    if reasons.goal_topics:
        return f"It practises {_join(list(reasons.goal_topics[:MAX_TOPICS]))}, which your goal names."
    if reasons.topic_gap:
        topics = _join(list(reasons.topic_gap[:MAX_TOPICS]))
        return f"It practises {topics}, where your history shows failures or slow solves."
    if reasons.new_topics:
        topics = _join(list(reasons.new_topics[:MAX_TOPICS]))
        return f"It introduces {topics}, which you have not practised yet."
    if problem.tags:
        return f"It covers {_join(list(problem.tags[:MAX_TOPICS]))}."
    return None


def explain_template(
    problem: Problem,
    reasons: Reasons,
    company_names: Mapping[str, str] | None = None,
) -> str:
    """Write two to four short sentences from ``reasons``; never more facts than they hold.

    ``company_names`` maps the catalogue's company keys to the learner's own
    spelling, used in the text when given.
    """
    sentences = _history_sentences(problem, reasons)
    topic = _topic_sentence(problem, reasons)
    if topic:
        sentences.append(topic)
    if reasons.difficulty is not None:
        sentences.append(_difficulty_sentence(problem, reasons.difficulty))
    if reasons.companies:
        # The learner's own spelling of each company, as sent in the request.
        names = [(company_names or {}).get(key, key) for key in reasons.companies]
        sentences.append(f"It was asked in interviews at {_join(names)}.")
    if not sentences:
        sentences.append(f"The catalogue has no rating or topic tags for {problem.title}.")
    return " ".join(_within_limit(sentences))


def _within_limit(sentences: list[str]) -> list[str]:
    """Drop sentences, the related item's first and then from the end, until at most MAX_WORDS words."""
    kept = list(sentences)
    while len(kept) > 1 and sum(len(sentence.split()) for sentence in kept) > MAX_WORDS:
        related = [sentence for sentence in kept if sentence.startswith("It is similar to ")]
        kept.remove(related[0] if related else kept[-1])
    return kept
