"""Measure how well a scoring method retrieves LeetCode's similar-question links.

A method maps a query's catalogue row to one score per problem of
``links.pool``, in pool order. For each query of a split, the query itself is
removed from the ranking and its linked problems are the relevant items
(binary relevance). The baselines here use no link labels: popularity, tag
overlap, TF-IDF over title and statement, and cosine between stored
embeddings.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from tqdm import tqdm

from export.similar_links import LinkSplit, SimilarLinks, load_links
from ranking.artifacts import CATALOGUE_DIR, INDEX_DIR
from ranking.catalogue import Catalogue
from ranking.metrics import ndcg_at_k, recall_at_k

if TYPE_CHECKING:
    from ranking.encoder import OnnxEncoder

ScoreFunction = Callable[[int], np.ndarray]


def evaluate_similar(
    catalogue: Catalogue,
    links: SimilarLinks,
    methods: Mapping[str, ScoreFunction],
    split: LinkSplit = "test",
    k: int = 10,
) -> dict[str, dict[str, float]]:
    """Rank the pool for every query of ``split`` with each method and average the metrics.

    Returns, per method name, ``recall@k``, ``ndcg@k`` (binary relevance),
    ``mrr`` (reciprocal rank of the first linked problem, over the whole
    ranking) and ``queries``. The query's own row never counts: it is dropped
    from the ranking before any metric is computed. ``catalogue`` is only
    checked against the pool, so a catalogue of another build raises early.

    Raises
    ------
    ValueError
        When ``k`` is below 1, the pool has rows outside ``catalogue``, or a
        method returns scores of the wrong shape.
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    if links.pool and max(links.pool) >= len(catalogue):
        raise ValueError(
            f"the link pool refers to row {max(links.pool)}, but the catalogue has "
            f"{len(catalogue)} rows. Load the links from this catalogue"
        )
    pool = np.asarray(links.pool, dtype=np.int64)
    queries = links.queries(split)

    results: dict[str, dict[str, float]] = {}
    for name, score in methods.items():
        recalls, ndcgs, reciprocal_ranks = [], [], []
        for query in queries:
            scores = np.asarray(score(query), dtype=np.float64)
            if scores.shape != pool.shape:
                raise ValueError(
                    f"method {name!r} returned scores of shape {scores.shape} for row {query}, "
                    f"expected {pool.shape} (one per pool problem)"
                )
            keep = pool != query
            relevance = np.isin(pool[keep], list(links.links[query])).astype(np.float64)
            kept_scores = scores[keep]
            recalls.append(recall_at_k(kept_scores, relevance, k))
            ndcgs.append(ndcg_at_k(kept_scores, relevance, k))
            reciprocal_ranks.append(_reciprocal_rank(kept_scores, relevance))
        results[name] = {
            f"recall@{k}": _mean(recalls),
            f"ndcg@{k}": _mean(ndcgs),
            "mrr": _mean(reciprocal_ranks),
            "queries": float(len(queries)),
        }

    return results


def _reciprocal_rank(scores: np.ndarray, relevance: np.ndarray) -> float:
    """1 / rank of the first relevant item, ties kept in pool order as the metrics do."""
    order = np.argsort(-scores, kind="stable")
    hits = np.flatnonzero(relevance[order] > 0)
    return 0.0 if hits.size == 0 else 1.0 / float(hits[0] + 1)


def _mean(values: Sequence[float]) -> float:
    return float(np.mean(values)) if values else 0.0


def popularity_scores(catalogue: Catalogue, pool: Sequence[int]) -> ScoreFunction:
    """Score every pool problem by its popularity, the same for every query (missing counts as 0)."""
    values = np.array([catalogue.problems[row].popularity or 0.0 for row in pool], dtype=np.float64)

    def score(query: int) -> np.ndarray:
        return values

    return score


def tag_overlap_scores(catalogue: Catalogue, pool: Sequence[int]) -> ScoreFunction:
    """Score pool problems by the Jaccard similarity of their tags with the query's tags."""
    tags = [frozenset(catalogue.problems[row].tags) for row in pool]
    vocabulary = sorted(set().union(*tags)) if tags else []
    column = {tag: i for i, tag in enumerate(vocabulary)}
    matrix = np.zeros((len(pool), len(vocabulary)), dtype=np.float64)
    for i, problem_tags in enumerate(tags):
        for tag in problem_tags:
            matrix[i, column[tag]] = 1.0
    sizes = matrix.sum(axis=1)

    def score(query: int) -> np.ndarray:
        query_vector = np.zeros(len(vocabulary), dtype=np.float64)
        for tag in catalogue.problems[query].tags:
            if tag in column:
                query_vector[column[tag]] = 1.0
        intersection = matrix @ query_vector
        union = sizes + query_vector.sum() - intersection
        return np.divide(intersection, union, out=np.zeros_like(intersection), where=union > 0)

    return score


