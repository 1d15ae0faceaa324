"""A learned re-ranker for LeetCode's similar-question links.

Stage 1 takes, for a query problem, the top candidates of zero-shot
embedding cosine plus a weighted TF-IDF cosine, and adds the top candidates
of TF-IDF alone. Stage 2 re-orders those candidates with a LightGBM
lambdarank model over features of the (query, candidate) pair. The features
cover text and title similarity, tags, companies, difficulty, popularity and
the distance between LeetCode numbers. They also include stage-1 ranks and
the rank of the query in the candidate's own stage-1 list.

Every feature comes from catalogue fields that a new, unlinked problem
already has. No feature reads the ``similar`` column or any link. The model
trains on train-split queries, labelled only by their links to other
train-split problems, and candidates from the valid and test splits are left
out of the training groups because their links are unknown there. The valid
split chooses the TF-IDF weight and stops boosting early. The test split is
only reported.
"""

from __future__ import annotations

import argparse
import math
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer

from export.similar_eval import (
    ScoreFunction,
    choose_weight,
    compare_methods,
    embedding_scores,
    evaluate_similar,
    tfidf_scores,
)
from export.similar_links import LinkSplit, SimilarLinks, load_links
from ranking.artifacts import CATALOGUE_DIR, INDEX_DIR
from ranking.catalogue import Catalogue, Problem

# Candidates per query: the top of the combined stage-1 score, plus the top
# of TF-IDF alone when those are not already in.
COMBINED_CANDIDATES = 300
TFIDF_CANDIDATES = 100
# Size of the stage-1 neighbour lists compared by the shared-neighbour feature.
NEIGHBOUR_LIST = 20
TFIDF_WEIGHTS = tuple(round(0.1 * step, 1) for step in range(11))
DIFFICULTY_LEVELS = {"easy": 0.0, "medium": 1.0, "hard": 2.0}
_FRONTEND_ID = re.compile(r"^leetcode:(\d+)$")
_WORD = re.compile(r"[a-z0-9]+")
# Trailing roman numerals or numbers that mark a problem family ("Two Sum II").
_FAMILY_SUFFIX = re.compile(r"(\s+(i{1,3}|iv|v|vi{1,3}|ix|x|\d+))+$")

FEATURE_NAMES: tuple[str, ...] = (
    "embedding_cosine",
    "tfidf_cosine",
    "title_word_cosine",
    "title_char_cosine",
    "title_jaccard",
    "shared_title_words",
    "same_title_family",
    "hint_cosine",
    "tag_jaccard",
    "shared_tags",
    "query_tag_count",
    "candidate_tag_count",
    "company_jaccard",
    "rating_difference",
    "difficulty_difference",
    "same_difficulty",
    "query_log_popularity",
    "candidate_log_popularity",
    "acceptance_difference",
    "number_distance",
    "stage1_score",
    "stage1_rank",
    "embedding_rank",
    "tfidf_rank",
    "reciprocal_stage1_rank",
    "shared_neighbours",
    "candidate_neighbour_in_degree",
    "stage1_gap_to_top",
    "query_number",
    "candidate_number",
    "candidate_log_likes",
    "candidate_premium",
    "candidate_contest_problem",
    "same_neetcode_pattern",
)

LGB_PARAMS: dict[str, object] = {
    "objective": "lambdarank",
    "metric": "ndcg",
    "eval_at": [10],
    "learning_rate": 0.05,
    "num_leaves": 7,
    "min_data_in_leaf": 50,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "lambdarank_truncation_level": 20,
    "num_threads": 1,
    "deterministic": True,
    "force_row_wise": True,
    "verbosity": -1,
}
MAX_ROUNDS = 1000
EARLY_STOPPING_ROUNDS = 50


def _words(text: str) -> frozenset[str]:
    return frozenset(_WORD.findall(text.lower()))


def _title_family(title: str) -> str:
    return _FAMILY_SUFFIX.sub("", " ".join(_WORD.findall(title.lower())))


def _frontend_number(problem: Problem) -> float:
    for alias in problem.aliases:
        match = _FRONTEND_ID.match(alias)
        if match:
            return float(match.group(1))
    return math.nan


def _extra_tag(problem: Problem, name: str) -> str | None:
    prefix = f"{name}="
    for tag in problem.extra_tags:
        if tag.startswith(prefix):
            return tag[len(prefix) :]
    return None


