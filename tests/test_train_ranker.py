"""Checks on the LightGBM training input: groups, labels, sampling and the parameter search."""

from __future__ import annotations

import lightgbm  # noqa: F401  # isort: skip  (before usearch, see export/train_ranker.py)
import numpy as np
import pytest

from export.exceptions import ExportError
from export.train_ranker import SEARCH_SPACE, _sample_rows, search_trials, validate_groups
from ranking.features import FEATURE_NAMES

WIDTH = len(FEATURE_NAMES)


def _rows(n: int) -> np.ndarray:
    return np.zeros((n, WIDTH), dtype=np.float32)


def test_valid_groups_pass() -> None:
    validate_groups(_rows(5), np.array([3, 0, 0, 1, 0]), [3, 2], "train")


@pytest.mark.parametrize(
    ("values", "labels", "sizes", "message"),
    [
        (_rows(5), np.array([3, 0, 0, 1, 0]), [3, 3], "add up to 6 rows but there are 5"),
        (_rows(5), np.array([3, 0, 0, 1, 0]), [5, 0], "must be positive"),
        (_rows(4), np.array([3, 0, 0, 1, 0]), [5], "shape"),
        (np.zeros((2, 3)), np.array([1, 0]), [2], "3 feature columns"),
        (_rows(2), np.array([1.5, 0.0]), [2], "whole numbers from 0 to 30"),
        (_rows(2), np.array([-1, 1]), [2], "whole numbers from 0 to 30"),
        (_rows(2), np.array([31, 0]), [2], "whole numbers from 0 to 30"),
        (_rows(2), np.array([0, 0]), [2], "no group has a relevant row"),
    ],
)
def test_bad_groups_say_what_is_wrong(
    values: np.ndarray, labels: np.ndarray, sizes: list[int], message: str
) -> None:
    with pytest.raises(ExportError, match=message):
        validate_groups(values, labels, sizes, "train")


def test_sampling_keeps_positives() -> None:
    labels = np.zeros(500, dtype=np.int32)
    labels[[7, 300, 499]] = [3, 1, 1]
    kept = _sample_rows(labels, "codeforces:user:10")
    assert {7, 300, 499} <= set(kept.tolist())
    assert len(kept) == 3 + 120
    assert np.array_equal(kept, _sample_rows(labels, "codeforces:user:10"))
    assert not np.array_equal(kept, _sample_rows(labels, "codeforces:user:11"))


def test_search_draws_distinct_settings_from_the_space() -> None:
    trials = search_trials(6, seed=11)
    assert trials == search_trials(6, seed=11)
    assert len({tuple(sorted(t.items())) for t in trials}) == 6
    for trial in trials:
        assert set(trial) == set(SEARCH_SPACE)
        assert all(trial[name] in SEARCH_SPACE[name] for name in trial)
