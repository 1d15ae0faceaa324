"""The time split of the real training data: no label or history of a later split reaches an earlier one."""

from __future__ import annotations

from pathlib import Path

import lightgbm  # noqa: F401  # isort: skip  (before usearch, see export/train_ranker.py)

import pytest

from export.ranker_data import (
    Split,
    codeforces_examples,
    goal_switch_examples,
    split_of,
    study_list_examples,
)
from export.train_ranker import (
    CODEFORCES_PER_USER,
    GOAL_SWITCH_GROUPS,
    GOAL_SWITCH_SEED,
    STUDY_LIST_PER_LIST,
)
from ranking.catalogue import Catalogue

ORDER: dict[Split, int] = {"train": 0, "valid": 1, "test": 2}


@pytest.fixture(scope="module")
def catalogue(catalogue_dir: Path) -> Catalogue:
    return Catalogue.load(catalogue_dir)


def _split_by_list_position(data_dir: Path, catalogue: Catalogue) -> dict[str, dict[str, Split]]:
    """Split of every problem of every study list, from its place in the list (all cuts kept)."""
    splits: dict[str, dict[str, Split]] = {}
    for example in study_list_examples(data_dir, catalogue, per_list=10_000):
        name = example.group.rsplit(":", 1)[0]
        answer = max(example.relevance, key=lambda pid: example.relevance[pid])
        splits.setdefault(name, {}).setdefault(answer, example.split)
    return splits


def test_study_list_labels_stay_in_their_split(data_dir: Path, catalogue: Catalogue) -> None:
    splits = _split_by_list_position(data_dir, catalogue)
    for example in study_list_examples(data_dir, catalogue, STUDY_LIST_PER_LIST):
        of_list = splits[example.group.rsplit(":", 1)[0]]
        for problem_id in example.relevance:
            assert ORDER[of_list[problem_id]] <= ORDER[example.split], (example.group, problem_id)


def test_goal_switch_reads_only_the_train_part(data_dir: Path, catalogue: Catalogue) -> None:
    neetcode = _split_by_list_position(data_dir, catalogue)["neetcode150"]
    examples = list(goal_switch_examples(data_dir, catalogue, GOAL_SWITCH_GROUPS, GOAL_SWITCH_SEED))
    assert len(examples) > GOAL_SWITCH_GROUPS // 2
    for example in examples:
        assert example.split == "train"
        for problem_id in [*example.relevance, *(item.problem_id for item in example.profile.history)]:
            assert neetcode[problem_id] == "train", (example.group, problem_id)


def test_codeforces_labels_stay_in_their_split(data_dir: Path, catalogue: Catalogue) -> None:
    per_user: dict[Split, int] = {**CODEFORCES_PER_USER, "test": 20}
    examples = list(codeforces_examples(data_dir, catalogue, per_user))
    # Each user's held-out labels; any training or validation label among them is a leak.
    held_out: dict[str, set[str]] = {}
    for example in examples:
        if example.split == "test":
            user = example.group.split(":")[1]
            held_out.setdefault(user, set()).update(example.relevance)
    assert held_out
    for example in examples:
        if example.split != "test":
            user = example.group.split(":")[1]
            assert not held_out.get(user, set()) & set(example.relevance), example.group


def test_split_of_boundaries() -> None:
    assert split_of(0.0) == "train"
    assert split_of(0.79) == "train"
    assert split_of(0.8) == "valid"
    assert split_of(0.9) == "test"
