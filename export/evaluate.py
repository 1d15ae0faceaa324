"""Held-out evaluation of the served ranker against the baselines people use today.

Usage::

    python -m export.evaluate --artifacts build/artifacts --out build/evaluation/metrics.json

Every number comes from data the ranker never trained on. That is the last
10 % of each Codeforces user's solve sequence and of each study list (the
``test`` split of ``export/ranker_data.py``), and the LeetCode problems whose
similar-question links are held out (``export/similar_links.py``). The
ranker is loaded through the serving code (``Recommender.from_artifacts``),
so the evaluated model is the served model, diversity re-rank included.

Every method ranks the full pool: every unsolved problem on the platforms of
the learner's history (all platforms for an empty history). The ranker
orders its candidates first and the rest of the pool by popularity after
them. Tasks:

* ``codeforces_next``: the next first-accepted problem (label 3) and the
  five after it (label 1);
* ``codeforces_cross_contest``: the same groups, kept only when the next
  solve is from another contest than the last solve, where contest order
  cannot give the answer away;
* ``study_list``: the next problems of a NeetCode 150 or A2OJ ladder prefix;
* ``similar_problems``: retrieval of LeetCode's own similar links.

Baselines: most popular; the rule of Codeforces training tools (the
learner's weakest topics at about 200 above the recent average rating);
embedding similarity to the recent solves; and "same contest as the last
solve, then popularity".
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from export.ranker_data import Example, codeforces_attempts, codeforces_examples, study_list_examples
from ranking.ability import SolveModel
from ranking.candidates import Candidates
from ranking.diversity import DEFAULT_WEIGHT, mmr_order
from ranking.learner import LearnerState
from ranking.metrics import (
    expected_calibration_error,
    intra_list_diversity,
    ndcg_at_k,
    recall_at_k,
    reciprocal_rank,
    roc_auc,
)
from ranking.service import Recommender
from ranking.types import LearnerProfile

K = 10
CODEFORCES_TEST_PER_USER = 60
ATTEMPTS_TEST_PER_USER = 100
# Every held-out cut of every list; the A2OJ ladders are short.
STUDY_LIST_PER_LIST = 1000
RULE_STEP = 200.0
RULE_TOPICS = 3
DIVERSITY_WEIGHTS = (1.0, 0.9, 0.8, 0.7, 0.5)
RANKER = "ranker"
BASELINES = ("popularity", "weak_topics_rule", "embedding_similarity", "same_contest")
ScoreFn = Callable[[LearnerState, np.ndarray], np.ndarray]


@dataclass
class TaskResult:
    """Per-group metric values of every method on one task, plus the lists they returned."""

    values: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    shown: dict[str, set[int]] = field(default_factory=dict)
    pool_size: int = 0

    def add(self, method: str, metrics: dict[str, float], top: Iterable[int]) -> None:
        """Record one group's metrics and top-k rows for ``method``."""
        bucket = self.values.setdefault(method, {})
        for name, value in metrics.items():
            bucket.setdefault(name, []).append(value)
        self.shown.setdefault(method, set()).update(int(p) for p in top)

    def summary(self) -> dict[str, dict[str, float]]:
        """Mean of each metric per method, plus catalogue coverage and the group count."""
        table: dict[str, dict[str, float]] = {}
        for method, metrics in self.values.items():
            row = {name: _nanmean(values) for name, values in metrics.items()}
            row["coverage"] = len(self.shown[method]) / self.pool_size if self.pool_size else math.nan
            row["groups"] = float(len(next(iter(metrics.values()))))
            table[method] = row
        return table


def _nanmean(values: Sequence[float]) -> float:
    finite = [v for v in values if not math.isnan(v)]
    return float(np.mean(finite)) if finite else math.nan


