"""Catalogue-wide state shared by serving and training: one object per container."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from ranking.ability import SolveModel, learner_ability
from ranking.candidates import CandidateGenerator, Candidates
from ranking.catalogue import Catalogue
from ranking.difficulty import DifficultyScale
from ranking.features import FeatureMatrix, compute_features
from ranking.goal import GoalMatcher
from ranking.index import VectorIndex
from ranking.learner import EncodeFn, LearnerState, build_state, normalise_company
from ranking.lookup import CatalogueLookup
from ranking.types import LearnerProfile


@dataclass
class Pipeline:
    """Catalogue, index and derived lookups; turns a profile into scored-ready features."""

    catalogue: Catalogue
    index: VectorIndex
    scale: DifficultyScale
    lookup: CatalogueLookup
    generator: CandidateGenerator
    goal_matcher: GoalMatcher
    company_aliases: dict[str, str] = field(default_factory=dict)
    # Fitted by the ranker's training and read from its manifest when serving.
    solve_model: SolveModel | None = None

    @classmethod
    def build(
        cls,
        catalogue: Catalogue,
        index: VectorIndex,
        company_aliases: Mapping[str, str] | None = None,
        tag_aliases: Mapping[str, str] | None = None,
    ) -> Pipeline:
        """Fit the difficulty scale and build the lookups once.

        ``company_aliases`` and ``tag_aliases`` map other spellings to catalogue
        names (``facebook`` -> ``meta``, ``dp`` -> ``dynamic programming``), as
        the catalogue manifest records them.
        """
        scale = DifficultyScale.fit(catalogue.problems)
        lookup = CatalogueLookup.build(catalogue, scale)
        generator = CandidateGenerator(catalogue, index, lookup)
        matcher = GoalMatcher(lookup.by_tag, tag_aliases)
        return cls(catalogue, index, scale, lookup, generator, matcher, dict(company_aliases or {}))

    @property
    def embeddings(self) -> np.ndarray:
        """(n_problems, dim) float32 problem embeddings in catalogue order."""
        return self.index.embeddings

    def state(self, profile: LearnerProfile, encode: EncodeFn | None) -> LearnerState:
        """Derive the learner state for a request."""
        state = build_state(profile, self.catalogue, self.scale, encode, self.company_aliases)
        state.prior_level = self.scale.cold_start_level()
        state.ability = learner_ability(
            state.items, self.lookup.ratings, self.lookup.tags, prior_mean=state.prior_level
        )
        if profile.goal and profile.goal.strip():
            state.goal_tags = self.goal_matcher.topics(profile.goal)
        for index, company in enumerate(profile.target_companies):
            if (
                company.strip()
                and normalise_company(company, self.company_aliases) not in self.lookup.by_company
            ):
                state.warnings.append(
                    f"target_companies[{index}] {company!r} matches no company in the catalogue "
                    "and was ignored"
                )
        return state

    def candidates(
        self,
        state: LearnerState,
        platforms: Sequence[str] | None = None,
        extra: Sequence[int] = (),
    ) -> Candidates:
        """Generate candidates; ``extra`` rows (training positives) are appended if missing."""
        candidates = self.generator.generate(state, platforms)
        candidates.add([p for p in extra if p not in state.solved], "label")
        return candidates

    def features(self, state: LearnerState, candidates: Candidates) -> FeatureMatrix:
        """Compute the feature matrix of a candidate group."""
        return compute_features(
            state, candidates, self.catalogue, self.lookup, self.embeddings, self.solve_model
        )