def _extra_number(problem: Problem, name: str) -> float:
    value = _extra_tag(problem, name)
    try:
        return math.nan if value is None else float(value)
    except ValueError:
        return math.nan


def _hint_text(problem: Problem) -> str:
    return " ".join(line for line in problem.extra_text.splitlines() if line.startswith("hint:"))


def _binary_matrix(items: Sequence[Sequence[str]]) -> tuple[sparse.csr_matrix, dict[str, int]]:
    column = {name: i for i, name in enumerate(sorted({name for row in items for name in row}))}
    rows, columns = [], []
    for i, row in enumerate(items):
        for name in set(row):
            rows.append(i)
            columns.append(column[name])
    values = np.ones(len(rows), dtype=np.float32)
    return sparse.csr_matrix((values, (rows, columns)), shape=(len(items), len(column))), column


def _rank_of(scores: np.ndarray) -> np.ndarray:
    """0-based rank of every entry when ``scores`` is sorted in descending order (ties by position)."""
    order = np.argsort(-scores, kind="stable")
    ranks = np.empty(len(scores), dtype=np.float64)
    ranks[order] = np.arange(len(scores), dtype=np.float64)
    return ranks


class PairFeaturizer:
    """Pool-wide text, tag and score matrices that produce the stage-1 candidates and pair features.

    Every matrix is fitted on the pool's catalogue fields only, never on links.
    """

    def __init__(
        self, catalogue: Catalogue, pool: Sequence[int], embeddings: np.ndarray, tfidf_weight: float
    ) -> None:
        self.catalogue = catalogue
        self.pool = np.asarray(pool, dtype=np.int64)
        self.position = {int(row): i for i, row in enumerate(self.pool)}
        self.tfidf_weight = tfidf_weight
        self.embeddings = embeddings
        problems = [catalogue.problems[row] for row in self.pool]

        self.pool_vectors = np.asarray(embeddings[self.pool], dtype=np.float32)
        # Same settings as the TF-IDF baseline of export.similar_eval.
        self.text_vectorizer = TfidfVectorizer(sublinear_tf=True, stop_words="english", min_df=2)
        self.text_matrix = self.text_vectorizer.fit_transform(
            [f"{p.title} {p.description}" for p in problems]
        )
        self.title_vectorizer = TfidfVectorizer(token_pattern=r"[a-z0-9]+", sublinear_tf=True)
        self.title_matrix = self.title_vectorizer.fit_transform([p.title.lower() for p in problems])
        self.char_vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True)
        self.char_matrix = self.char_vectorizer.fit_transform([p.title.lower() for p in problems])
        self.hint_vectorizer = TfidfVectorizer(sublinear_tf=True, stop_words="english", min_df=2)
        self.hint_matrix = _fit_or_empty(self.hint_vectorizer, [_hint_text(p) for p in problems])

        self.title_words = [_words(p.title) for p in problems]
        self.families = [_title_family(p.title) for p in problems]
        self.tag_matrix, self.tag_column = _binary_matrix([p.tags for p in problems])
        self.company_matrix, self.company_column = _binary_matrix([p.companies for p in problems])
        self.tag_counts = np.asarray(self.tag_matrix.sum(axis=1), dtype=np.float64).ravel()
        self.company_counts = np.asarray(self.company_matrix.sum(axis=1), dtype=np.float64).ravel()
        self.ratings = np.array([_number(p.rating) for p in problems])
        self.difficulty = np.array(
            [DIFFICULTY_LEVELS.get(p.difficulty_label.lower(), math.nan) for p in problems]
        )
        self.log_popularity = np.array(
            [math.log1p(p.popularity) if p.popularity else math.nan for p in problems]
        )
        self.acceptance = np.array([_number(p.acceptance_rate) for p in problems])
        self.numbers = np.array([_frontend_number(p) for p in problems])
        self.log_likes = np.log1p(np.array([_extra_number(p, "likes") for p in problems]))
        self.premium = np.array([_extra_number(p, "is_premium") for p in problems])
        self.contest_problem = np.array([_extra_bool(p, "contest_problem") for p in problems])
        self.patterns = [_extra_tag(p, "neetcode_pattern") for p in problems]

        # Stage-1 scores between every two pool problems, each row sorted in
        # descending order, give the candidate-side ranks of a query.
        stage1 = self.pool_vectors @ self.pool_vectors.T
        stage1 += tfidf_weight * np.asarray(
            (self.text_matrix @ self.text_matrix.T).toarray(), dtype=np.float32
        )
        np.fill_diagonal(stage1, -np.inf)
        self.sorted_stage1 = -np.sort(-stage1, axis=1)
        self.neighbour_list = min(NEIGHBOUR_LIST, len(self.pool) - 1)
        top = np.argsort(-stage1, axis=1, kind="stable")[:, : self.neighbour_list]
        rows = np.repeat(np.arange(len(self.pool)), self.neighbour_list)
        self.neighbours = sparse.csr_matrix(
            (np.ones(top.size, dtype=np.float32), (rows, top.ravel())),
            shape=stage1.shape,
        )
        # How often a problem is among the stage-1 neighbours of others.
        self.in_degree = np.asarray(self.neighbours.sum(axis=0), dtype=np.float64).ravel()

    def _query_vectors(self, query: int) -> dict[str, sparse.csr_matrix]:
        """Return the query's row of every pool matrix, transformed afresh for a problem outside the pool."""
        if query in self.position:
            i = self.position[query]
            return {
                "text": self.text_matrix[i],
                "title": self.title_matrix[i],
                "char": self.char_matrix[i],
                "hint": self.hint_matrix[i],
                "tags": self.tag_matrix[i],
                "companies": self.company_matrix[i],
            }
        problem = self.catalogue.problems[query]
        return {
            "text": self.text_vectorizer.transform([f"{problem.title} {problem.description}"]),
            "title": self.title_vectorizer.transform([problem.title.lower()]),
            "char": self.char_vectorizer.transform([problem.title.lower()]),
            "hint": _transform_or_empty(self.hint_vectorizer, self.hint_matrix, _hint_text(problem)),
            "tags": _binary_row(problem.tags, self.tag_column),
            "companies": _binary_row(problem.companies, self.company_column),
        }

    def candidates_and_features(self, query: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Select the stage-1 candidates of ``query`` and compute their pair features.

        Returns the candidates' pool positions, their feature matrix (columns
        in ``FEATURE_NAMES`` order) and the stage-1 score of every pool
        problem. The query itself is never a candidate.
        """
        vectors = self._query_vectors(query)
        embedding = np.asarray(self.embeddings[query], dtype=np.float32)
        embedding_cosine = (self.pool_vectors @ embedding).astype(np.float64)
        tfidf_cosine = _cosine(self.text_matrix, vectors["text"])
        stage1 = embedding_cosine + self.tfidf_weight * tfidf_cosine
        own = self.position.get(query)
        if own is not None:
            stage1[own] = -np.inf
            tfidf_cosine_ranked = tfidf_cosine.copy()
            tfidf_cosine_ranked[own] = -np.inf
            embedding_ranked = embedding_cosine.copy()
            embedding_ranked[own] = -np.inf
        else:
            tfidf_cosine_ranked, embedding_ranked = tfidf_cosine, embedding_cosine
        stage1_rank = _rank_of(stage1)
        tfidf_rank = _rank_of(tfidf_cosine_ranked)
        embedding_rank = _rank_of(embedding_ranked)
        chosen = (stage1_rank < COMBINED_CANDIDATES) | (tfidf_rank < TFIDF_CANDIDATES)
        if own is not None:
            chosen[own] = False
        candidates = np.flatnonzero(chosen)

        problem = self.catalogue.problems[query]
        query_words = _words(problem.title)
        query_family = _title_family(problem.title)
        query_tags = vectors["tags"]
        query_companies = vectors["companies"]
        shared_tags = _dot(self.tag_matrix[candidates], query_tags)
        query_tag_count = float(query_tags.sum())
        shared_companies = _dot(self.company_matrix[candidates], query_companies)
        company_union = self.company_counts[candidates] + float(query_companies.sum()) - shared_companies
        tag_union = self.tag_counts[candidates] + query_tag_count - shared_tags
        shared_words = np.array(
            [len(query_words & self.title_words[c]) for c in candidates], dtype=np.float64
        )
        word_union = np.array([len(query_words | self.title_words[c]) for c in candidates], dtype=np.float64)
        rating = _number(problem.rating)
        difficulty = DIFFICULTY_LEVELS.get(problem.difficulty_label.lower(), math.nan)
        number = _frontend_number(problem)
        query_pattern = _extra_tag(problem, "neetcode_pattern")

        # Where the query would fall in each candidate's own stage-1 list.
        # Each sorted row excludes the candidate itself, and a query from the
        # pool is in that row too, so only scores strictly above it count.
        sorted_rows = self.sorted_stage1[candidates]
        query_scores = stage1[candidates].astype(np.float32)
        reciprocal = (sorted_rows > query_scores[:, None] + 1e-5).sum(axis=1).astype(np.float64)

        if own is not None:
            shared_neighbours = _dot(self.neighbours[candidates], self.neighbours[own])
        else:
            query_top = np.argsort(-stage1, kind="stable")[: self.neighbour_list]
            shared_neighbours = np.asarray(self.neighbours[candidates][:, query_top].sum(axis=1)).ravel()

        columns = {
            "embedding_cosine": embedding_cosine[candidates],
            "tfidf_cosine": tfidf_cosine[candidates],
            "title_word_cosine": _cosine(self.title_matrix[candidates], vectors["title"]),
            "title_char_cosine": _cosine(self.char_matrix[candidates], vectors["char"]),
            "title_jaccard": _ratio(shared_words, word_union),
            "shared_title_words": shared_words,
            "same_title_family": np.array(
                [float(bool(query_family) and self.families[c] == query_family) for c in candidates]
            ),
            "hint_cosine": _cosine(self.hint_matrix[candidates], vectors["hint"]),
            "tag_jaccard": _ratio(shared_tags, tag_union),
            "shared_tags": shared_tags,
            "query_tag_count": np.full(len(candidates), query_tag_count),
            "candidate_tag_count": self.tag_counts[candidates],
            "company_jaccard": _ratio(shared_companies, company_union),
            "rating_difference": np.abs(self.ratings[candidates] - rating),
            "difficulty_difference": np.abs(self.difficulty[candidates] - difficulty),
            "same_difficulty": np.where(
                np.isnan(self.difficulty[candidates]) | math.isnan(difficulty),
                math.nan,
                (self.difficulty[candidates] == difficulty).astype(np.float64),
            ),
            "query_log_popularity": np.full(
                len(candidates), math.log1p(problem.popularity) if problem.popularity else math.nan
            ),
            "candidate_log_popularity": self.log_popularity[candidates],
            "acceptance_difference": np.abs(self.acceptance[candidates] - _number(problem.acceptance_rate)),
            "number_distance": np.log1p(np.abs(self.numbers[candidates] - number)),
            "stage1_score": stage1[candidates],
            "stage1_rank": stage1_rank[candidates],
            "embedding_rank": embedding_rank[candidates],
            "tfidf_rank": tfidf_rank[candidates],
            "reciprocal_stage1_rank": reciprocal,
            "shared_neighbours": shared_neighbours,
            "candidate_neighbour_in_degree": self.in_degree[candidates],
            "stage1_gap_to_top": float(stage1[candidates].max()) - stage1[candidates],
            "query_number": np.full(len(candidates), number),
            "candidate_number": self.numbers[candidates],
            "candidate_log_likes": self.log_likes[candidates],
            "candidate_premium": self.premium[candidates],
            "candidate_contest_problem": self.contest_problem[candidates],
            "same_neetcode_pattern": np.array(
                [
                    math.nan
                    if query_pattern is None or self.patterns[c] is None
                    else float(self.patterns[c] == query_pattern)
                    for c in candidates
                ]
            ),
        }
        features = np.column_stack([columns[name] for name in FEATURE_NAMES])
        return candidates, features, stage1


def _number(value: float | None) -> float:
    return math.nan if value is None else float(value)


def _fit_or_empty(vectorizer: TfidfVectorizer, texts: list[str]) -> sparse.csr_matrix:
    """Fit and transform ``texts``, or return an all-zero matrix when no text has a kept word."""
    try:
        return vectorizer.fit_transform(texts)
    except ValueError:
        # scikit-learn raises ValueError("empty vocabulary") when every text is empty or pruned.
        return sparse.csr_matrix((len(texts), 0), dtype=np.float64)


def _transform_or_empty(
    vectorizer: TfidfVectorizer, matrix: sparse.csr_matrix, text: str
) -> sparse.csr_matrix:
    if matrix.shape[1] == 0:
        return sparse.csr_matrix((1, 0), dtype=np.float64)
    return vectorizer.transform([text])


def _extra_bool(problem: Problem, name: str) -> float:
    value = _extra_tag(problem, name)
    if value is None:
        return math.nan
    return 1.0 if value.lower() in {"1", "true", "yes"} else 0.0


def _binary_row(names: Sequence[str], column: dict[str, int]) -> sparse.csr_matrix:
    indices = sorted({column[name] for name in names if name in column})
    values = np.ones(len(indices), dtype=np.float32)
    return sparse.csr_matrix(
        (values, (np.zeros(len(indices), dtype=np.int64), indices)), shape=(1, len(column))
    )


def _dot(matrix: sparse.csr_matrix, row: sparse.csr_matrix) -> np.ndarray:
    return np.asarray((matrix @ row.T).toarray(), dtype=np.float64).ravel()


def _cosine(matrix: sparse.csr_matrix, row: sparse.csr_matrix) -> np.ndarray:
    """Cosine of L2-normalised TF-IDF rows with one query row (an empty row gives 0)."""
    return _dot(matrix, row)


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    return np.divide(numerator, denominator, out=np.zeros_like(numerator), where=denominator > 0)


@dataclass
class SimilarRanker:
    """Stage-1 candidates re-ordered by a LightGBM lambdarank model.

    ``scores(query_row)`` is a ``ScoreFunction`` over ``pool`` order: each
    candidate gets the model's score, and every other pool problem gets a
    score below all candidates, ordered by its stage-1 score.
    """

    featurizer: PairFeaturizer
    booster: lgb.Booster
    best_iteration: int

    def scores(self, query_row: int) -> np.ndarray:
        """Score every pool problem for ``query_row``, a catalogue row."""
        candidates, features, stage1 = self.featurizer.candidates_and_features(query_row)
        result = np.empty(len(stage1), dtype=np.float64)
        model_scores = np.asarray(self.booster.predict(features, num_iteration=self.best_iteration))
        rest = np.ones(len(stage1), dtype=bool)
        rest[candidates] = False
        result[candidates] = model_scores
        floor = float(model_scores.min()) if len(candidates) else 0.0
        rest_scores = np.where(np.isfinite(stage1[rest]), stage1[rest], -10.0)
        # Stage-1 scores are at most 1 + w, and -10 replaces the query's own -inf, so the shift
        # keeps the rest below every candidate.
        result[rest] = floor - 2.0 * (2.0 + self.featurizer.tfidf_weight) + rest_scores
        return result


def _label_rows(links: SimilarLinks, query: int, allowed: frozenset[LinkSplit]) -> frozenset[int]:
    """Linked rows of ``query`` whose split is in ``allowed``."""
    return frozenset(other for other in links.links.get(query, ()) if links.split[other] in allowed)


def _without_split_links(links: SimilarLinks, split: LinkSplit) -> SimilarLinks:
    """Drop every link that has a problem of ``split`` at either end."""
    kept = {
        row: frozenset(other for other in others if links.split[other] != split)
        for row, others in links.links.items()
        if links.split[row] != split
    }
    return replace(links, links={row: others for row, others in kept.items() if others})


def build_groups(
    featurizer: PairFeaturizer,
    links: SimilarLinks,
    split: LinkSplit,
    allowed: frozenset[LinkSplit],
) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Build lambdarank groups for the queries of ``split``.

    Candidates and labels are restricted to problems whose split is in
    ``allowed``, so links to other splits neither label nor enter a group.
    Queries with no linked problem in ``allowed`` are skipped.
    """
    pool_splits = np.array([links.split[int(row)] for row in featurizer.pool])
    allowed_mask = np.isin(pool_splits, sorted(allowed))
    features, labels, sizes = [], [], []
    for query in links.queries(split):
        relevant = _label_rows(links, query, allowed)
        if not relevant:
            continue
        candidates, candidate_features, _ = featurizer.candidates_and_features(query)
        keep = allowed_mask[candidates]
        candidates, candidate_features = candidates[keep], candidate_features[keep]
        if len(candidates) == 0:
            continue
        rows = featurizer.pool[candidates]
        features.append(candidate_features)
        labels.append(np.isin(rows, sorted(relevant)).astype(np.float64))
        sizes.append(len(candidates))
    if not features:
        return np.zeros((0, len(FEATURE_NAMES))), np.zeros(0), []
    return np.vstack(features), np.concatenate(labels), sizes