class Evaluator:
    """Scores held-out groups with the served ranker and with every baseline."""

    def __init__(self, recommender: Recommender) -> None:
        self.recommender = recommender
        pipeline = recommender.pipeline
        self.pipeline = pipeline
        self.catalogue = pipeline.catalogue
        lookup = pipeline.lookup
        n = len(self.catalogue)
        self.platforms = np.asarray(lookup.platforms)
        self.ratings = lookup.ratings.astype(np.float64)
        self.popularity_score = np.nan_to_num(lookup.log_popularity.astype(np.float64), nan=-1.0)
        # Popularity percentile within the platform, 0 (least) to 1 (most popular).
        self.percentile = np.full(n, math.nan)
        for positions in lookup.by_popularity.values():
            rows = np.asarray(positions)
            known = rows[~np.isnan(lookup.log_popularity[rows])]
            if len(known) > 1:
                self.percentile[known] = 1.0 - np.arange(len(known)) / (len(known) - 1)
        contests = sorted({p.contest for p in self.catalogue.problems if p.contest})
        code = {contest: i + 1 for i, contest in enumerate(contests)}
        self.contest = np.array([code.get(p.contest, 0) for p in self.catalogue.problems])
        self.tag_sets = [frozenset(p.tags) for p in self.catalogue.problems]
        self.encode_cache: dict[str, np.ndarray] = {}
        # Tie-break for every baseline: a tiny share of popularity, so equal scores order the same way.
        spread = self.popularity_score.max() - self.popularity_score.min()
        self.tie_break = 1e-6 * (self.popularity_score - self.popularity_score.min()) / (spread or 1.0)
        self.baselines: dict[str, ScoreFn] = {
            "popularity": lambda state, pool: self.popularity_score[pool],
            "weak_topics_rule": self._weak_topics_rule,
            "embedding_similarity": self._embedding_similarity,
            "same_contest": self._same_contest,
        }

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        missing = [text for text in texts if text not in self.encode_cache]
        if missing:
            self.encode_cache.update(zip(missing, self.recommender.encoder.encode(missing), strict=True))
        return np.stack([self.encode_cache[text] for text in texts])

    def pool(self, state: LearnerState) -> tuple[np.ndarray, list[str] | None]:
        """Unsolved rows on the history's platforms (every platform for an empty history)."""
        platforms = sorted({self.platforms[item.position] for item in state.items}) or None
        mask = np.ones(len(self.catalogue), dtype=bool)
        if platforms:
            mask &= np.isin(self.platforms, platforms)
        if state.solved:
            mask[list(state.solved)] = False
        return np.flatnonzero(mask), platforms

    def _weak_topics_rule(self, state: LearnerState, pool: np.ndarray) -> np.ndarray:
        topics = list(state.weak_topics[:RULE_TOPICS])
        if not topics and state.topic_solved:
            # No weak topic yet: the least practised topics the learner has met.
            topics = sorted(state.topic_solved, key=lambda tag: (state.topic_solved[tag], tag))[:RULE_TOPICS]
        level = state.feature_level if state.feature_level is not None else 0.0
        target = level + RULE_STEP
        closeness = -np.abs(np.nan_to_num(self.ratings[pool], nan=1e4) - target) / 400.0
        weak = set(topics)
        on_topic = np.array([1.0 if self.tag_sets[p] & weak else 0.0 for p in pool])
        return on_topic + closeness + self.tie_break[pool]

    def _embedding_similarity(self, state: LearnerState, pool: np.ndarray) -> np.ndarray:
        if not state.recent_solved:
            return self.tie_break[pool]
        profile = self.pipeline.embeddings[state.recent_solved].mean(axis=0)
        return self.pipeline.embeddings[pool] @ profile + self.tie_break[pool]

    def _same_contest(self, state: LearnerState, pool: np.ndarray) -> np.ndarray:
        solved = [item.position for item in state.items if item.status == "solved"]
        last = self.contest[solved[-1]] if solved else 0
        same = (self.contest[pool] == last) & (last != 0)
        return same.astype(np.float64) + self.popularity_score[pool] / 100.0 + self.tie_break[pool]

    def ranker_scores(
        self, state: LearnerState, pool: np.ndarray, platforms: list[str] | None, weights: Sequence[float]
    ) -> dict[float, np.ndarray]:
        """Full-pool scores of the served ranker, one array per diversity weight."""
        candidates: Candidates = self.pipeline.candidates(state, platforms)
        features = self.pipeline.features(state, candidates)
        scores = self.recommender.ranker.score(features.values)
        rows = np.asarray(candidates.positions, dtype=np.int64)
        vectors = self.pipeline.embeddings[rows]
        slot = np.full(len(self.catalogue), -1, dtype=np.int64)
        slot[pool] = np.arange(len(pool))
        base = self.popularity_score[pool] / 100.0 + self.tie_break[pool]
        result: dict[float, np.ndarray] = {}
        for weight in weights:
            order = mmr_order(scores, vectors, weight)
            full = base.copy()
            ranked = rows[order]
            keep = slot[ranked] >= 0
            full[slot[ranked[keep]]] = 10.0 + (len(ranked) - np.arange(len(ranked))[keep])
            result[weight] = full
        return result

    def evaluate(
        self,
        examples: Sequence[Example],
        description: str,
        weights: Sequence[float] = (DEFAULT_WEIGHT,),
        keep: Callable[[Example, LearnerState], bool] | None = None,
    ) -> tuple[TaskResult, list[tuple[Example, LearnerState]]]:
        """Score every example with each method; returns the results and the kept (example, state) pairs."""
        result = TaskResult()
        kept: list[tuple[Example, LearnerState]] = []
        shown_pool: set[int] = set()
        for example in tqdm(examples, desc=description, unit="group"):
            profile = example.profile
            state = self.pipeline.state(
                # No goal: only the ranker could read it, and a study list's goal names the answer's pattern.
                LearnerProfile(history=profile.history),
                encode=self._encode,
            )
            if keep is not None and not keep(example, state):
                continue
            pool, platforms = self.pool(state)
            relevance = np.zeros(len(pool))
            slot = {int(p): i for i, p in enumerate(pool)}
            for problem_id, grade in example.relevance.items():
                position = self.catalogue.position(problem_id)
                if position in slot:
                    relevance[slot[position]] = grade
            if relevance.max(initial=0) == 0:
                continue
            kept.append((example, state))
            shown_pool.update(int(p) for p in pool)
            history = [item.position for item in state.items]
            history_percentile = _nanmean([float(self.percentile[p]) for p in history])
            for weight, scores in self.ranker_scores(state, pool, platforms, weights).items():
                name = RANKER if weight == DEFAULT_WEIGHT else f"{RANKER} (diversity weight {weight})"
                self._record(result, name, scores, relevance, pool, history_percentile)
            for name, score_fn in self.baselines.items():
                self._record(result, name, score_fn(state, pool), relevance, pool, history_percentile)
        result.pool_size = len(shown_pool)
        return result, kept

    def _record(
        self,
        result: TaskResult,
        method: str,
        scores: np.ndarray,
        relevance: np.ndarray,
        pool: np.ndarray,
        history_percentile: float,
    ) -> None:
        top = pool[np.argsort(-scores, kind="stable")[:K]]
        metrics = {
            f"ndcg@{K}": ndcg_at_k(scores, relevance, K),
            f"recall@{K}": recall_at_k(scores, relevance, K),
            "mrr": reciprocal_rank(scores, relevance),
            "diversity": intra_list_diversity([self.tag_sets[p] for p in top]),
            "popularity_percentile": _nanmean([float(self.percentile[p]) for p in top]),
            "history_popularity_percentile": history_percentile,
        }
        result.add(method, metrics, top)


