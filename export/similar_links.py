"""LeetCode's own "similar questions" links, split for training and evaluation.

The links are editorial: LeetCode staff list, for many problems, a few others
that practise the same idea. They are the one human judgement of problem
similarity in the bundled data, so the retrieval stage is measured against
them, and an encoder may be fine-tuned on part of them.

Links are made symmetric (A lists B, so B is similar to A) and split by
problem, never by pair. A held-out problem loses every link it takes part in,
so a method tuned on the training links has never seen any link of the
problems it is tested on. That is also the case the service faces with a new
problem that the platform has not linked yet.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Literal

from ranking.catalogue import Catalogue

LinkSplit = Literal["train", "valid", "test"]
PLATFORM = "leetcode"
# Problems fall into 10 buckets by the sha256 of their id: 2 buckets are held
# out for the report, 1 validates fine-tuning, 7 train.
BUCKETS = 10
TEST_BUCKETS = frozenset({0, 1})
VALID_BUCKETS = frozenset({2})


@dataclass(frozen=True)
class SimilarLinks:
    """Symmetric links between catalogue rows of one platform, with the split of each row."""

    pool: tuple[int, ...]
    links: dict[int, frozenset[int]]
    split: dict[int, LinkSplit]

    def queries(self, split: LinkSplit) -> list[int]:
        """Rows of ``split`` that have at least one link, in catalogue order."""
        return [row for row in sorted(self.links) if self.split[row] == split]

    def pairs(self, split: LinkSplit) -> list[tuple[int, int]]:
        """Links whose two ends both belong to ``split``, each once (smaller row first)."""
        return sorted(
            (row, other)
            for row, others in self.links.items()
            for other in others
            if row < other and self.split[row] == split and self.split[other] == split
        )


def link_split(problem_id: str) -> LinkSplit:
    """Assign a problem to a split from its id alone, so the split never changes between runs."""
    bucket = int(hashlib.sha256(problem_id.encode("utf-8")).hexdigest(), 16) % BUCKETS
    if bucket in TEST_BUCKETS:
        return "test"
    if bucket in VALID_BUCKETS:
        return "valid"
    return "train"


def load_links(catalogue: Catalogue, platform: str = PLATFORM) -> SimilarLinks:
    """Collect the symmetric similar links among problems of ``platform``.

    The pool is every catalogue problem of the platform, linked or not, so a
    method is measured on retrieval among all of them.
    """
    pool = tuple(i for i, problem in enumerate(catalogue.problems) if problem.platform == platform)
    in_pool = set(pool)
    links: dict[int, set[int]] = {}
    for row in pool:
        for linked in catalogue.problems[row].similar:
            if linked not in catalogue:
                continue
            other = catalogue.position(linked)
            if other == row or other not in in_pool:
                continue
            links.setdefault(row, set()).add(other)
            links.setdefault(other, set()).add(row)
    split = {row: link_split(catalogue.problems[row].id) for row in pool}
    return SimilarLinks(pool, {row: frozenset(others) for row, others in links.items()}, split)
