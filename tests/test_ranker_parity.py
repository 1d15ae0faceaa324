"""The served ONNX ranker against the native LightGBM booster it was converted from.

Both score the candidate rows that the serving pipeline builds for real
learners: Codeforces solve-sequence prefixes, study-list prefixes and a
goal-only learner with a target company.
"""

from __future__ import annotations

from pathlib import Path

# lightgbm is imported before usearch (pulled in by ranking.index): usearch
# 2.25+ with numkong breaks lightgbm when imported first.
import lightgbm as lgb  # isort: skip
import numpy as np
import pytest

from export.ranker_data import codeforces_examples, study_list_examples
from ranking.artifacts import RANKER_DIR
from ranking.features import FEATURE_NAMES, align_features
from ranking.ranker import RANKER_NATIVE
from ranking.service import Recommender
from ranking.types import LearnerProfile

MAX_ABS_DIFFERENCE = 1e-4
TOP_K = 10


@pytest.fixture(scope="module")
def feature_groups(recommender: Recommender, data_dir: Path) -> dict[str, np.ndarray]:
    """Candidate feature rows per learner, built as ``Recommender.recommend`` builds them."""
    pipeline = recommender.pipeline
    codeforces = list(codeforces_examples(data_dir, pipeline.catalogue, {"valid": 1}))
    study_lists = list(study_list_examples(data_dir, pipeline.catalogue, 2))
    profiles = {example.group: example.profile for example in [*codeforces[::8], *study_lists[::10]]}
    profiles["goal only"] = LearnerProfile(
        goal="get comfortable with sliding window and graphs", target_companies=("google",)
    )

    groups = {}
    for name, profile in profiles.items():
        state = pipeline.state(profile, encode=recommender.encoder.encode)
        platforms = sorted({pipeline.lookup.platforms[item.position] for item in state.items}) or None
        candidates = pipeline.candidates(state, platforms)
        groups[name] = pipeline.features(state, candidates).values
    return groups


@pytest.fixture(scope="module")
def booster(artifacts_dir: Path) -> lgb.Booster:
    return lgb.Booster(model_file=str(artifacts_dir / RANKER_DIR / RANKER_NATIVE))


def native_scores(booster: lgb.Booster, values: np.ndarray) -> np.ndarray:
    aligned = align_features(values, FEATURE_NAMES, tuple(booster.feature_name()))
    return np.asarray(booster.predict(aligned, num_threads=1), dtype=np.float64)


def test_groups_are_real_and_large(feature_groups: dict[str, np.ndarray]) -> None:
    assert len(feature_groups) >= 6
    for name, values in feature_groups.items():
        assert values.shape[0] >= 50, f"{name} has only {values.shape[0]} candidates"
        assert values.shape[1] == len(FEATURE_NAMES)


def test_booster_and_onnx_share_features(recommender: Recommender, booster: lgb.Booster) -> None:
    assert tuple(booster.feature_name()) == recommender.ranker.feature_names


def test_onnx_scores_match_native(
    recommender: Recommender, booster: lgb.Booster, feature_groups: dict[str, np.ndarray]
) -> None:
    for name, values in feature_groups.items():
        onnx = recommender.ranker.score(values).astype(np.float64)
        native = native_scores(booster, values)
        difference = float(np.max(np.abs(onnx - native)))
        assert difference <= MAX_ABS_DIFFERENCE, f"{name}: max abs difference {difference:.2e}"


def test_onnx_top10_matches_native(
    recommender: Recommender, booster: lgb.Booster, feature_groups: dict[str, np.ndarray]
) -> None:
    for name, values in feature_groups.items():
        onnx = recommender.ranker.score(values).astype(np.float64)
        native = native_scores(booster, values)
        onnx_top = np.argsort(-onnx, kind="stable")[:TOP_K].tolist()
        native_top = np.argsort(-native, kind="stable")[:TOP_K].tolist()
        assert onnx_top == native_top, f"{name}: top {TOP_K} rows differ"


def test_score_ignores_column_order(recommender: Recommender, feature_groups: dict[str, np.ndarray]) -> None:
    rng = np.random.default_rng(11)
    for name, values in feature_groups.items():
        order = rng.permutation(len(FEATURE_NAMES))
        assert order.tolist() != list(range(len(FEATURE_NAMES)))
        shuffled_names = tuple(FEATURE_NAMES[i] for i in order)
        expected = recommender.ranker.score(values)
        shuffled = recommender.ranker.score(values[:, order], shuffled_names)
        assert np.array_equal(shuffled, expected), f"{name}: scores changed with the column order"


def test_score_reads_columns_by_name(recommender: Recommender, feature_groups: dict[str, np.ndarray]) -> None:
    # Shuffled columns under the original names must change the scores, or the
    # order test above could not fail.
    values = next(iter(feature_groups.values()))
    order = np.random.default_rng(11).permutation(len(FEATURE_NAMES))
    expected = recommender.ranker.score(values)
    mislabelled = recommender.ranker.score(values[:, order], FEATURE_NAMES)
    assert not np.allclose(mislabelled, expected)


def threshold_rows(booster: lgb.Booster, rows: int = 4000) -> np.ndarray:
    """Rows whose every feature sits exactly on the float32 value of one of its split thresholds.

    These are the inputs where a float32 threshold rounded above LightGBM's
    float64 one sends the row the other way. A tenth of the cells are NaN.
    """
    thresholds: dict[int, list[float]] = {}

    def walk(node: dict) -> None:
        if "split_index" in node:
            thresholds.setdefault(node["split_feature"], []).append(float(node["threshold"]))
            walk(node["left_child"])
            walk(node["right_child"])

    for tree in booster.dump_model()["tree_info"]:
        walk(tree["tree_structure"])
    rng = np.random.default_rng(5)
    values = np.zeros((rows, booster.num_feature()), dtype=np.float32)
    for feature, found in thresholds.items():
        usable = np.asarray([value for value in found if abs(value) < 1e30])
        # LightGBM's +-1e-35 splits separate zero from the rest; zero is the real input there.
        usable = np.where(np.abs(usable) < 1e-30, 0.0, usable)
        values[:, feature] = usable[rng.integers(0, len(usable), rows)].astype(np.float32)
    values[rng.random(values.shape) < 0.1] = np.nan
    return values


def test_onnx_decides_like_native_on_every_threshold(recommender: Recommender, booster: lgb.Booster) -> None:
    # Before thresholds were rounded down, these rows differed by up to 1.3.
    rows = threshold_rows(booster)
    names = tuple(booster.feature_name())
    onnx = recommender.ranker.score(rows, names).astype(np.float64)
    native = np.asarray(booster.predict(rows.astype(np.float64), num_threads=1), dtype=np.float64)
    difference = float(np.max(np.abs(onnx - native)))
    assert difference <= MAX_ABS_DIFFERENCE, f"max abs difference {difference:.2e} on threshold rows"
