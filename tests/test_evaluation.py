"""The held-out evaluation and its report, run on the real artifacts and the real held-out data.

The report is built once per session with fewer Codeforces cuts per user
than the published report, to keep the suite short. Every number still
comes from the held-out splits. The floor: the served ranker beats every
baseline on NDCG@10 on every task.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightgbm  # noqa: F401  # isort: skip  (before usearch, see export/train_ranker.py)
import pytest

from export.evaluate import BASELINES, RANKER, main
from export.report import SIMILAR_MODEL, TASK_TITLES, write_report
from ranking.service import Recommender

PER_USER = 15
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="session")
def report(
    artifacts_dir: Path, data_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("report") / "evaluation.md"
    metrics = write_report(artifacts_dir, data_dir, out, None, PER_USER, map_sample=300)
    return out, metrics


@pytest.mark.parametrize("task", ["codeforces_next", "codeforces_cross_contest", "study_list"])
def test_served_ranker_beats_every_baseline(report: tuple[Path, dict[str, Any]], task: str) -> None:
    table = report[1]["tasks"][task]
    assert table[RANKER]["groups"] >= 50
    for baseline in BASELINES:
        assert table[RANKER]["ndcg@10"] > table[baseline]["ndcg@10"], (task, baseline, table)


def test_cross_contest_lead_is_large(report: tuple[Path, dict[str, Any]]) -> None:
    table = report[1]["tasks"]["codeforces_cross_contest"]
    best = max(table[name]["ndcg@10"] for name in BASELINES)
    assert table[RANKER]["ndcg@10"] >= 3 * best


def test_similar_problem_reranker_beats_every_other_method(report: tuple[Path, dict[str, Any]]) -> None:
    test_split = report[1]["similar_problems"]["test"]
    ours = test_split[SIMILAR_MODEL]["ndcg@10"]
    for method, row in test_split.items():
        if method != SIMILAR_MODEL:
            assert ours > row["ndcg@10"], (method, test_split)


def test_p_solve_is_calibrated_on_held_out_attempts(report: tuple[Path, dict[str, Any]]) -> None:
    calibration = report[1]["calibration"]
    assert calibration["attempts"] >= 500
    assert calibration["ece"] < 0.05
    assert calibration["auc"] > 0.6
    # A positive slope means a stronger learner solves more often.
    assert report[1]["solve_model"]["slope"] > 0


def test_evaluated_model_is_the_served_one(
    report: tuple[Path, dict[str, Any]], recommender: Recommender
) -> None:
    assert report[1]["model_version"] == recommender.model_version


def test_report_has_every_section_and_plot(report: tuple[Path, dict[str, Any]]) -> None:
    path, _ = report
    text = path.read_text()
    for title in TASK_TITLES.values():
        assert f"## {title}" in text
    for name in ("ndcg", "recall", "similar_recall", "calibration", "mmr_tradeoff", "map_pca", "map_tsne"):
        image = path.parent / path.stem / f"{name}.png"
        assert image.read_bytes()[:8] == PNG_MAGIC, name
        assert f"{path.stem}/{name}.png" in text


@pytest.mark.parametrize("value", ["0", "-3", "ten"])
def test_evaluate_rejects_bad_per_user(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        main(["--per-user", value])
    assert raised.value.code == 2
    error = capsys.readouterr().err
    assert "--per-user" in error
    assert "expected 1 or more" in error
