"""Calibration and AUC metrics on hand-computed cases, and the report figures as real PNG files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from export.report_plots import plot_calibration, plot_embedding_maps, plot_metric_bars, plot_tradeoff
from ranking.metrics import calibration_bins, expected_calibration_error, roc_auc

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def assert_png(path: Path) -> None:
    data = path.read_bytes()
    assert len(data) > len(PNG_SIGNATURE), f"{path} is empty"
    assert data[: len(PNG_SIGNATURE)] == PNG_SIGNATURE, f"{path} does not start with the PNG signature"


def test_ece_two_bins() -> None:
    # Bin [0, 0.5): 0.1, 0.2 -> mean 0.15, observed 1/2, gap 0.35, weight 2/5.
    # Bin [0.5, 1]: 0.7, 0.8, 0.9 -> mean 0.8, observed 2/3, gap 0.1333, weight 3/5.
    # ECE = 0.4 * 0.35 + 0.6 * 0.1333 = 0.14 + 0.08 = 0.22.
    probabilities = np.array([0.1, 0.2, 0.7, 0.8, 0.9])
    outcomes = np.array([0, 1, 1, 1, 0])
    assert expected_calibration_error(probabilities, outcomes, bins=2) == pytest.approx(0.22)


def test_ece_with_empty_bins() -> None:
    # Ten bins, two filled. Bin 0: 0.05 -> observed 0, gap 0.05, weight 1/3.
    # Bin 9 gets both 1.0 values -> mean 1.0, observed 1/2, gap 0.5, weight 2/3.
    # ECE = 0.05 / 3 + 0.5 * 2 / 3 = 0.016667 + 0.333333 = 0.35.
    probabilities = np.array([0.05, 1.0, 1.0])
    outcomes = np.array([0, 1, 0])
    assert expected_calibration_error(probabilities, outcomes, bins=10) == pytest.approx(0.35)


def test_ece_perfect_calibration_is_zero() -> None:
    # One bin contains four predictions of 0.25 with one positive: observed 1/4, gap 0.
    probabilities = np.full(4, 0.25)
    outcomes = np.array([1, 0, 0, 0])
    assert expected_calibration_error(probabilities, outcomes) == pytest.approx(0.0)


def test_calibration_bins_counts_and_empty_bins() -> None:
    mean_predicted, observed_rate, counts = calibration_bins(
        np.array([0.05, 1.0, 1.0]), np.array([0, 1, 0]), bins=10
    )
    assert counts.tolist() == [1, 0, 0, 0, 0, 0, 0, 0, 0, 2]
    assert mean_predicted[9] == pytest.approx(1.0)
    assert observed_rate[9] == pytest.approx(0.5)
    assert np.isnan(mean_predicted[1])
    assert np.isnan(observed_rate[1])


def test_calibration_rejects_probability_above_one() -> None:
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        expected_calibration_error(np.array([0.5, 1.2]), np.array([0, 1]))


def test_calibration_rejects_length_mismatch() -> None:
    with pytest.raises(ValueError, match="one outcome per prediction"):
        expected_calibration_error(np.array([0.5, 0.6]), np.array([1]))


def test_auc_without_ties() -> None:
    # Positives 0.35 and 0.8, negatives 0.1 and 0.4: 0.35 > 0.1, 0.35 < 0.4, 0.8 beats both,
    # so 3 of 4 pairs are ordered correctly: AUC = 0.75.
    # By ranks: 0.1 -> 1, 0.35 -> 2, 0.4 -> 3, 0.8 -> 4; (2 + 4 - 2 * 3 / 2) / (2 * 2) = 3 / 4.
    scores = np.array([0.1, 0.4, 0.35, 0.8])
    labels = np.array([0, 0, 1, 1])
    assert roc_auc(scores, labels) == pytest.approx(0.75)


def test_auc_averages_tied_ranks() -> None:
    # Positive 0.5 ties negative 0.5 (half a pair) and beats 0.2 (one pair); positive 0.9 beats both.
    # AUC = (0.5 + 1 + 2) / 4 = 0.875. By ranks: 0.2 -> 1, both 0.5 -> 2.5, 0.9 -> 4;
    # (2.5 + 4 - 3) / 4 = 0.875.
    scores = np.array([0.5, 0.5, 0.2, 0.9])
    labels = np.array([1, 0, 0, 1])
    assert roc_auc(scores, labels) == pytest.approx(0.875)


def test_auc_all_scores_tied_is_half() -> None:
    assert roc_auc(np.zeros(5), np.array([1, 0, 1, 0, 0])) == pytest.approx(0.5)


def test_auc_reversed_order_is_zero() -> None:
    assert roc_auc(np.array([0.9, 0.8, 0.2, 0.1]), np.array([0, 0, 1, 1])) == pytest.approx(0.0)


def test_auc_one_class_raises() -> None:
    with pytest.raises(ValueError, match="needs both classes"):
        roc_auc(np.array([0.1, 0.7, 0.3]), np.array([1, 1, 1]))
    with pytest.raises(ValueError, match="needs both classes"):
        roc_auc(np.array([0.1, 0.7, 0.3]), np.array([0, 0, 0]))


def test_auc_rejects_nan_score() -> None:
    with pytest.raises(ValueError, match="finite"):
        roc_auc(np.array([0.1, np.nan]), np.array([0, 1]))


RESULTS = {
    "codeforces": {
        "ranker": {"ndcg@10": 0.41, "recall@10": 0.55},
        "popularity": {"ndcg@10": 0.12, "recall@10": 0.2},
    },
    "neetcode": {
        "ranker": {"ndcg@10": 0.62},
        "popularity": {"ndcg@10": 0.3},
        "similarity": {"ndcg@10": 0.35},
    },
}


def test_metric_bars_write_png(tmp_path: Path) -> None:
    path = plot_metric_bars(RESULTS, "ndcg@10", tmp_path / "bars.png")
    assert path == tmp_path / "bars.png"
    assert_png(path)


def test_metric_bars_are_deterministic(tmp_path: Path) -> None:
    first = plot_metric_bars(RESULTS, "recall@10", tmp_path / "first.png")
    second = plot_metric_bars(RESULTS, "recall@10", tmp_path / "second.png")
    assert first.read_bytes() == second.read_bytes()


def test_metric_bars_unknown_metric_raises(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="mrr"):
        plot_metric_bars(RESULTS, "mrr", tmp_path / "bars.png")


def test_calibration_plot_writes_png(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    probabilities = rng.uniform(size=200)
    outcomes = (rng.uniform(size=200) < probabilities).astype(int)
    path = plot_calibration(probabilities, outcomes, tmp_path / "calibration.png", bins=8)
    assert_png(path)


def test_embedding_maps_write_two_pngs(tmp_path: Path) -> None:
    # 60 rows over 12 topics, so the two rarest fall into "other".
    rng = np.random.default_rng(5)
    embeddings = rng.normal(size=(60, 16)).astype(np.float32)
    topics = [f"topic {row % 12}" for row in range(60)]
    pca_path, tsne_path = plot_embedding_maps(
        embeddings, topics, tmp_path / "pca.png", tmp_path / "tsne.png", seed=1
    )
    assert pca_path == tmp_path / "pca.png"
    assert tsne_path == tmp_path / "tsne.png"
    assert_png(pca_path)
    assert_png(tsne_path)


def test_embedding_maps_reject_topic_count_mismatch(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="topics"):
        plot_embedding_maps(np.zeros((5, 4)), ["a"] * 4, tmp_path / "pca.png", tmp_path / "tsne.png")


def test_tradeoff_writes_png(tmp_path: Path) -> None:
    points = [(0.41, 0.52, "w=0"), (0.40, 0.58, "w=0.2"), (0.37, 0.66, "w=0.5")]
    path = plot_tradeoff(points, "NDCG@10", "intra-list diversity", tmp_path / "tradeoff.png")
    assert_png(path)


def test_tradeoff_rejects_no_points(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="empty"):
        plot_tradeoff([], "NDCG@10", "intra-list diversity", tmp_path / "tradeoff.png")
