"""Real orderings the ranker learns from: Codeforces solve sequences and study lists.

Each training example is a learner prefix and what came next:

* Codeforces sequences (real submissions of 32 rated users, oldest first):
  after a prefix of a user's submissions, the next first-accepted problem is
  the positive, and the problems they solve soon after are weaker positives.
* Study lists (NeetCode 150 order, A2OJ ladders): the first ``j`` problems
  count as solved and problem ``j + 1`` is the positive.

A seeded simulation adds learners whose goal names a topic ahead of their
history (``goal_switch_examples``); it is the only simulated data.

Sequences are split by time within each user (and by position within each
list): the first 80 % trains, the next 10 % validates, the last 10 % is held
out for evaluation and is never read by training.
"""

from __future__ import annotations

import csv
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ranking.catalogue import Catalogue
from ranking.types import HistoryItem, LearnerProfile, Status

Split = Literal["train", "valid", "test"]
SUBMISSIONS = Path("codeforces_submissions/cf_top32_submissions.csv")
NEETCODE = Path("neetcode/problemSiteData.json")
A2OJ = Path("a2oj_ladders/a2oj_ladders.csv")
HISTORY_WINDOW = 60
MIN_PRIOR_SOLVES = 5
SOON_AFTER = 5
NEETCODE_LIST = "neetcode150"
GOAL_TEMPLATES = (
    "{topic}",
    "get better at {topic}",
    "practise {topic} problems",
    "learn {topic} for interviews",
)


@dataclass(frozen=True)
class Example:
    """A learner prefix with graded relevance for what followed."""

    group: str
    split: Split
    profile: LearnerProfile
    relevance: dict[str, int]


def split_of(fraction: float) -> Split:
    """Map a position in a sequence (0..1) to its split."""
    if fraction < 0.8:
        return "train"
    if fraction < 0.9:
        return "valid"
    return "test"


def _evenly(indices: list[int], count: int) -> list[int]:
    if count <= 0:
        return []
    if len(indices) <= count:
        return indices
    step = len(indices) / count
    return [indices[int(i * step)] for i in range(count)]


def codeforces_examples(
    data_dir: Path, catalogue: Catalogue, per_user: dict[Split, int]
) -> Iterator[Example]:
    """Yield examples from the real Codeforces submission sequences."""
    for user, submissions in _submissions_by_user(data_dir, catalogue):
        yield from _user_examples(user, submissions, per_user)


@dataclass(frozen=True)
class Attempt:
    """A learner's first submission to a problem, and whether they ever solved it."""

    group: str
    split: Split
    profile: LearnerProfile
    problem_id: str
    solved: bool


def codeforces_attempts(
    data_dir: Path, catalogue: Catalogue, per_user: dict[Split, int]
) -> Iterator[Attempt]:
    """Yield first attempts at problems from the real Codeforces sequences.

    The profile is the history before the first submission, and ``solved``
    is True when any later submission of that user to the problem was
    accepted. These calibrate and test P(solve). A problem is in the split of
    its first submission's place in the user's sequence.
    """
    for user, submissions in _submissions_by_user(data_dir, catalogue):
        solved = {problem_id for problem_id, ok in submissions if ok}
        first: dict[str, int] = {}
        for index, (problem_id, _) in enumerate(submissions):
            first.setdefault(problem_id, index)
        by_split: dict[Split, list[int]] = {"train": [], "valid": [], "test": []}
        for index in first.values():
            by_split[split_of(index / len(submissions))].append(index)
        for split, indices in by_split.items():
            for index in _evenly(sorted(indices), per_user.get(split, 0)):
                problem_id = submissions[index][0]
                yield Attempt(
                    group=f"codeforces:{user}:{index}",
                    split=split,
                    profile=LearnerProfile(history=_history_before(submissions, index)),
                    problem_id=problem_id,
                    solved=problem_id in solved,
                )


def _submissions_by_user(data_dir: Path, catalogue: Catalogue) -> list[tuple[str, list[tuple[str, bool]]]]:
    by_handle: dict[str, list[tuple[str, bool]]] = {}
    with (data_dir / SUBMISSIONS).open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            problem_id = f"codeforces:{row['task_id']}"
            if problem_id in catalogue:
                by_handle.setdefault(row["handle"], []).append((problem_id, row["verdict"] == "OK"))
    return sorted(by_handle.items())


def _user_examples(
    user: str, submissions: list[tuple[str, bool]], per_user: dict[Split, int]
) -> Iterator[Example]:
    solved_at: list[int] = []
    seen_solved: set[str] = set()
    for index, (problem_id, ok) in enumerate(submissions):
        if ok and problem_id not in seen_solved:
            seen_solved.add(problem_id)
            solved_at.append(index)
    eligible = solved_at[MIN_PRIOR_SOLVES:]
    by_split: dict[Split, list[int]] = {"train": [], "valid": [], "test": []}
    for rank in range(len(eligible)):
        by_split[split_of(rank / len(eligible))].append(rank + MIN_PRIOR_SOLVES)
    for split, ranks in by_split.items():
        # Weaker labels stop at the split's end, so no label of a later split is read.
        end = ranks[-1] + 1 if ranks else 0
        for rank in _evenly(ranks, per_user.get(split, 0)):
            cut = solved_at[rank]
            following = [submissions[i][0] for i in solved_at[rank : min(rank + 1 + SOON_AFTER, end)]]
            relevance = {problem_id: 1 for problem_id in following[1:]}
            relevance[following[0]] = 3
            yield Example(
                group=f"codeforces:{user}:{cut}",
                split=split,
                profile=LearnerProfile(history=_history_before(submissions, cut)),
                relevance=relevance,
            )


