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


def calibration_bins(
    probabilities: np.ndarray, outcomes: np.ndarray, bins: int = 10
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Group predictions into ``bins`` equal-width bins over [0, 1].

    Bin ``i`` contains the probabilities p with i/bins <= p < (i+1)/bins, and
    the last bin also contains 1.0. Returns the mean predicted probability, the observed rate of
    positive outcomes and the count per bin, each (bins,). Empty bins have
    NaN means and a count of 0.

    Raises
    ------
    ValueError
        When the inputs are empty, differ in length, or a probability is
        outside [0, 1], or when ``bins`` is below 1.
    """
    predicted = np.asarray(probabilities, dtype=np.float64).reshape(-1)
    observed = np.asarray(outcomes, dtype=np.float64).reshape(-1)
    if bins < 1:
        raise ValueError(f"bins must be at least 1, got {bins}")
    if predicted.size == 0:
        raise ValueError("probabilities is empty; calibration needs at least one prediction")
    if predicted.shape != observed.shape:
        raise ValueError(
            f"probabilities has {predicted.size} values but outcomes has {observed.size}; "
            "pass one outcome per prediction"
        )
    if not np.all((predicted >= 0.0) & (predicted <= 1.0)):
        raise ValueError("probabilities must lie in [0, 1] and not be NaN")

    index = np.minimum((predicted * bins).astype(np.int64), bins - 1)
    counts = np.bincount(index, minlength=bins)
    predicted_sum = np.bincount(index, weights=predicted, minlength=bins)
    observed_sum = np.bincount(index, weights=observed, minlength=bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_predicted = np.where(counts > 0, predicted_sum / counts, np.nan)
        observed_rate = np.where(counts > 0, observed_sum / counts, np.nan)
    return mean_predicted, observed_rate, counts


def expected_calibration_error(probabilities: np.ndarray, outcomes: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error: |observed rate - mean predicted| per bin, weighted by bin size.

    Bins are the equal-width bins of ``calibration_bins``; empty bins carry no
    weight. ``outcomes`` are 0 or 1 (or booleans) per prediction.
    """
    mean_predicted, observed_rate, counts = calibration_bins(probabilities, outcomes, bins)
    filled = counts > 0
    gaps = np.abs(observed_rate[filled] - mean_predicted[filled])
    return float(np.sum(gaps * counts[filled]) / np.sum(counts))


def roc_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve from ranks (the Mann-Whitney U statistic over n_pos * n_neg).

    Labels above 0 count as positive. Tied scores get the mean of their
    ranks, so a positive tied with a negative counts as half a correct pair.

    Raises
    ------
    ValueError
        When the inputs differ in length, a score is NaN or infinite, or the
        labels hold only one class.
    """
    values = np.asarray(scores, dtype=np.float64).reshape(-1)
    positive = np.asarray(labels).reshape(-1) > 0
    if values.shape != positive.shape:
        raise ValueError(
            f"scores has {values.size} values but labels has {positive.size}; pass one label per score"
        )
    if not np.all(np.isfinite(values)):
        raise ValueError("scores must be finite; found NaN or infinity")
    positives = int(positive.sum())
    negatives = positive.size - positives
    if positives == 0 or negatives == 0:
        raise ValueError(
            f"ROC AUC needs both classes, but the {positive.size} labels have {positives} positive "
            f"and {negatives} negative"
        )

    # Average 1-based ranks: a run of tied values occupying ranks first..last gets (first + last) / 2.
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    last = np.cumsum(counts)
    first = last - counts + 1
    ranks = ((first + last) / 2.0)[inverse]
    rank_sum = float(ranks[positive].sum())
    return (rank_sum - positives * (positives + 1) / 2.0) / (positives * negatives)


def reciprocal_rank(scores: np.ndarray, relevance: np.ndarray) -> float:
    """1 / rank of the most relevant item (the first of them in score order); 0 when none is relevant.

    With graded labels (3 for the next solve, 1 for later ones) this is the
    rank of the next solve, which is what MRR reports.
    """
    relevance = np.asarray(relevance, dtype=np.float64)
    if relevance.size == 0 or relevance.max() <= 0:
        return 0.0
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")
    best = relevance.max()
    rank = int(np.flatnonzero(relevance[order] == best)[0]) + 1
    return 1.0 / rank


def intra_list_diversity(tag_sets: list[frozenset[str]]) -> float:
    """Mean tag Jaccard distance over pairs of a list; pairs where neither item has tags are skipped.

    NaN when no pair counts (fewer than two items, or no tags at all).
    """
    distances: list[float] = []
    for i in range(len(tag_sets)):
        for j in range(i + 1, len(tag_sets)):
            union = tag_sets[i] | tag_sets[j]
            if union:
                distances.append(1.0 - len(tag_sets[i] & tag_sets[j]) / len(union))
    return float(np.mean(distances)) if distances else float("nan")
