"""The grounding checker on grounded and adversarial explanations.

Each adversarial text changes one thing in a grounded one, so each rule is
shown to fire on its own and to stay quiet on the grounded text.
"""

from __future__ import annotations

import dataclasses

import pytest

from ranking.explain import explain_template
from ranking.explainer_prompt import Facts, facts_from
from ranking.grounding import MAX_WORDS, Vocabulary, check_explanation
from ranking.types import DifficultyStep, Reasons, RelatedItem
from tests.problems import make_problem

VOCABULARY = Vocabulary.build(
    titles=[
        "Coin Change",
        "House Robber",
        "Two Sum",
        "Longest Increasing Subsequence",
        "Jump Game II",
        "Game",
    ],
    topics=[
        "dynamic programming",
        "array",
        "binary search",
        "graph",
        "greedy",
        "math",
        "heap (priority queue)",
    ],
    companies=["google", "amazon", "meta", "square"],
)
FACTS = Facts(
    title="Longest Increasing Subsequence",
    platform="LeetCode",
    difficulty_label="Medium",
    rating=1620,
    rating_estimated=True,
    topics=("binary search", "dynamic programming"),
    related=(("Coin Change", "solved"), ("House Robber", "failed")),
    weak_topics=("binary search",),
    new_topics=(),
    goal_topics=(),
    step_label="small step up",
    level=1450,
    companies=("Google",),
    review=False,
    already_solved=False,
)
GROUNDED = (
    "Longest Increasing Subsequence practises binary search, where you failed or were slow before, "
    "and it is similar to Coin Change, which you solved. At about 1620 it is a small step up from "
    "your level of about 1450, and Google asks it."
)


def check(text: str, facts: Facts = FACTS) -> list[str]:
    return check_explanation(text, facts, VOCABULARY)


def test_grounded_text_passes() -> None:
    assert check(GROUNDED) == []


def test_grounded_text_other_case_passes() -> None:
    text = (
        "This Medium problem practises Dynamic Programming. "
        "It is a small step up for you, and Google asks it."
    )
    assert check(text) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (GROUNDED.replace("Coin Change", "Two Sum"), "names the problem 'two sum'"),
        (GROUNDED.replace("Coin Change", "Jump Game II"), "names the problem 'jump game ii'"),
        (GROUNDED.replace("binary search", "graph"), "names the topic 'graph'"),
        (GROUNDED.replace("binary search", "Dijkstra's algorithm"), "names the topic 'dijkstra'"),
        (GROUNDED.replace("Google asks it", "Amazon asks it"), "names the company 'Amazon'"),
        (GROUNDED.replace("1620", "1900"), "states the number 1900"),
        (GROUNDED.replace("about 1450", "about 1400"), "states the number 1400"),
        (GROUNDED.replace("At about 1620", "As a Hard problem"), "calls the problem 'Hard'"),
        (GROUNDED.replace("small step up", "big step up"), "calls the difficulty 'big step'"),
        (GROUNDED.replace("small step up from", "match for"), None),
        (GROUNDED.replace("which you solved", "which you did not solve"), "says 'Coin Change' is unsolved"),
        (GROUNDED.replace("Coin Change", "House Robber"), "says 'House Robber' is solved"),
        (GROUNDED.replace("Google asks it", "Square asks it"), "names the company 'Square'"),
        (GROUNDED + " It is on Codeforces.", "names the platform 'Codeforces'"),
        (GROUNDED.replace("and Google asks it.", "and it introduces graphs."), "claims a new topic"),
        (GROUNDED + " It fits your goal.", "mentions a goal"),
        (GROUNDED + " Give it another try.", "claims a retry"),
        (GROUNDED + " You have already solved it.", "claims the problem is already solved"),
        (GROUNDED + " It comes from the Zebra Challenge Series.", "names 'Zebra'"),
        (GROUNDED[:-1] + " and", "does not end with a full sentence"),
        ("", "the text is empty"),
    ],
)
def test_adversarial_text_is_rejected(text: str, expected: str | None) -> None:
    problems = check(text)
    if expected is None:
        # A plain rewording without a claim stays grounded: the rules fire on claims, not on style.
        assert problems == []
    else:
        assert any(expected in problem for problem in problems), problems


def test_too_many_words_are_rejected() -> None:
    words = ("You solved Coin Change before and this one builds on it." + " ") * 6
    problems = check(words.strip())
    assert any(f"at most {MAX_WORDS}" in problem for problem in problems), problems


def test_repeated_phrase_is_rejected() -> None:
    text = "It is similar to Coin Change, which you solved, and it is similar to Coin Change again."
    assert any("repeats the phrase" in problem for problem in check(text))


def test_weakness_claim_needs_a_weak_topic() -> None:
    facts = dataclasses.replace(FACTS, weak_topics=(), related=(("Coin Change", "solved"),))
    text = "Longest Increasing Subsequence practises binary search, where you struggled before."
    assert any("claims a weakness" in problem for problem in check(text, facts))


def test_failed_history_item_may_be_called_failed() -> None:
    facts = dataclasses.replace(FACTS, weak_topics=())
    text = "It is similar to House Robber, which you failed, and Google asks it."
    assert check(text, facts) == []


def test_mixed_statuses_in_clause_rejected() -> None:
    text = "It is similar to Coin Change and House Robber, which you solved."
    assert any("different statuses" in problem for problem in check(text))


def test_interview_claim_needs_a_company() -> None:
    facts = dataclasses.replace(FACTS, companies=())
    text = "It is a small step up from your level and a common interview question."
    assert any("without a company fact" in problem for problem in check(text, facts))


def test_lower_case_company_word_is_not_a_company() -> None:
    text = "It is a small step up from your level, like going one square further, and Google asks it."
    assert check(text) == []


def test_one_word_title_is_ordinary_word() -> None:
    # "Game" is a catalogue title, but "game" in a sentence is a word.
    text = "It is a small step up from your level, a fair game for you, and Google asks it."
    assert check(text) == []


def test_long_template_stays_within_the_word_limit() -> None:
    # A real Codeforces learner got a 61-word template: a review, a related item
    # with a long title, two weak topics and a big step.
    problem = make_problem(
        "codeforces:1175G",
        "codeforces",
        title="Yet Another Partiton Problem",
        rating=3000.0,
        tags=("data structures", "divide and conquer"),
    )
    reasons = Reasons(
        related=(RelatedItem("codeforces:1984H", "Smooth Sailing (Hard Version)", "failed", 0.6),),
        topic_gap=("data structures", "divide and conquer"),
        difficulty=DifficultyStep(3000.0, 2100.0, 900.0, "big step up"),
        review=True,
    )
    text = explain_template(problem, reasons)
    facts = facts_from(problem, reasons)
    vocabulary = Vocabulary.build([problem.title, "Smooth Sailing (Hard Version)"], problem.tags, [])
    assert len(text.split()) <= MAX_WORDS
    assert check_explanation(text, facts, vocabulary) == []
    assert text.startswith("You have not solved Yet Another Partiton Problem yet")