def _history_before(submissions: list[tuple[str, bool]], cut: int) -> tuple[HistoryItem, ...]:
    """Summarise submissions before ``cut`` into one item per problem, last touched last."""
    attempts: dict[str, int] = {}
    solved: set[str] = set()
    for problem_id, ok in submissions[:cut]:
        if problem_id in solved:
            continue
        attempts[problem_id] = attempts.get(problem_id, 0) + 1
        if ok:
            solved.add(problem_id)
    # dict order is first-touch order; move each problem to its last touch.
    last_touch = {problem_id: i for i, (problem_id, _) in enumerate(submissions[:cut])}
    ordered = sorted(attempts, key=lambda problem_id: last_touch[problem_id])[-HISTORY_WINDOW:]
    items = []
    for problem_id in ordered:
        status: Status = "solved" if problem_id in solved else "failed"
        items.append(HistoryItem(problem_id=problem_id, status=status, attempts=attempts[problem_id]))
    return tuple(items)


def study_list_examples(data_dir: Path, catalogue: Catalogue, per_list: int) -> Iterator[Example]:
    """Yield examples from the NeetCode 150 order and the A2OJ ladders.

    Every NeetCode prefix becomes an example, A2OJ ladders give ``per_list``.
    NeetCode groups its list by pattern ("Sliding Window", "Graphs", ...), and
    every other NeetCode example states the next problem's pattern as the
    learner's goal. Those are the only real goal texts in the bundled data, so
    the ranker learns the weight of goal similarity from these groups.
    """
    for name, ids, patterns in _study_lists(data_dir):
        known = [
            (problem_id, pattern)
            for problem_id, pattern in zip(ids, patterns, strict=True)
            if problem_id in catalogue
        ]
        # Cut 0 is a cold start: an empty history and the list's first problem next.
        cuts = list(range(len(known)))
        by_split: dict[Split, list[int]] = {"train": [], "valid": [], "test": []}
        for cut in cuts:
            by_split[split_of(cut / len(known))].append(cut)
        every = name == NEETCODE_LIST
        for split, split_cuts in by_split.items():
            if every:
                count = len(split_cuts)
            elif split == "train":
                count = per_list
            else:
                count = max(1, per_list // 4)
            end = split_cuts[-1] + 1 if split_cuts else 0
            for cut in _evenly(split_cuts, count):
                history = tuple(HistoryItem(problem_id=p, status="solved") for p, _ in known[:cut])
                relevance = {p: 1 for p, _ in known[cut + 1 : min(cut + 1 + SOON_AFTER, end)]}
                relevance[known[cut][0]] = 3
                goal = known[cut][1] if cut % 2 and known[cut][1] else None
                profile = LearnerProfile(history=history, goal=goal)
                yield Example(f"{name}:{cut}", split, profile, relevance)


def _study_lists(data_dir: Path) -> Iterator[tuple[str, list[str], list[str]]]:
    entries = json.loads((data_dir / NEETCODE).read_text(encoding="utf-8"))
    neetcode = [e for e in entries if e.get("neetcode150")]
    ids = [f"leetcode:{e['link'].strip('/')}" for e in neetcode]
    yield NEETCODE_LIST, ids, [str(e.get("pattern", "")) for e in neetcode]
    ladders: dict[str, list[tuple[int, str]]] = {}
    with (data_dir / A2OJ).open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            ladders.setdefault(row["ladder_id"], []).append(
                (int(row["position"]), f"codeforces:{row['cf_problem_id']}")
            )
    for ladder_id, rows in sorted(ladders.items(), key=lambda pair: int(pair[0])):
        ordered = [problem_id for _, problem_id in sorted(rows)]
        yield f"a2oj:{ladder_id}", ordered, [""] * len(ordered)


def goal_switch_examples(data_dir: Path, catalogue: Catalogue, count: int, seed: int) -> Iterator[Example]:
    """Yield simulated examples of a learner whose goal names a topic they have not reached yet.

    The history is a real prefix of the train part of NeetCode 150 (its first
    80 %). The goal is another pattern further down that part, phrased by one
    of a few templates. The
    positive is that pattern's first problem, and its next problems are weaker
    positives. The bundled data contains no real learner who changed course, so
    without these groups the ranker learns that recent history outweighs any
    goal. They are seeded, go to the train split only, and no reported metric
    rests on them alone.
    """
    rng = random.Random(seed)
    for name, ids, patterns in _study_lists(data_dir):
        if name != NEETCODE_LIST:
            continue
        listed = [(p, pattern) for p, pattern in zip(ids, patterns, strict=True) if p in catalogue]
        # Only the train part of the list, split as study_list_examples splits it.
        train_part = [pair for i, pair in enumerate(listed) if split_of(i / len(listed)) == "train"]
        known = [(p, pattern) for p, pattern in train_part if pattern]
        for number in range(count):
            cut = rng.randrange(len(known) - 1)
            later = sorted({pattern for _, pattern in known[cut + 1 :]} - {known[cut][1]})
            if not later:
                continue
            pattern = rng.choice(later)
            block = [p for p, block_pattern in known[cut:] if block_pattern == pattern]
            history = tuple(HistoryItem(problem_id=p, status="solved") for p, _ in known[:cut])
            goal = rng.choice(GOAL_TEMPLATES).format(topic=pattern.lower())
            relevance = {p: 1 for p in block[1 : 1 + SOON_AFTER]}
            relevance[block[0]] = 3
            yield Example(
                f"goal-switch:{number}", "train", LearnerProfile(history=history, goal=goal), relevance
            )