def train_similar_ranker(
    catalogue: Catalogue,
    links: SimilarLinks,
    embeddings: np.ndarray,
    seed: int = 0,
    tfidf_weight: float | None = None,
) -> SimilarRanker:
    """Train the re-ranker on train-split queries and stop early on valid-split queries.

    Every link that involves a test-split problem is dropped first, so no
    such link labels a group, enters a group or chooses a setting. Train
    groups use only train-split candidates and links, and valid groups use
    train- and valid-split ones. ``tfidf_weight`` is the stage-1 weight of
    TF-IDF. When None, it is chosen by valid Recall@10 of the stage-1 sum.

    Raises
    ------
    ValueError
        When no train-split query has a link to another train-split problem.
    """
    links = _without_split_links(links, "test")
    if tfidf_weight is None:
        tfidf_weight, _ = choose_weight(
            catalogue,
            links,
            embedding_scores(embeddings, links.pool),
            tfidf_scores(catalogue, links.pool),
            TFIDF_WEIGHTS,
        )
    featurizer = PairFeaturizer(catalogue, links.pool, embeddings, tfidf_weight)
    train_x, train_y, train_sizes = build_groups(featurizer, links, "train", frozenset({"train"}))
    if not train_sizes or train_y.sum() == 0:
        raise ValueError(
            "no train-split query links another train-split problem, so there is nothing to train on"
        )
    valid_x, valid_y, valid_sizes = build_groups(featurizer, links, "valid", frozenset({"train", "valid"}))

    params = {**LGB_PARAMS, "seed": seed}
    train_set = lgb.Dataset(train_x, train_y, group=train_sizes, feature_name=list(FEATURE_NAMES))
    callbacks: list[Callable[..., Any]] = []
    valid_sets = []
    if valid_sizes and valid_y.sum() > 0:
        valid_sets.append(lgb.Dataset(valid_x, valid_y, group=valid_sizes, reference=train_set))
        callbacks.append(lgb.early_stopping(EARLY_STOPPING_ROUNDS, verbose=False))
    booster = lgb.train(
        params, train_set, num_boost_round=MAX_ROUNDS, valid_sets=valid_sets, callbacks=callbacks
    )
    best = booster.best_iteration if booster.best_iteration > 0 else booster.current_iteration()
    return SimilarRanker(featurizer, booster, best)


