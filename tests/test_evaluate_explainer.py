"""The explainer evaluation command: its learners, its figures and a small real run."""

from __future__ import annotations

from pathlib import Path

import pytest

from export.evaluate_explainer import (
    DEFAULT_PAIRS,
    PER_LEARNER,
    PairResult,
    evaluate_pairs,
    learners,
    summarise,
    write_report,
)
from ranking.explainer_prompt import Facts
from ranking.service import Recommender

FACTS = Facts(
    title="Two Sum",
    platform="LeetCode",
    difficulty_label="Easy",
    rating=1100,
    rating_estimated=True,
    topics=("array", "hash table"),
    related=(),
    weak_topics=(),
    new_topics=("hash table",),
    goal_topics=(),
    step_label="easier",
    level=1400,
    companies=(),
    review=False,
    already_solved=False,
)


def result(seconds: float, problems: list[str], generated: str = "Two Sum is easy.") -> PairResult:
    return PairResult(
        learner="learner",
        problem_id="leetcode:two-sum",
        facts=FACTS,
        generated=generated,
        problems=problems,
        template="It introduces hash table, which you have not practised yet.",
        template_problems=[],
        seconds=seconds,
        new_tokens=10,
        prompt_tokens=500,
    )


def test_learners_cover_the_default_pair_count(recommender: Recommender, data_dir: Path) -> None:
    # 120 learners with 2 picks each; the first version found only 92 learners and wrote 184 pairs.
    count = DEFAULT_PAIRS // PER_LEARNER
    found = learners(data_dir, recommender, count)
    assert len(found) == count
    names = [name for name, _ in found]
    assert any(name.startswith("neetcode") for name in names)
    assert sum(not name.startswith("neetcode") for name in names) == count // 2
    assert any(profile.target_companies for _, profile in found)
    assert all(profile.history for name, profile in found if not name.startswith("neetcode"))


def test_summary_counts_fallback_and_latency() -> None:
    results = [
        result(1.0, []),
        result(2.0, []),
        result(3.0, ["names the topic 'graph', which is not among the facts"]),
        result(4.0, ["names the topic 'dp', which is not among the facts"]),
    ]
    summary = summarise(results)
    assert summary["pairs"] == 4
    assert summary["faithful_before_fallback"] == pytest.approx(0.5)
    assert summary["fallback_rate"] == pytest.approx(0.5)
    assert summary["faithful_after_fallback"] == pytest.approx(1.0)
    assert summary["latency_p50_s"] == pytest.approx(3.0)
    assert summary["latency_p95_s"] == pytest.approx(4.0)
    assert summary["fallback_reasons"] == {"names the topic": 2}


def test_small_real_run_is_faithful_after_fallback(
    recommender: Recommender, data_dir: Path, tmp_path: Path
) -> None:
    results = evaluate_pairs(recommender, data_dir, 4)
    assert len(results) == 4
    summary = summarise(results)
    # Every shown text passes the check: the model's when it passed, else the template's.
    assert summary["faithful_after_fallback"] == 1.0
    report = tmp_path / "report.md"
    write_report(report, results, summary, "python -m export.evaluate_explainer --pairs 4")
    text = report.read_text()
    assert "| fallback rate (template shown instead) |" in text
    assert "## Samples" in text
