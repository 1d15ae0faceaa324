"""The similar-links split and the retrieval metrics computed over it.

The split checks run on the real catalogue. The metric checks use a pool of
five hand-made problems whose expected values are worked out in comments.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from export.similar_eval import (
    embedding_scores,
    evaluate_similar,
    popularity_scores,
    tag_overlap_scores,
    tfidf_scores,
)
from export.similar_links import SimilarLinks, link_split, load_links
from ranking.catalogue import Catalogue, Problem
from tests.problems import make_problem


@pytest.fixture(scope="module")
def real_catalogue(catalogue_dir: Path) -> Catalogue:
    return Catalogue.load(catalogue_dir)


@pytest.fixture(scope="module")
def real_links(real_catalogue: Catalogue) -> SimilarLinks:
    return load_links(real_catalogue)


def _problem(number: int, title: str, tags: tuple[str, ...], popularity: float) -> Problem:
    return make_problem(
        f"leetcode:p{number}",
        "leetcode",
        title=title,
        difficulty_label="Easy",
        tags=tags,
        popularity=popularity,
    )


@pytest.fixture
def tiny() -> tuple[Catalogue, SimilarLinks]:
    """Five problems: rows 0 and 1 are test queries, row 0 links rows 1 and 3, row 1 links row 0."""
    problems = [
        _problem(0, "two sum", ("array", "hash table"), 5.0),
        _problem(1, "three sum", ("array", "two pointers"), 4.0),
        _problem(2, "word ladder", ("graph",), 3.0),
        _problem(3, "four sum", ("array", "hash table"), 2.0),
        _problem(4, "tree paths", ("tree",), 1.0),
    ]
    links = SimilarLinks(
        pool=(0, 1, 2, 3, 4),
        links={0: frozenset({1, 3}), 1: frozenset({0}), 3: frozenset({0})},
        split={0: "test", 1: "test", 2: "train", 3: "train", 4: "train"},
    )
    return Catalogue(problems), links


def test_train_pairs_hold_no_test_problem(real_catalogue: Catalogue, real_links: SimilarLinks) -> None:
    test_rows = {row for row, split in real_links.split.items() if split == "test"}
    train_pairs = real_links.pairs("train")

    assert len(train_pairs) > 100
    assert len(test_rows) > 100
    assert not [pair for pair in train_pairs if pair[0] in test_rows or pair[1] in test_rows]
    for left, right in train_pairs:
        assert link_split(real_catalogue.problems[left].id) == "train"
        assert link_split(real_catalogue.problems[right].id) == "train"


def test_splits_are_disjoint_and_cover_pool(real_links: SimilarLinks) -> None:
    queries = {split: set(real_links.queries(split)) for split in ("train", "valid", "test")}

    assert set(real_links.split) == set(real_links.pool)
    assert not queries["train"] & queries["test"]
    assert not queries["valid"] & queries["test"]
    assert not queries["train"] & queries["valid"]
    assert len(queries["test"]) > 100


def test_links_are_symmetric(real_links: SimilarLinks) -> None:
    for row, others in real_links.links.items():
        assert row not in others
        for other in others:
            assert row in real_links.links[other]


def test_evaluate_similar_tiny_case(tiny: tuple[Catalogue, SimilarLinks]) -> None:
    catalogue, links = tiny
    # Scores over the pool rows 0..4. The query's own row is dropped first.
    fixed = np.array([0.9, 0.1, 0.8, 0.5, 0.3])

    result = evaluate_similar(catalogue, links, {"fixed": lambda query: fixed}, split="test", k=2)

    # Query 0, relevant {1, 3}. Others ranked by score: 2 (0.8), 3 (0.5), 4 (0.3), 1 (0.1).
    #   recall@2 = 1 hit (row 3) of 2 relevant = 0.5
    #   DCG@2 = 0 / log2(2) + 1 / log2(3) = 0.63093; ideal = 1 + 1 / log2(3) = 1.63093
    #   NDCG@2 = 0.63093 / 1.63093 = 0.38685; first hit at rank 2, so RR = 1/2
    # Query 1, relevant {0}. Ranked: 0 (0.9), 2, 3, 4.
    #   recall@2 = 1, NDCG@2 = 1, RR = 1
    # Means over the 2 test queries: recall 0.75, NDCG 0.69343, MRR 0.75.
    metrics = result["fixed"]
    assert metrics["queries"] == 2
    assert metrics["recall@2"] == pytest.approx(0.75)
    assert metrics["ndcg@2"] == pytest.approx((1 / np.log2(3) / (1 + 1 / np.log2(3)) + 1) / 2)
    assert metrics["ndcg@2"] == pytest.approx(0.69343, abs=1e-5)
    assert metrics["mrr"] == pytest.approx(0.75)


def test_evaluate_similar_excludes_query(tiny: tuple[Catalogue, SimilarLinks]) -> None:
    catalogue, links = tiny

    # Each query scores itself highest; that row must not take a top-k place.
    def self_first(query: int) -> np.ndarray:
        scores = np.array([0.0, 0.0, 0.0, 0.5, 0.0])
        scores[query] = 10.0
        if query == 1:
            scores[0] = 1.0
        return scores

    result = evaluate_similar(catalogue, links, {"self": self_first}, split="test", k=1)

    # Query 0: top-1 of the others is row 3 (0.5), 1 of 2 relevant -> 0.5.
    # Query 1: top-1 is row 0 (1.0), its only link -> 1.0. Mean 0.75.
    assert result["self"]["recall@1"] == pytest.approx(0.75)


def test_evaluate_similar_rejects_wrong_shape(tiny: tuple[Catalogue, SimilarLinks]) -> None:
    catalogue, links = tiny

    with pytest.raises(ValueError, match="shape"):
        evaluate_similar(catalogue, links, {"short": lambda query: np.zeros(3)})


def test_baseline_scores_on_tiny_pool(tiny: tuple[Catalogue, SimilarLinks]) -> None:
    catalogue, links = tiny
    embeddings = np.eye(5, dtype=np.float32)

    popularity = popularity_scores(catalogue, links.pool)(0)
    tags = tag_overlap_scores(catalogue, links.pool)(0)
    tfidf = tfidf_scores(catalogue, links.pool)(0)
    cosine = embedding_scores(embeddings, links.pool)(2)

    np.testing.assert_allclose(popularity, [5.0, 4.0, 3.0, 2.0, 1.0])
    # {array, hash table} against each row: 2/2, 1/3, 0/3, 2/2, 0/3.
    np.testing.assert_allclose(tags, [1.0, 1 / 3, 0.0, 1.0, 0.0])
    assert tfidf.shape == (5,)
    assert tfidf[0] == pytest.approx(1.0)
    assert tfidf[1] > tfidf[2]
    np.testing.assert_allclose(cosine, [0.0, 0.0, 1.0, 0.0, 0.0])