def candidate_recall(ranker: SimilarRanker, links: SimilarLinks, split: LinkSplit) -> float:
    """Mean share of each query's linked problems that stage 1 puts among the candidates."""
    recalls = []
    for query in links.queries(split):
        candidates, _, _ = ranker.featurizer.candidates_and_features(query)
        rows = set(ranker.featurizer.pool[candidates].tolist())
        linked = links.links[query]
        recalls.append(len(linked & rows) / len(linked))
    return float(np.mean(recalls)) if recalls else 0.0


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point: train the re-ranker and print it next to the baselines."""
    from ranking.index import EMBEDDINGS_FILE

    parser = argparse.ArgumentParser(description="Train and measure the similar-question re-ranker.")
    parser.add_argument("--artifacts", type=Path, default=Path("build/artifacts"), help="artifacts root")
    parser.add_argument("--seed", type=int, default=0, help="LightGBM seed (default: 0)")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    report = compare_methods(args.artifacts, None)
    catalogue = Catalogue.load(args.artifacts / CATALOGUE_DIR)
    links = load_links(catalogue)
    embeddings = np.load(args.artifacts / INDEX_DIR / EMBEDDINGS_FILE)
    ranker = train_similar_ranker(catalogue, links, embeddings, seed=args.seed)
    weight = ranker.featurizer.tfidf_weight
    method: dict[str, ScoreFunction] = {"reranker": ranker.scores}
    for split in ("valid", "test"):
        report[split].update(evaluate_similar(catalogue, links, method, split))

    print(
        f"TF-IDF weights chosen on valid: baseline {report['tfidf_weights']}, "
        f"re-ranker stage 1 {weight} (test links dropped). Boosting rounds: {ranker.best_iteration}"
    )
    splits: tuple[LinkSplit, ...] = ("valid", "test")
    for split in splits:
        print(f"{split:5} stage-1 candidate recall {candidate_recall(ranker, links, split):.3f}")
    for split in ("valid", "test"):
        for name, metrics in report[split].items():
            print(
                f"{split:5} {name:28} recall@10 {metrics['recall@10']:.3f}  "
                f"ndcg@10 {metrics['ndcg@10']:.3f}  mrr {metrics['mrr']:.3f}  "
                f"queries {metrics['queries']:.0f}"
            )
    print(f"total time {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