def cross_contest(example: Example, state: LearnerState, catalogue: Any) -> bool:
    """True when the next solve is from another contest than the learner's last solve."""
    solved = [item.position for item in state.items if item.status == "solved"]
    if not solved:
        return True
    nxt = next(pid for pid, grade in example.relevance.items() if grade == max(example.relevance.values()))
    return catalogue.problems[catalogue.position(nxt)].contest != catalogue.problems[solved[-1]].contest


def answer_is_new(example: Example, state: LearnerState, catalogue: Any) -> bool:
    """True when the next solve is not in the history (not even as a failed attempt)."""
    best = max(example.relevance.values())
    answer = next(pid for pid, grade in example.relevance.items() if grade == best)
    return catalogue.position(answer) not in {item.position for item in state.items}


def calibration(evaluator: Evaluator, data_dir: Path, per_user: int) -> dict[str, Any]:
    """P(solve) against real outcomes of held-out first attempts (solved or never solved)."""
    from export.train_ranker import ability_steps

    attempts = [
        a for a in codeforces_attempts(data_dir, evaluator.catalogue, {"test": per_user}) if a.split == "test"
    ]
    steps, outcomes = ability_steps(evaluator.pipeline, attempts)
    model = evaluator.pipeline.solve_model or SolveModel()
    probabilities = model.probability(steps, 0.0)
    return {
        "attempts": len(steps),
        "solved_share": float(outcomes.mean()),
        "ece": expected_calibration_error(probabilities, outcomes),
        "auc": roc_auc(probabilities, outcomes),
        "probabilities": probabilities.tolist(),
        "outcomes": outcomes.tolist(),
    }


def ranker_ndcg(
    recommender: Recommender,
    examples: Sequence[Example],
    description: str,
) -> tuple[float, int]:
    """Mean NDCG@10 of the served ranker over ``examples``, and the number of groups scored.

    ``run_evaluation`` scores ``codeforces_next`` the same way, so for the
    held-out Codeforces examples this is the registry's promotion metric.
    """
    result, kept = Evaluator(recommender).evaluate(examples, description)
    row = result.summary().get(RANKER, {})
    return float(row.get(f"ndcg@{K}", math.nan)), len(kept)


