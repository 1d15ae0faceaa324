"""Ranking metrics checked against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ranking.metrics import intra_list_diversity, ndcg_at_k, recall_at_k, reciprocal_rank


def test_ndcg_perfect_order_is_one() -> None:
    assert ndcg_at_k(np.array([3.0, 2.0, 1.0]), np.array([3, 1, 0]), k=3) == pytest.approx(1.0)


def test_ndcg_single_relevant_at_rank_two() -> None:
    # Gains (2^rel - 1): ranked [0, 1] -> DCG = 0/log2(2) + 1/log2(3) = 0.6309; ideal DCG = 1/log2(2) = 1.
    value = ndcg_at_k(np.array([0.9, 0.5, 0.1]), np.array([0, 1, 0]), k=3)
    assert value == pytest.approx(1 / math.log2(3))


def test_ndcg_graded_relevance() -> None:
    # Ranked relevance [1, 3, 0]: DCG = 1/1 + 7/log2(3) = 5.4165.
    # Ideal [3, 1, 0]: 7/1 + 1/log2(3) = 7.6309. NDCG = 0.7098.
    value = ndcg_at_k(np.array([3.0, 2.0, 1.0]), np.array([1, 3, 0]), k=3)
    expected = (1 + 7 / math.log2(3)) / (7 + 1 / math.log2(3))
    assert value == pytest.approx(expected)
    assert value == pytest.approx(0.7098, abs=1e-4)


def test_ndcg_cut_at_k() -> None:
    # The only relevant item is ranked third, outside k=2.
    assert ndcg_at_k(np.array([3.0, 2.0, 1.0]), np.array([0, 0, 1]), k=2) == 0.0


def test_ndcg_no_relevant_item_is_zero() -> None:
    assert ndcg_at_k(np.array([1.0, 2.0]), np.array([0, 0]), k=10) == 0.0


def test_ndcg_ties_keep_input_order() -> None:
    # Equal scores: the stable sort keeps [rel 0, rel 1], so DCG = 1/log2(3).
    assert ndcg_at_k(np.array([1.0, 1.0]), np.array([0, 1]), k=2) == pytest.approx(1 / math.log2(3))


def test_recall_counts_relevant_in_top_k() -> None:
    # Relevant items at ranks 1 and 4 of 4; k=2 finds one of two.
    scores = np.array([0.9, 0.8, 0.7, 0.1])
    assert recall_at_k(scores, np.array([1, 0, 0, 1]), k=2) == pytest.approx(0.5)
    assert recall_at_k(scores, np.array([1, 0, 0, 1]), k=4) == pytest.approx(1.0)
    assert recall_at_k(scores, np.array([0, 0, 0, 0]), k=4) == 0.0


def test_reciprocal_rank_finds_the_most_relevant_item() -> None:
    # Order by score: [rel 1, rel 0, rel 3]; the next solve (rel 3) is third, so 1/3.
    scores = np.array([0.9, 0.5, 0.2])
    assert reciprocal_rank(scores, np.array([1, 0, 3])) == pytest.approx(1 / 3)
    assert reciprocal_rank(scores, np.array([0, 0, 0])) == 0.0


def test_intra_list_diversity_averages_tag_distances() -> None:
    # Pairs: {a,b}-{a} Jaccard 1/2 -> distance 0.5; {a,b}-{c} -> 1.0; {a}-{c} -> 1.0. Mean 2.5 / 3.
    lists = [frozenset({"a", "b"}), frozenset({"a"}), frozenset({"c"})]
    assert intra_list_diversity(lists) == pytest.approx(2.5 / 3)
    # Two untagged items give no pair that counts.
    assert math.isnan(intra_list_diversity([frozenset(), frozenset()]))
