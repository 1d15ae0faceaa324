"""The recommender behind the API: loads every artifact once, then ranks and explains.

``Recommender.from_artifacts(root)`` reads the artifact folders written by
``export/build_all.py``. It refuses to start when the index was built by a
different encoder than the one it loads, or when any file's sha256 differs
from its manifest.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ranking import stages
from ranking.ability import SolveModel
from ranking.artifacts import (
    CATALOGUE_DIR,
    ENCODER_DIR,
    INDEX_DIR,
    RANKER_DIR,
    manifest_sha256,
    read_manifest,
    verify_files,
)
from ranking.catalogue import Catalogue, Problem
from ranking.diversity import DEFAULT_WEIGHT, mmr_order
from ranking.encoder import OnnxEncoder
from ranking.exceptions import ArtifactError, RequestError
from ranking.explain import explain_template
from ranking.explainer import EXPLAINER_DIR, Explainer
from ranking.explainer_prompt import facts_from
from ranking.grounding import Vocabulary
from ranking.index import VectorIndex
from ranking.learner import LearnerState
from ranking.pipeline import Pipeline
from ranking.ranker import OnnxRanker
from ranking.reasons import build_reasons
from ranking.types import (
    ExplainerMode,
    ExplainResult,
    ExplanationSource,
    LearnerProfile,
    Reasons,
    Recommendation,
    RecommendResult,
)

logger = logging.getLogger(__name__)

MAX_K = 50
# The default time for one generated explanation in /explain, and for all of
# them together in /recommend.
DEFAULT_EXPLAIN_BUDGET_S = 3.0
DEFAULT_RECOMMEND_BUDGET_S = 3.0
# A generated explanation is not started with less time left than this: the
# prompt's prefill alone takes about this long on 2 threads.
MIN_GENERATION_S = 0.5
NO_EXPLAINER = "no explainer model is loaded"


def model_version_of(root: Path) -> str:
    """Return a short id for the artifact set: a hash over the manifests, the explainer's when present."""
    digest = hashlib.sha256()
    for name in (CATALOGUE_DIR, ENCODER_DIR, INDEX_DIR, RANKER_DIR):
        digest.update(manifest_sha256(root / name).encode())
    if (root / EXPLAINER_DIR / "manifest.json").is_file():
        digest.update(manifest_sha256(root / EXPLAINER_DIR).encode())
    return digest.hexdigest()[:12]


