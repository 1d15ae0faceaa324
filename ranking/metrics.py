"""Ranking metrics for one query group."""

from __future__ import annotations

import numpy as np


def dcg(relevance: np.ndarray) -> float:
    """Discounted cumulative gain with the exponential gain 2^rel - 1 and log2(rank + 1) discount."""
    ranks = np.arange(1, len(relevance) + 1)
    return float(np.sum((np.power(2.0, relevance) - 1.0) / np.log2(ranks + 1)))


def ndcg_at_k(scores: np.ndarray, relevance: np.ndarray, k: int) -> float:
    """NDCG@k of ``scores`` against graded ``relevance`` (both (n,)); 0 when nothing is relevant.

    Ties in ``scores`` keep the input order (stable sort), so the result is deterministic.
    """
    relevance = np.asarray(relevance, dtype=np.float64)
    ideal = dcg(np.sort(relevance)[::-1][:k])
    if ideal == 0.0:
        return 0.0
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")[:k]
    return dcg(relevance[order]) / ideal


def recall_at_k(scores: np.ndarray, relevance: np.ndarray, k: int) -> float:
    """Share of relevant items (relevance > 0) ranked in the top ``k``; 0 when none is relevant."""
    relevant = np.asarray(relevance) > 0
    total = int(relevant.sum())
    if total == 0:
        return 0.0
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")[:k]
    return float(relevant[order].sum()) / total
