"""Candidate generation: the problems the ranker gets to score.

Candidates come from several sources, so that the ranker scores problems
near the learner's recent solves, failures and goal text. Other sources add
problems on the topics the goal names, problems asked by the target
companies, the rest of the contests the learner works through, and problems
the platform links as similar. Solved problems never become candidates.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from ranking.catalogue import Catalogue
from ranking.index import VectorIndex
from ranking.learner import LearnerState
from ranking.lookup import CatalogueLookup

NEIGHBOURS_PER_SOLVE = 40
NEIGHBOURS_OF_PROFILE = 100
NEIGHBOURS_PER_FAILURE = 30
NEIGHBOURS_OF_GOAL = 100
COMPANY_PROBLEMS = 100
GOAL_TOPIC_PROBLEMS = 40
POPULAR_PROBLEMS = 60
# Popular problems rated within this band around the learner's ability: what
# a coach or a rating ladder would hand out next.
LEVEL_PROBLEMS = 80
LEVEL_BAND = (-100.0, 250.0)
# Problems of the class the learner practises most (Codeforces letter or
# LeetCode label), a little less solved than the last solve of that class:
# how practice ladders continue.
CLASS_PROBLEMS = 80
CLASS_WINDOW = 10
CONTEST_WINDOW = 3
MAX_CANDIDATES = 520
HEAD_PER_SOURCE = 20


@dataclass
class Candidates:
    """Candidate rows in a stable order, with the sources that proposed each."""

    positions: list[int] = field(default_factory=list)
    sources: dict[int, set[str]] = field(default_factory=dict)
    # Place of each row in the at-level list (0 = the most popular problem at the learner's level).
    level_rank: dict[int, int] = field(default_factory=dict)
    # Place of each row in the class continuation list (0 = next after the last solve).
    class_rank: dict[int, int] = field(default_factory=dict)

    def add(self, positions: Iterable[int], source: str) -> None:
        """Append new positions; a known position only gains the source name."""
        for position in positions:
            if position in self.sources:
                self.sources[position].add(source)
            else:
                self.sources[position] = {source}
                self.positions.append(position)

    def __len__(self) -> int:
        return len(self.positions)


class CandidateGenerator:
    """Collects candidates for one learner from every source."""

    def __init__(self, catalogue: Catalogue, index: VectorIndex, lookup: CatalogueLookup) -> None:
        self.catalogue = catalogue
        self.index = index
        self.lookup = lookup
        self._popular_rows = {
            platform: np.asarray(rows, dtype=np.int64) for platform, rows in lookup.by_popularity.items()
        }

    def generate(
        self,
        state: LearnerState,
        platforms: Sequence[str] | None = None,
        limit: int = MAX_CANDIDATES,
    ) -> Candidates:
        """Return up to ``limit`` unsolved candidates on the allowed platforms."""
        allowed = set(platforms) if platforms else None
        embeddings = self.index.embeddings
        proposals: list[tuple[str, list[int]]] = []
        level_rank: dict[int, int] = {}

        proposals.append(("review", list(state.unsolved)))
        if state.recent_solved:
            recent = np.asarray(embeddings[state.recent_solved], dtype=np.float32)
            profile = recent.mean(axis=0, keepdims=True)
            proposals.append(("history", self._neighbours(profile, NEIGHBOURS_OF_PROFILE)))
            proposals.append(("history", self._neighbours(recent, NEIGHBOURS_PER_SOLVE)))
            proposals.append(("similar_link", self._similar_links(state)))
        recent_items = [item.position for item in state.items[-CONTEST_WINDOW:]]
        proposals.append(("contest", self._contest_neighbours(recent_items)))
        # The mean rating of recent solves, not the item-response ability: a
        # history of solves only pushes the ability up without bound, while a
        # ladder's next problem sits near the problems just solved.
        level = state.feature_level
        if level is not None:
            for platform in sorted(allowed or self.lookup.by_popularity):
                at_level = self._at_level(platform, level, state.solved)
                proposals.append(("level", at_level))
                level_rank.update((p, rank) for rank, p in enumerate(at_level))
        continuation = self._class_continuation(state, allowed)
        proposals.append(("class", continuation))
        class_rank = {p: rank for rank, p in enumerate(continuation)}
        failures = list(state.unsolved)[-CONTEST_WINDOW:]
        if failures:
            failed = np.asarray(embeddings[failures], dtype=np.float32)
            proposals.append(("failure", self._neighbours(failed, NEIGHBOURS_PER_FAILURE)))
        if state.goal_vector is not None:
            goal = state.goal_vector.reshape(1, -1).astype(np.float32)
            proposals.append(("goal", self._neighbours(goal, NEIGHBOURS_OF_GOAL)))
        for tag in sorted(state.goal_tags or ()):
            proposals.append(("goal_topic", self.lookup.by_tag.get(tag, [])[:GOAL_TOPIC_PROBLEMS]))
        for company in sorted(state.target_companies):
            proposals.append(("company", self.lookup.by_company.get(company, [])[:COMPANY_PROBLEMS]))
        for platform in sorted(allowed or self.lookup.by_popularity):
            proposals.append(("popular", self.lookup.by_popularity.get(platform, [])[:POPULAR_PROBLEMS]))

        filtered = [
            (
                source,
                [
                    p
                    for p in positions
                    if p not in state.solved and (allowed is None or self.lookup.platforms[p] in allowed)
                ],
            )
            for source, positions in proposals
        ]
        candidates = Candidates(level_rank=level_rank, class_rank=class_rank)
        # The head of every source first, so the cut at ``limit`` never drops a whole source.
        for source, kept in filtered:
            candidates.add(kept[:HEAD_PER_SOURCE], source)
        for source, kept in filtered:
            candidates.add(kept, source)
        if len(candidates) > limit:
            candidates.positions = candidates.positions[:limit]
            candidates.sources = {p: candidates.sources[p] for p in candidates.positions}
        return candidates

    def _class_continuation(self, state: LearnerState, allowed: set[str] | None) -> list[int]:
        classes = self.lookup.classes
        solved = [item.position for item in state.items if item.status == "solved"][-CLASS_WINDOW:]
        counts: dict[str, int] = {}
        for position in solved:
            if classes[position]:
                counts[classes[position]] = counts.get(classes[position], 0) + 1
        if not counts:
            return []
        # The most practised class; ties go to the class of the latest solve.
        latest = {classes[p]: i for i, p in enumerate(solved)}
        name = max(counts, key=lambda c: (counts[c], latest[c]))
        rows = (self.lookup.by_class or {}).get(name, [])
        if allowed is not None and rows and self.lookup.platforms[rows[0]] not in allowed:
            return []
        last = next(p for p in reversed(solved) if classes[p] == name)
        last_popularity = self.lookup.log_popularity[last]
        popularity = self.lookup.log_popularity
        kept: list[int] = []
        for row in rows:
            # Rows are most solved first; skip the ones more solved than the last solve.
            if not np.isnan(last_popularity) and popularity[row] > last_popularity:
                continue
            if row not in state.solved:
                kept.append(row)
                if len(kept) == CLASS_PROBLEMS:
                    break
        return kept

    def _at_level(self, platform: str, level: float, solved: set[int]) -> list[int]:
        rows = self._popular_rows.get(platform)
        if rows is None:
            return []
        step = self.lookup.ratings[rows] - level
        inside = (step >= LEVEL_BAND[0]) & (step <= LEVEL_BAND[1])
        kept = [int(row) for row in rows[inside] if int(row) not in solved]
        return kept[:LEVEL_PROBLEMS]

    def _neighbours(self, queries: np.ndarray, k: int) -> list[int]:
        hits = self.index.search(queries, k)
        return [hit.position for row in hits for hit in row]

    def _similar_links(self, state: LearnerState) -> list[int]:
        positions: list[int] = []
        for item in state.items:
            for linked in self.catalogue.problems[item.position].similar:
                if linked in self.catalogue:
                    positions.append(self.catalogue.position(linked))
        return positions

    def _contest_neighbours(self, positions: list[int]) -> list[int]:
        neighbours: list[int] = []
        for position in reversed(positions):
            contest = self.catalogue.problems[position].contest
            if contest:
                neighbours.extend(self.lookup.by_contest.get(contest, []))
        return neighbours
