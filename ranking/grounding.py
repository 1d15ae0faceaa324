"""The checker that lets a generated explanation through only when the facts back every claim.

``check_explanation(text, facts, vocabulary)`` returns the list of problems it
found; an empty list means the text may be shown. It rejects text that:

- is empty, has no full stop at the end (a cut-off generation) or is longer
  than ``MAX_WORDS`` words;
- repeats a phrase of ``REPEAT_WORDS`` words;
- names a catalogue problem, a topic or technique, a company, a platform or a
  difficulty label that the facts do not hold, or any number they do not hold;
- names a capitalised phrase that is in no fact (an invented title);
- claims a weak topic, a new topic, a goal, a review or a difficulty step
  that the facts do not support, or gives a history item the wrong status.

The checker is strict on purpose: a rejected text costs only a template
explanation, a wrong one misleads a learner.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from ranking.explainer_prompt import Facts

MAX_WORDS = 60
REPEAT_WORDS = 5
DIFFICULTY_LABELS = ("Easy", "Medium", "Hard")
PLATFORMS = ("LeetCode", "Codeforces", "HackerRank", "AtCoder")
# Technique names a model may use for a topic, grouped with the catalogue tags
# they stand for. A mention is allowed when any name of its group is in a fact.
TECHNIQUE_GROUPS: tuple[tuple[str, ...], ...] = (
    ("dynamic programming", "dp", "memoization", "memoisation", "tabulation"),
    (
        "graph",
        "graphs",
        "bfs",
        "dfs",
        "breadth-first search",
        "depth-first search",
        "shortest path",
        "shortest paths",
        "dijkstra",
        "topological sort",
        "graph traversal",
    ),
    ("binary search", "bisection"),
    ("two pointers", "two pointer", "sliding window"),
    ("heap", "heaps", "priority queue", "heap (priority queue)"),
    ("hash table", "hash map", "hashmap", "hashing", "hash"),
    ("union find", "union-find", "disjoint set", "disjoint set union", "dsu"),
    ("tree", "trees", "binary tree", "binary search tree", "bst"),
    ("trie", "prefix tree"),
    ("segment tree", "fenwick tree", "binary indexed tree", "data structures"),
    ("recursion", "backtracking"),
    ("greedy",),
    ("sorting", "sort", "sorted"),
    ("stack", "monotonic stack"),
    ("queue", "monotonic queue", "deque"),
    ("linked list", "linked lists"),
    ("bit manipulation", "bitmasks", "bitmask", "bitwise"),
    ("prefix sum", "prefix sums"),
    ("matrix", "grid"),
    ("string", "strings"),
    ("array", "arrays"),
    ("math", "mathematics", "number theory", "combinatorics", "geometry", "probabilities"),
    ("brute force", "brute-force"),
    ("divide and conquer",),
    ("simulation", "implementation", "constructive algorithms"),
)
# Words that claim something about the learner, each allowed only when a fact
# supports it.
WEAK_CLAIMS = ("weak", "struggle", "struggled", "failed", "failures", "were slow", "slow solves", "trouble")
NEW_CLAIMS = (
    "introduces",
    "new topic",
    "new to you",
    "not practised",
    "not practiced",
    "never practised",
    "have not tried",
    "first time",
)
GOAL_CLAIMS = ("your goal", "goal names", "you want", "you asked")
REVIEW_CLAIMS = ("tried it before", "another try", "try again", "retry", "not solved it yet", "revisit")
SOLVED_CLAIMS = ("already solved",)
COMPANY_CLAIMS = ("interview", "interviews", "asks it", "ask it", "asked at", "asked by", "companies")
STEP_CLAIMS = {
    "easier": ("easier", "quick win", "below your level"),
    "same level": ("matches your level", "matching your level", "same level", "at your level"),
    "small step up": ("small step",),
    "big step up": ("big step", "large step", "stretch", "harder", "challenge"),
}
NOT_SOLVED_CLAUSES = (
    "did not manage",
    "did not solve",
    "didn't solve",
    "not solved",
    "not finished",
    "failed",
    "unsolved",
    "gave up",
    "started but",
)
SOLVED_CLAUSES = ("which you solved", "you solved", "you have solved", "you already solved")
# Capitalised words that begin a phrase but name nothing.
FUNCTION_WORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "as",
        "at",
        "but",
        "by",
        "for",
        "from",
        "in",
        "into",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "so",
        "the",
        "this",
        "that",
        "these",
        "those",
        "to",
        "with",
        "you",
        "your",
        "it's",
        "since",
        "because",
        "while",
        "when",
        "after",
        "before",
        "also",
        "both",
        "i",
    ]
)


# Words that make a catalogue title an ordinary phrase when every word is one of them.
GENERIC_WORDS = frozenset(
    ["problem", "problems", "task", "easy", "medium", "hard", "version", "easy version", "hard version"]
)


@dataclass(frozen=True)
class Vocabulary:
    """Names the checker recognises: every catalogue title, topic and company."""

    titles: frozenset[str]
    topics: frozenset[str]
    companies: frozenset[str]

    @classmethod
    def build(cls, titles: Iterable[str], topics: Iterable[str], companies: Iterable[str]) -> Vocabulary:
        """Lower-case every name; companies are matched only where the text capitalises them."""
        topic_set = frozenset(topic.lower() for topic in topics)
        common = FUNCTION_WORDS | GENERIC_WORDS | {word for topic in topic_set for word in topic.split()}
        return cls(
            titles=frozenset(title.lower() for title in titles if _is_distinct_title(title, common)),
            topics=topic_set,
            companies=frozenset(company.lower() for company in companies if len(company) >= 2),
        )


def _is_distinct_title(title: str, common: frozenset[str]) -> bool:
    # One-word titles ("Array", "Game") and titles made only of common words
    # ("Hard Problem", "And Graph") are ordinary phrases in running text. An
    # invented title is still caught by the capitalised-phrase rule.
    words = title.lower().split()
    return len(words) >= 2 and not all(word in common for word in words)


def _normalise(text: str) -> str:
    lowered = re.sub(r"'s\b", "", text.lower())
    return " " + " ".join(re.sub(r"[^a-z0-9()+\-' ]+", " ", lowered).split()) + " "


def _contains(haystack: str, phrase: str) -> bool:
    """Whole-word, case-insensitive containment on normalised text."""
    return (" " + _normalise(phrase).strip() + " ") in haystack


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower())


def _sentences(text: str) -> list[str]:
    return [part for part in re.split(r"(?<=[.!?])\s+", text.strip()) if part]


def _fact_strings(facts: Facts) -> list[str]:
    strings = [facts.title, facts.platform, *facts.topics, *facts.weak_topics, *facts.new_topics]
    strings += [*facts.goal_topics, *facts.companies, *(title for title, _ in facts.related)]
    if facts.difficulty_label:
        strings.append(facts.difficulty_label)
    return [value for value in strings if value]


def _topic_allowed(mention: str, allowed_topics: str) -> bool:
    for group in TECHNIQUE_GROUPS:
        if mention in group:
            return any(_contains(allowed_topics, name) for name in group)
    return _contains(allowed_topics, mention)


def _strip_titles(text: str, titles: Iterable[str]) -> str:
    """Blank out the fact titles, so words inside them are not checked as claims."""
    for title in sorted(titles, key=len, reverse=True):
        text = re.sub(re.escape(title), " ", text, flags=re.IGNORECASE)
    return text


def check_explanation(text: str, facts: Facts, vocabulary: Vocabulary) -> list[str]:
    """Return every reason ``text`` may not be shown for ``facts``; empty when it is grounded."""
    problems: list[str] = []
    stripped = text.strip()
    if not stripped:
        return ["the text is empty"]
    if stripped[-1] not in ".!?":
        problems.append("the text does not end with a full sentence")
    words = _words(stripped)
    if len(words) > MAX_WORDS:
        problems.append(f"the text has {len(words)} words; at most {MAX_WORDS} are allowed")
    problems += _repeated_phrases(words)

    titles = [facts.title, *(title for title, _ in facts.related)]
    fact_text = _normalise(" ".join(_fact_strings(facts)))
    lowered = _normalise(stripped)
    for title in sorted(vocabulary.titles):
        if _contains(lowered, title) and not _contains(_normalise(" ".join(titles)), title):
            problems.append(f"names the problem {title!r}, which is not among the facts")

    rest = _strip_titles(stripped, titles)
    rest_lowered = _normalise(rest)
    topic_facts = _normalise(
        " ".join([*facts.topics, *facts.weak_topics, *facts.new_topics, *facts.goal_topics])
    )
    mentions = set(vocabulary.topics) | {name for group in TECHNIQUE_GROUPS for name in group}
    for mention in sorted(mentions):
        if _contains(rest_lowered, mention) and not _topic_allowed(mention, topic_facts):
            problems.append(f"names the topic {mention!r}, which is not among the facts")
    allowed_companies = {company.lower() for company in facts.companies}
    for company in sorted(vocabulary.companies):
        pattern = rf"(?<![\w-]){re.escape(company)}(?![\w-])"
        for match in re.finditer(pattern, rest, flags=re.IGNORECASE):
            # Company names are proper nouns; "square" or "box" in lower case is a word.
            if match.group(0)[0].isupper() and company.lower() not in allowed_companies:
                problems.append(f"names the company {match.group(0)!r}, which is not among the facts")
                break
    for name in PLATFORMS:
        if re.search(rf"\b{name}\b", rest, flags=re.IGNORECASE) and name != facts.platform:
            problems.append(f"names the platform {name!r}; the problem is on {facts.platform}")
    for label in DIFFICULTY_LABELS:
        if re.search(rf"\b{label}\b", rest) and label != facts.difficulty_label:
            problems.append(f"calls the problem {label!r}; its label is {facts.difficulty_label or 'none'!r}")
    for number in re.findall(r"\d+", rest):
        if number not in facts.numbers:
            problems.append(f"states the number {number}, which is not among the facts")
    problems += _unknown_capitalised(rest, fact_text)
    problems += _unsupported_claims(rest_lowered, facts)
    problems += _wrong_status(stripped, facts)
    return problems


def _repeated_phrases(words: list[str]) -> list[str]:
    seen: set[tuple[str, ...]] = set()
    for start in range(len(words) - REPEAT_WORDS + 1):
        phrase = tuple(words[start : start + REPEAT_WORDS])
        if phrase in seen:
            return [f"repeats the phrase {' '.join(phrase)!r}"]
        seen.add(phrase)
    return []


def _unknown_capitalised(text: str, fact_text: str) -> list[str]:
    """Flag capitalised words, after the first word of a sentence, that appear in no fact."""
    problems: list[str] = []
    for sentence in _sentences(text):
        tokens = re.findall(r"[A-Za-z][\w'\-]*", sentence)
        for token in tokens[1:]:
            if not token[0].isupper() or token.lower() in FUNCTION_WORDS:
                continue
            if not _contains(fact_text, token):
                problems.append(f"names {token!r}, which is in no fact")
    return problems


def _unsupported_claims(lowered: str, facts: Facts) -> list[str]:
    problems: list[str] = []
    related_failed = any(status != "solved" for _, status in facts.related)

    def claimed(phrases: Iterable[str]) -> list[str]:
        return [phrase for phrase in phrases if _contains(lowered, phrase)]

    weak = [p for p in claimed(WEAK_CLAIMS) if not (facts.weak_topics or (p == "failed" and related_failed))]
    if weak:
        problems.append(f"claims a weakness ({weak[0]!r}) that the facts do not give")
    if claimed(NEW_CLAIMS) and not facts.new_topics:
        problems.append(f"claims a new topic ({claimed(NEW_CLAIMS)[0]!r}) that the facts do not give")
    if claimed(GOAL_CLAIMS) and not facts.goal_topics:
        problems.append(f"mentions a goal ({claimed(GOAL_CLAIMS)[0]!r}) that the facts do not give")
    if claimed(REVIEW_CLAIMS) and not facts.review:
        problems.append(f"claims a retry ({claimed(REVIEW_CLAIMS)[0]!r}) that the facts do not give")
    if claimed(COMPANY_CLAIMS) and not facts.companies:
        problems.append(
            f"mentions interviews or companies ({claimed(COMPANY_CLAIMS)[0]!r}) without a company fact"
        )
    if claimed(SOLVED_CLAIMS) and not facts.already_solved:
        problems.append("claims the problem is already solved, which the facts do not give")
    for label, phrases in STEP_CLAIMS.items():
        found = claimed(phrases)
        if found and facts.step_label != label:
            problems.append(
                f"calls the difficulty {found[0]!r}; the facts say {facts.step_label or 'no step'!r}"
            )
    return problems


def _clauses(text: str) -> list[str]:
    parts: list[str] = []
    for sentence in _sentences(text):
        parts += [part for part in re.split(r",\s*(?:and|but|while|so)\s+|;\s*|\s+but\s+", sentence) if part]
    return parts


def _wrong_status(text: str, facts: Facts) -> list[str]:
    """Flag a clause that gives a history item another status than its own."""
    problems: list[str] = []
    for clause in _clauses(text):
        lowered = _normalise(clause)
        named = [(title, status) for title, status in facts.related if _contains(lowered, title)]
        if not named:
            continue
        if len({status for _, status in named}) > 1:
            # Two items with different statuses in one clause: which status
            # belongs to which item is ambiguous, so the clause fails.
            problems.append("names history items with different statuses in one clause")
            continue
        title, status = named[0]
        claims_unsolved = any(_contains(lowered, clause) for clause in NOT_SOLVED_CLAUSES)
        claims_solved = any(_contains(lowered, clause) for clause in SOLVED_CLAUSES)
        if status == "solved" and claims_unsolved:
            problems.append(f"says {title!r} is unsolved; the learner solved it")
        if status != "solved" and claims_solved and not claims_unsolved:
            problems.append(f"says {title!r} is solved; the learner {status} it")
    return problems
