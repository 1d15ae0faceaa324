"""Diversity re-rank: maximal marginal relevance (MMR) over the ranker's top candidates.

The ranker scores each candidate on its own, so its top ten can be ten near
copies of one problem. MMR picks the list one item at a time, taking the
candidate with the best

    weight * relevance - (1 - weight) * (highest cosine to an item already picked)

where relevance is the ranker score scaled to 0..1 within the top
``POOL`` candidates. ``weight`` 1 keeps the ranker's order; lower values trade
relevance for variety. The report measures the trade-off on held-out data
and the service uses ``DEFAULT_WEIGHT``.
"""

from __future__ import annotations

import numpy as np

DEFAULT_WEIGHT = 0.9
POOL = 50


def mmr_order(
    scores: np.ndarray, vectors: np.ndarray, weight: float = DEFAULT_WEIGHT, pool: int = POOL
) -> np.ndarray:
    """Return every row index of ``scores``, best first, with the top ``pool`` re-ranked by MMR.

    ``vectors`` are the candidates' L2-normalised embeddings, one row per score.
    Rows past the pool keep the ranker's order.

    Raises
    ------
    ValueError
        When ``weight`` is outside 0..1 or the shapes disagree.
    """
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"the diversity weight must be between 0 and 1, got {weight}")
    scores = np.asarray(scores, dtype=np.float64)
    if vectors.shape[0] != scores.shape[0]:
        raise ValueError(f"{scores.shape[0]} scores but {vectors.shape[0]} vectors")
    order = np.argsort(-scores, kind="stable")
    if weight >= 1.0 or len(order) < 3:
        return order
    head, tail = order[:pool], order[pool:]
    relevance = scores[head]
    spread = relevance.max() - relevance.min()
    relevance = (relevance - relevance.min()) / spread if spread > 0 else np.ones_like(relevance)
    head_vectors = np.asarray(vectors[head], dtype=np.float64)
    similarity = head_vectors @ head_vectors.T
    closest = np.full(len(head), -np.inf)
    picked: list[int] = []
    free = np.ones(len(head), dtype=bool)
    for _ in range(len(head)):
        redundancy = np.where(np.isfinite(closest), closest, 0.0)
        value = np.where(free, weight * relevance - (1.0 - weight) * redundancy, -np.inf)
        best = int(np.argmax(value))
        picked.append(best)
        free[best] = False
        closest = np.maximum(closest, similarity[best])
    return np.concatenate([head[picked], tail])