def tfidf_scores(catalogue: Catalogue, pool: Sequence[int]) -> ScoreFunction:
    """Score pool problems by TF-IDF cosine over title and statement.

    The vectorizer is fitted on the pool's texts only and uses no links. A
    query outside the pool is transformed with the fitted vocabulary.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts = [_plain_text(catalogue, row) for row in pool]
    vectorizer = TfidfVectorizer(sublinear_tf=True, stop_words="english", min_df=2)
    matrix = vectorizer.fit_transform(texts)
    position = {row: i for i, row in enumerate(pool)}

    def score(query: int) -> np.ndarray:
        if query in position:
            query_vector = matrix[position[query]]
        else:
            query_vector = vectorizer.transform([_plain_text(catalogue, query)])
        return np.asarray((matrix @ query_vector.T).toarray()).ravel()

    return score


def embedding_scores(embeddings: np.ndarray, pool: Sequence[int]) -> ScoreFunction:
    """Score pool problems by cosine with the query, from unit-norm rows in catalogue order."""
    pool_vectors = np.asarray(embeddings[list(pool)], dtype=np.float32)

    def score(query: int) -> np.ndarray:
        return pool_vectors @ np.asarray(embeddings[query], dtype=np.float32)

    return score


def weighted_sum(parts: Sequence[tuple[ScoreFunction, float]]) -> ScoreFunction:
    """Combine score functions into the sum of each one's scores times its weight."""
    if not parts:
        raise ValueError("weighted_sum needs at least one (function, weight) pair")

    def score(query: int) -> np.ndarray:
        total = np.asarray(parts[0][0](query), dtype=np.float64) * parts[0][1]
        for part, weight in parts[1:]:
            total = total + weight * np.asarray(part(query), dtype=np.float64)
        return total

    return score


def _plain_text(catalogue: Catalogue, row: int) -> str:
    problem = catalogue.problems[row]
    return f"{problem.title} {problem.description}"


def choose_weight(
    catalogue: Catalogue,
    links: SimilarLinks,
    base: ScoreFunction,
    extra: ScoreFunction,
    weights: Sequence[float],
    k: int = 10,
) -> tuple[float, dict[float, float]]:
    """Pick the weight of ``extra`` in ``base + weight * extra`` by valid Recall@k only.

    Returns the chosen weight (the smallest one on a tie) and the valid
    Recall@k of every weight tried.
    """
    recalls = {
        weight: evaluate_similar(
            catalogue, links, {"sum": weighted_sum([(base, 1.0), (extra, weight)])}, "valid", k
        )["sum"][f"recall@{k}"]
        for weight in weights
    }
    best = max(recalls.values())
    return min(weight for weight, recall in recalls.items() if recall == best), recalls


def embed_pool_onnx(encoder: OnnxEncoder, catalogue: Catalogue, pool: Sequence[int]) -> np.ndarray:
    """Embed the pool problems with an int8 ONNX encoder, indexed by catalogue row.

    Dynamic int8 quantization scales activations per batch, so the fixed
    chunking here keeps the vectors, and the metrics, the same between callers.
    """
    from ranking.text import problem_text

    chunk = 256
    texts = [problem_text(catalogue.problems[row]) for row in pool]
    parts = [
        encoder.encode(texts[start : start + chunk])
        for start in tqdm(range(0, len(texts), chunk), desc="embed pool (int8)", unit="chunk")
    ]
    embeddings = np.zeros((len(catalogue), encoder.dim), dtype=np.float32)
    embeddings[list(pool)] = np.concatenate(parts)
    return embeddings


def compare_methods(artifacts: Path, finetuned: Path | None, k: int = 10) -> dict[str, Any]:
    """Measure every baseline, the zero-shot and fine-tuned encoders and their TF-IDF sums.

    Zero-shot vectors come from ``index/embeddings.npy``. The fine-tuned int8
    encoder in ``finetuned`` embeds the pool afresh. Each TF-IDF weight is
    chosen on the valid split, and both splits are reported.
    """
    from ranking.encoder import OnnxEncoder
    from ranking.index import EMBEDDINGS_FILE

    catalogue = Catalogue.load(artifacts / CATALOGUE_DIR)
    links = load_links(catalogue)
    pool = links.pool
    tfidf = tfidf_scores(catalogue, pool)
    methods: dict[str, ScoreFunction] = {
        "popularity": popularity_scores(catalogue, pool),
        "tag_overlap": tag_overlap_scores(catalogue, pool),
        "tfidf": tfidf,
        "zero_shot_int8": embedding_scores(np.load(artifacts / INDEX_DIR / EMBEDDINGS_FILE), pool),
    }
    if finetuned is not None:
        encoder = OnnxEncoder.from_folder(finetuned, threads=2)
        embeddings = embed_pool_onnx(encoder, catalogue, pool)
        methods["finetuned_int8"] = embedding_scores(embeddings, pool)

    weights = [round(0.1 * step, 1) for step in range(11)]
    chosen: dict[str, float] = {}
    for name in [name for name in ("zero_shot_int8", "finetuned_int8") if name in methods]:
        weight, _ = choose_weight(catalogue, links, methods[name], tfidf, weights, k)
        chosen[name] = weight
        methods[f"{name}+{weight}*tfidf"] = weighted_sum([(methods[name], 1.0), (tfidf, weight)])

    return {
        "tfidf_weights": chosen,
        **{split: evaluate_similar(catalogue, links, methods, split, k) for split in ("valid", "test")},
    }


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point: print each method's metrics on the valid and test splits."""
    parser = argparse.ArgumentParser(description="Measure retrieval of LeetCode similar-question links.")
    parser.add_argument("--artifacts", type=Path, default=Path("build/artifacts"), help="artifacts root")
    parser.add_argument(
        "--finetuned", type=Path, default=None, help="folder of a fine-tuned int8 encoder to include"
    )
    parser.add_argument("-k", type=int, default=10, help="cut-off rank for recall and NDCG (default: 10)")
    args = parser.parse_args(argv)
    report = compare_methods(args.artifacts, args.finetuned, args.k)
    print(f"TF-IDF weights chosen on valid: {report['tfidf_weights']}")
    for split in ("valid", "test"):
        for name, metrics in report[split].items():
            print(
                f"{split:5} {name:28} recall@{args.k} {metrics[f'recall@{args.k}']:.3f}  "
                f"ndcg@{args.k} {metrics[f'ndcg@{args.k}']:.3f}  mrr {metrics['mrr']:.3f}  "
                f"queries {metrics['queries']:.0f}"
            )


if __name__ == "__main__":
    main()
