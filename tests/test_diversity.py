"""The MMR diversity re-rank on hand-made vectors."""

from __future__ import annotations

import numpy as np
import pytest

from ranking.diversity import mmr_order


def _vectors() -> np.ndarray:
    # Rows 0 and 1 are the same direction; row 2 is orthogonal to both.
    return np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])


def test_weight_one_keeps_the_ranker_order() -> None:
    scores = np.array([0.9, 0.8, 0.1])
    assert mmr_order(scores, _vectors(), weight=1.0).tolist() == [0, 1, 2]


def test_lower_weight_moves_a_near_copy_down() -> None:
    # Relevance scaled to 0..1: [1.0, 0.875, 0.0]. Row 0 goes first. Then at weight 0.5:
    # row 1 scores 0.5 * 0.875 - 0.5 * 1.0 = -0.0625, row 2 scores 0.5 * 0.0 - 0.5 * 0.0 = 0.0, so row 2 wins.
    scores = np.array([0.9, 0.8, 0.1])
    assert mmr_order(scores, _vectors(), weight=0.5).tolist() == [0, 2, 1]
    # At weight 0.9 row 1 scores 0.9 * 0.875 - 0.1 * 1.0 = 0.6875 against 0.0 and keeps its place.
    assert mmr_order(scores, _vectors(), weight=0.9).tolist() == [0, 1, 2]


def test_rows_past_the_pool_keep_their_order() -> None:
    scores = np.array([0.9, 0.8, 0.1, 0.05])
    vectors = np.vstack([_vectors(), [[0.0, 1.0]]])
    order = mmr_order(scores, vectors, weight=0.5, pool=3)
    assert order.tolist() == [0, 2, 1, 3]


def test_bad_weight_and_shapes_are_refused() -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        mmr_order(np.array([1.0, 0.5]), np.eye(2), weight=1.5)
    with pytest.raises(ValueError, match="3 scores but 2 vectors"):
        mmr_order(np.array([1.0, 0.5, 0.2]), np.eye(2))