def codeforces_test_examples(data_dir: Path, catalogue: Any, per_user: int) -> list[Example]:
    """Build the held-out Codeforces next-solve groups from the last 10 % of each user's sequence."""
    return [e for e in codeforces_examples(data_dir, catalogue, {"test": per_user}) if e.split == "test"]


def run_evaluation(
    artifacts: Path,
    data_dir: Path,
    *,
    per_user: int = CODEFORCES_TEST_PER_USER,
    attempts_per_user: int = ATTEMPTS_TEST_PER_USER,
    weights: Sequence[float] = DIVERSITY_WEIGHTS,
) -> dict[str, Any]:
    """Compute every task's metrics; returns a JSON-ready dict."""
    started = time.perf_counter()
    recommender = Recommender.from_artifacts(artifacts)
    evaluator = Evaluator(recommender)
    catalogue = evaluator.catalogue
    all_weights = tuple(sorted({DEFAULT_WEIGHT, *weights}, reverse=True))

    codeforces = codeforces_test_examples(data_dir, catalogue, per_user)
    cf_result, cf_kept = evaluator.evaluate(codeforces, "codeforces next solve", all_weights)
    cross = [e for e, state in cf_kept if cross_contest(e, state, catalogue)]
    cross_result, _ = evaluator.evaluate(cross, "cross-contest transitions")
    # A solve often follows failed submissions to the same problem, which the ranker's review
    # source can return. These subsets keep only next solves the learner had never tried.
    new = [e for e, state in cf_kept if answer_is_new(e, state, catalogue)]
    new_result, new_kept = evaluator.evaluate(new, "new problems only")
    cross_new = [e for e, state in new_kept if cross_contest(e, state, catalogue)]
    cross_new_result, _ = evaluator.evaluate(cross_new, "cross-contest, new problems only")
    lists = [e for e in study_list_examples(data_dir, catalogue, STUDY_LIST_PER_LIST) if e.split == "test"]
    list_result, _ = evaluator.evaluate(lists, "study lists", all_weights)

    tasks = {
        "codeforces_next": cf_result.summary(),
        "codeforces_cross_contest": cross_result.summary(),
        "codeforces_next_new_problem": new_result.summary(),
        "codeforces_cross_contest_new_problem": cross_new_result.summary(),
        "study_list": list_result.summary(),
    }
    return {
        "tasks": tasks,
        "calibration": calibration(evaluator, data_dir, attempts_per_user),
        "codeforces_test_per_user": per_user,
        "diversity_weights": list(all_weights),
        "default_diversity_weight": DEFAULT_WEIGHT,
        "model_version": recommender.model_version,
        "solve_model": (recommender.pipeline.solve_model or SolveModel()).to_dict(),
        "seconds": round(time.perf_counter() - started, 1),
    }


def positive_int(text: str) -> int:
    """Parse a whole number of at least 1 for argparse, with an error that names the allowed range."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid whole number {text!r}; expected 1 or more") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is too small; expected 1 or more")
    return value


def add_evaluation_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options that the evaluation and the report share: data, artifacts and cuts per user."""
    parser.add_argument("--data", type=Path, default=Path("data"), help="bundled data folder (default: data)")
    parser.add_argument(
        "--artifacts",
        type=Path,
        default=Path("build/artifacts"),
        help="artifacts root (default: build/artifacts)",
    )
    parser.add_argument(
        "--per-user",
        type=positive_int,
        default=CODEFORCES_TEST_PER_USER,
        help=f"held-out Codeforces cuts per user (default: {CODEFORCES_TEST_PER_USER}); "
        "study lists and P(solve) attempts are not affected",
    )


def main(argv: list[str] | None = None) -> None:
    """Run the evaluation from the command line, print the table and write the JSON."""
    parser = argparse.ArgumentParser(description="Evaluate the served ranker on held-out data.")
    add_evaluation_arguments(parser)
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("build/evaluation/metrics.json"),
        help="metrics JSON to write (default: build/evaluation/metrics.json)",
    )
    args = parser.parse_args(argv)

    metrics = run_evaluation(args.artifacts, args.data, per_user=args.per_user)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(metrics, indent=1))

    for task, table in metrics["tasks"].items():
        for method, row in table.items():
            print(f"{task:26} {method:40} ndcg@10 {row['ndcg@10']:.4f} recall@10 {row['recall@10']:.4f}")
    print(f"calibration: ECE {metrics['calibration']['ece']:.4f} AUC {metrics['calibration']['auc']:.4f}")


if __name__ == "__main__":
    main()