class Recommender:
    """Ranks unsolved problems for a learner and explains each pick."""

    def __init__(
        self,
        pipeline: Pipeline,
        encoder: OnnxEncoder,
        ranker: OnnxRanker,
        model_version: str,
        explainer: Explainer | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.encoder = encoder
        self.ranker = ranker
        self.model_version = model_version
        self.explainer = explainer
        self.diversity_weight = DEFAULT_WEIGHT

    @classmethod
    def from_artifacts(
        cls, root: Path, *, threads: int | None = None, load_explainer: bool | None = None
    ) -> Recommender:
        """Load and cross-check every artifact under ``root``.

        The generative explainer in ``root/explainer`` is loaded when
        ``load_explainer`` is true, skipped when false, and loaded when its
        folder exists when None. Without it every explanation is the template.

        Raises
        ------
        ArtifactError
            When an artifact is missing or corrupt.
        ArtifactMismatchError
            When the index was built by another encoder or for another catalogue.
        """
        catalogue_dir = root / CATALOGUE_DIR
        catalogue_manifest = read_manifest(catalogue_dir)
        problems = verify_files(catalogue_dir, catalogue_manifest)
        if problems:
            raise ArtifactError("catalogue artifact is corrupt: " + "; ".join(problems))
        catalogue = Catalogue.load(catalogue_dir)
        encoder = OnnxEncoder.from_folder(root / ENCODER_DIR, threads=threads)
        index = VectorIndex.load(
            root / INDEX_DIR, encoder_manifest_sha256=encoder.manifest_sha256, catalogue=catalogue
        )
        ranker = OnnxRanker.from_folder(root / RANKER_DIR)
        version = model_version_of(root)
        logger.info("recommender loaded: %d problems, model version %s", len(catalogue), version)
        pipeline = Pipeline.build(
            catalogue,
            index,
            company_aliases=catalogue_manifest.get("company_aliases", {}),
            tag_aliases=catalogue_manifest.get("tag_aliases", {}),
        )
        solve_model = ranker.manifest.get("solve_model")
        if not isinstance(solve_model, dict):
            raise ArtifactError(
                f"{root / RANKER_DIR}/manifest.json has no solve_model; retrain with `make artifacts`"
            )
        pipeline.solve_model = SolveModel.from_dict(solve_model)
        explainer = None
        explainer_dir = root / EXPLAINER_DIR
        if load_explainer or (load_explainer is None and explainer_dir.is_dir()):
            explainer = Explainer.from_folder(explainer_dir, vocabulary_of(catalogue), threads=threads)
            logger.info("explainer loaded: %s", explainer.name)
        return cls(pipeline, encoder, ranker, version, explainer)

    @property
    def platforms(self) -> tuple[str, ...]:
        """Platforms present in the catalogue."""
        return tuple(sorted(self.pipeline.lookup.by_popularity))

    def _check_platforms(self, platforms: Sequence[str] | None) -> None:
        unknown = sorted(set(platforms or ()) - set(self.platforms))
        if unknown:
            raise RequestError("platforms", f"unknown platform(s) {unknown}; allowed: {list(self.platforms)}")

    def _state(self, profile: LearnerProfile) -> LearnerState:
        return self.pipeline.state(profile, encode=self.encoder.encode)

    def recommend(
        self,
        profile: LearnerProfile,
        k: int = 10,
        platforms: Sequence[str] | None = None,
        explain: bool = True,
        explainer: ExplainerMode = "template",
        budget_s: float = DEFAULT_RECOMMEND_BUDGET_S,
    ) -> RecommendResult:
        """Rank up to ``k`` unsolved problems for the learner, best first.

        ``platforms`` defaults to the platforms of the known history items, or
        to every platform for a cold start. With ``explain`` and
        ``explainer="model"``, the generative model writes the explanations in
        rank order until ``budget_s`` seconds are spent; the rest, and any text
        the grounding check rejects, keep the template.
        """
        if not 1 <= k <= MAX_K:
            raise RequestError("k", f"must be between 1 and {MAX_K}, got {k}")
        self._check_platforms(platforms)
        with stages.stage(stages.ENCODE):
            state = self._state(profile)
        if not platforms and state.items:
            # Without an explicit choice, stay on the platforms the learner practises on.
            platforms = sorted({self.pipeline.lookup.platforms[item.position] for item in state.items})
        with stages.stage(stages.RETRIEVE):
            candidates = self.pipeline.candidates(state, platforms)
        stages.record_count(stages.CANDIDATES, len(candidates.positions))
        with stages.stage(stages.FEATURES):
            features = self.pipeline.features(state, candidates)
        with stages.stage(stages.RANK):
            scores = self.ranker.score(features.values)
            # MMR over the top candidates; equal scores keep the candidate generator's order.
            vectors = self.pipeline.embeddings[np.asarray(candidates.positions, dtype=np.int64)]
            order = mmr_order(scores, vectors, self.diversity_weight)[:k]

        with stages.stage(stages.EXPLAIN):
            recommendations = self._recommendations(
                candidates.positions, order, scores, state, explain, explainer, budget_s
            )
        warnings = list(state.warnings)
        if len(recommendations) < k:
            warnings.append(f"only {len(recommendations)} unsolved problems matched; fewer than k={k}")
        return RecommendResult(
            recommendations=recommendations,
            warnings=warnings,
            cold_start=state.is_cold_start,
            model_version=self.model_version,
        )

    def _recommendations(
        self,
        positions: Sequence[int],
        order: Sequence[int] | np.ndarray,
        scores: np.ndarray,
        state: LearnerState,
        explain: bool,
        explainer: ExplainerMode,
        budget_s: float,
    ) -> list[Recommendation]:
        """Build the reasons and, with ``explain``, the explanation of each ranked row in ``order``."""
        deadline = time.perf_counter() + budget_s
        recommendations: list[Recommendation] = []
        for row in order:
            position = positions[int(row)]
            problem = self.pipeline.catalogue.problems[position]
            reasons = build_reasons(
                state, position, self.pipeline.catalogue, self.pipeline.lookup, self.pipeline.embeddings
            )
            score = float(scores[row])
            text: str | None = None
            source: ExplanationSource | None = None
            fallback: str | None = None
            if explain:
                remaining = deadline - time.perf_counter() if explainer == "model" else None
                text, source, fallback = self._explanation(problem, reasons, state, explainer, remaining)
            recommendations.append(
                Recommendation(
                    problem=problem,
                    score=round(score, 6) if math.isfinite(score) else 0.0,
                    reasons=reasons,
                    explanation=text,
                    explanation_source=source,
                    explanation_fallback=fallback,
                )
            )
        return recommendations

    def _explanation(
        self,
        problem: Problem,
        reasons: Reasons,
        state: LearnerState,
        mode: ExplainerMode,
        budget_s: float | None,
    ) -> tuple[str, ExplanationSource, str | None]:
        """Return the text, its source and, when the template replaces the model's text, the reason."""
        template = explain_template(problem, reasons, state.company_names)
        if mode == "template":
            return template, "template", None
        if self.explainer is None:
            return template, "template", NO_EXPLAINER
        if budget_s is None or budget_s < MIN_GENERATION_S:
            return template, "template", "the request's explanation time budget was spent"
        facts = facts_from(problem, reasons, state.company_names)
        written = self.explainer.explain(facts, budget_s)
        if written.grounded:
            return written.text, "model", None
        logger.info("explainer fell back to the template for %s: %s", problem.id, "; ".join(written.problems))
        return template, "template", written.fallback_reason

    def explain(
        self,
        profile: LearnerProfile,
        problem_id: str,
        explainer: ExplainerMode = "template",
        budget_s: float = DEFAULT_EXPLAIN_BUDGET_S,
    ) -> ExplainResult:
        """Explain why ``problem_id`` suits the learner; raise KeyError if it is unknown.

        With ``explainer="model"`` (the API's default) the generative model
        writes the text within ``budget_s`` seconds. The template is used
        instead when no model is loaded, time runs out or the grounding check
        rejects the text.
        """
        resolved = self.pipeline.catalogue.resolve(problem_id)
        if resolved is None:
            raise KeyError(problem_id)
        position = self.pipeline.catalogue.position(resolved)
        with stages.stage(stages.ENCODE):
            state = self._state(profile)
        problem = self.pipeline.catalogue.problems[position]
        with stages.stage(stages.EXPLAIN):
            reasons = build_reasons(
                state, position, self.pipeline.catalogue, self.pipeline.lookup, self.pipeline.embeddings
            )
            text, source, fallback = self._explanation(problem, reasons, state, explainer, budget_s)
        warnings = list(state.warnings)
        if position in state.solved:
            warnings.append(f"problem_id {problem_id!r} is already solved in the history")
        return ExplainResult(
            problem=problem,
            reasons=reasons,
            explanation=text,
            explanation_source=source,
            explanation_fallback=fallback,
            warnings=warnings,
            model_version=self.model_version,
        )

    def health(self) -> dict[str, Any]:
        """Return the loaded model version and artifact sizes."""
        return {
            "status": "ok",
            "model_version": self.model_version,
            "problems": len(self.pipeline.catalogue),
            "platforms": list(self.platforms),
            "encoder_manifest_sha256": self.encoder.manifest_sha256,
            "ranker_features": len(self.ranker.feature_names),
            "explainer": None if self.explainer is None else self.explainer.name,
        }


def vocabulary_of(catalogue: Catalogue) -> Vocabulary:
    """Build the names the grounding check recognises: every title, topic and company of the catalogue."""
    problems = catalogue.problems
    return Vocabulary.build(
        titles=(problem.title for problem in problems),
        topics={tag for problem in problems for tag in problem.tags},
        companies={company for problem in problems for company in problem.companies},
    )
