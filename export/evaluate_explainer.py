"""Evaluate the generative explainer on real (learner, recommendation) pairs.

Usage::

    python -m export.evaluate_explainer --artifacts build/artifacts [--pairs 240]
        [--out docs/explainer-evaluation.md]

Learners are real: held-out cuts of Codeforces solve sequences, and prefixes
of the NeetCode 150 list (every other one with the next pattern as its goal,
as in the ranker's evaluation). One NeetCode learner in three also names a
target company from a fixed rotation, so that company facts are exercised;
that field is the only one this command adds. The served recommender ranks
each learner's problems and the explainer writes an explanation for each of
the top ``per_learner`` picks, exactly as ``POST /explain`` would.

Reported: the share of generated texts the grounding check passes
(faithfulness before fallback), the fallback rate and its reasons, the
share of shown texts that pass the check (after fallback; the template must
pass it too), mean length in words, and latency p50/p95 of one explanation.
Sample outputs, passed and rejected, go to the markdown report.
"""

from __future__ import annotations

# Imported first on purpose: see the note in export/train_ranker.py.
import lightgbm  # noqa: F401  # isort: skip
import argparse
import collections
import json
import os
import platform
import statistics
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from export.ranker_data import codeforces_examples, study_list_examples
from ranking.explain import explain_template
from ranking.explainer_prompt import Facts, facts_from, render_facts
from ranking.grounding import check_explanation
from ranking.reasons import build_reasons
from ranking.service import Recommender
from ranking.types import LearnerProfile

COMPANY_ROTATION = ("Google", "Amazon", "Meta")
DEFAULT_PAIRS = 240
PER_LEARNER = 2
# Held-out cuts per Codeforces user: the data has 32 users, and half of the
# learners come from them.
CODEFORCES_CUTS_PER_USER = 4
# Long enough that no explanation is cut by time here: the evaluation measures
# quality and latency; the serving budget is checked against the latency.
EVAL_BUDGET_S = 30.0
SERVING_BUDGET_S = 3.0
SAMPLES = 12


@dataclass(frozen=True)
class PairResult:
    """One explanation: the facts, the generated text, the verdict and the timing."""

    learner: str
    problem_id: str
    facts: Facts
    generated: str
    problems: list[str]
    template: str
    template_problems: list[str]
    seconds: float
    new_tokens: int
    prompt_tokens: int

    @property
    def grounded(self) -> bool:
        return not self.problems

    @property
    def shown(self) -> str:
        return self.generated if self.grounded else self.template

    @property
    def shown_problems(self) -> list[str]:
        return [] if self.grounded else self.template_problems


def learners(data_dir: Path, recommender: Recommender, count: int) -> list[tuple[str, LearnerProfile]]:
    """Real learner profiles: half Codeforces held-out cuts, half NeetCode prefixes."""
    catalogue = recommender.pipeline.catalogue
    codeforces = [
        (example.group, example.profile)
        for example in codeforces_examples(data_dir, catalogue, {"test": CODEFORCES_CUTS_PER_USER})
        if example.profile.history
    ]
    neetcode: list[tuple[str, LearnerProfile]] = []
    for example in study_list_examples(data_dir, catalogue, 0):
        if not example.group.startswith("neetcode"):
            continue
        profile = example.profile
        if len(neetcode) % 3 == 2:
            company = COMPANY_ROTATION[len(neetcode) // 3 % len(COMPANY_ROTATION)]
            profile = LearnerProfile(history=profile.history, goal=profile.goal, target_companies=(company,))
        neetcode.append((example.group, profile))
    half = count // 2
    picked = _spread(codeforces, half)
    return picked + _spread(neetcode, count - len(picked))


def _spread(items: list[Any], count: int) -> list[Any]:
    if len(items) <= count:
        return items
    step = len(items) / count
    return [items[int(i * step)] for i in range(count)]


def evaluate_pairs(recommender: Recommender, data_dir: Path, pairs: int) -> list[PairResult]:
    """Explain the top picks of enough real learners to reach ``pairs`` explanations."""
    explainer = recommender.explainer
    if explainer is None:
        raise SystemExit("no explainer in the artifacts; build it with `make explainer` or `make artifacts`")
    pipeline = recommender.pipeline
    results: list[PairResult] = []
    profiles = learners(data_dir, recommender, -(-pairs // PER_LEARNER))
    for number, (name, profile) in enumerate(profiles, start=1):
        state = pipeline.state(profile, encode=recommender.encoder.encode)
        ranked = recommender.recommend(profile, k=PER_LEARNER, explain=False)
        for recommendation in ranked.recommendations:
            if len(results) >= pairs:
                break
            problem = recommendation.problem
            position = pipeline.catalogue.position(problem.id)
            reasons = build_reasons(state, position, pipeline.catalogue, pipeline.lookup, pipeline.embeddings)
            facts = facts_from(problem, reasons, state.company_names)
            written = explainer.explain(facts, EVAL_BUDGET_S)
            template = explain_template(problem, reasons, state.company_names)
            generation = written.generation
            results.append(
                PairResult(
                    learner=name,
                    problem_id=problem.id,
                    facts=facts,
                    generated=written.text,
                    problems=written.problems,
                    template=template,
                    template_problems=check_explanation(template, facts, explainer.vocabulary),
                    seconds=written.seconds,
                    new_tokens=0 if generation is None else len(generation.tokens),
                    prompt_tokens=0 if generation is None else generation.prompt_tokens,
                )
            )
        print(f"[{number}/{len(profiles)}] {len(results)} explanations", flush=True)
    return results


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


def summarise(results: list[PairResult]) -> dict[str, Any]:
    """Compute the figures the report states."""
    count = len(results)
    grounded = sum(result.grounded for result in results)
    shown_ok = sum(not result.shown_problems for result in results)
    seconds = [result.seconds for result in results]
    reasons: collections.Counter[str] = collections.Counter()
    for result in results:
        if result.problems:
            reasons[_reason_kind(result.problems[0])] += 1
    tokens = sum(result.new_tokens for result in results)
    return {
        "pairs": count,
        "learners": len({result.learner for result in results}),
        "faithful_before_fallback": grounded / count,
        "fallback_rate": 1 - grounded / count,
        "faithful_after_fallback": shown_ok / count,
        "mean_words_generated": statistics.fmean(len(result.generated.split()) for result in results),
        "mean_words_shown": statistics.fmean(len(result.shown.split()) for result in results),
        "latency_p50_s": _percentile(seconds, 0.5),
        "latency_p95_s": _percentile(seconds, 0.95),
        "within_serving_budget": sum(value <= SERVING_BUDGET_S for value in seconds) / count,
        "tokens_per_second": tokens / sum(seconds),
        "fallback_reasons": dict(reasons.most_common()),
    }


def _reason_kind(problem: str) -> str:
    """Group checker messages by their rule: the words before the quoted name."""
    for marker in (" '", " (", ";", " is "):
        if marker in problem:
            return problem.split(marker)[0]
    return problem


def write_report(path: Path, results: list[PairResult], summary: dict[str, Any], command: str) -> None:
    """Write the markdown report with the summary table and sample outputs."""
    load = os.getloadavg()[0]
    lines = [
        "# Explainer evaluation",
        "",
        "Written by the command below; do not edit by hand.",
        "",
        "```",
        command,
        "```",
        "",
        f"Run {datetime.now(UTC):%Y-%m-%d} on {platform.machine()} with {os.cpu_count()} logical cores "
        f"(load average {load:.2f} at the end), 2 onnxruntime threads.",
        "",
        f"{summary['pairs']} explanations for {summary['learners']} real learners: held-out cuts of "
        "Codeforces solve sequences and NeetCode 150 prefixes, the top "
        f"{PER_LEARNER} recommendations of each. One NeetCode learner in three names a target "
        f"company from the rotation {', '.join(COMPANY_ROTATION)}; nothing else is added.",
        "",
        "| measure | value |",
        "|---|---|",
        f"| generated texts the grounding check passes (faithful before fallback) | "
        f"{summary['faithful_before_fallback']:.1%} |",
        f"| fallback rate (template shown instead) | {summary['fallback_rate']:.1%} |",
        "| shown texts the grounding check passes (after fallback) | "
        f"{summary['faithful_after_fallback']:.1%} |",
        f"| mean words, generated | {summary['mean_words_generated']:.1f} |",
        f"| mean words, shown | {summary['mean_words_shown']:.1f} |",
        f"| latency of one explanation, p50 | {summary['latency_p50_s']:.2f} s |",
        f"| latency of one explanation, p95 | {summary['latency_p95_s']:.2f} s |",
        f"| explanations within the {SERVING_BUDGET_S:.0f} s serving budget | "
        f"{summary['within_serving_budget']:.1%} |",
        f"| decode and prefill, tokens generated per second | {summary['tokens_per_second']:.1f} |",
        "",
        "Why generated texts were rejected (first rule that fired):",
        "",
        "| rule | texts |",
        "|---|---|",
    ]
    lines += [f"| {kind} | {count} |" for kind, count in summary["fallback_reasons"].items()] or [
        "| none | 0 |"
    ]
    lines += ["", "## Samples", ""]
    passed = [result for result in results if result.grounded]
    rejected = [result for result in results if not result.grounded]
    picked = passed[: SAMPLES - SAMPLES // 3] + rejected[: SAMPLES // 3]
    for result in picked:
        verdict = "shown" if result.grounded else "rejected: " + "; ".join(result.problems[:2])
        lines += [
            f"### {result.problem_id} for {result.learner}",
            "",
            "Facts given to the model:",
            "",
            "```",
            render_facts(result.facts),
            "```",
            "",
            f"Generated ({verdict}):",
            "",
            f"> {result.generated}",
            "",
        ]
        if not result.grounded:
            lines += ["Shown instead (template):", "", f"> {result.template}", ""]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines).rstrip() + "\n")


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description="Evaluate the generative explainer on real learners.")
    parser.add_argument("--data", type=Path, default=Path("data"), help="bundled data folder")
    parser.add_argument("--artifacts", type=Path, default=Path("build/artifacts"), help="artifacts root")
    parser.add_argument("--pairs", type=int, default=DEFAULT_PAIRS, help="explanations to write (at least 1)")
    parser.add_argument("--threads", type=int, default=2, help="onnxruntime threads (default 2)")
    parser.add_argument(
        "--out", type=Path, default=Path("docs/explainer-evaluation.md"), help="markdown report"
    )
    parser.add_argument(
        "--json", type=Path, default=Path("build/evaluation/explainer.json"), help="summary JSON"
    )
    args = parser.parse_args(argv)
    if args.pairs < 1:
        parser.error(f"--pairs must be at least 1, got {args.pairs}")
    started = time.perf_counter()
    recommender = Recommender.from_artifacts(args.artifacts, threads=args.threads, load_explainer=True)
    results = evaluate_pairs(recommender, args.data, args.pairs)
    summary = summarise(results)
    command = (
        f"python -m export.evaluate_explainer --artifacts {args.artifacts} --pairs {args.pairs} "
        f"--out {args.out}"
    )
    write_report(args.out, results, summary, command)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))
    print(f"report written to {args.out} ({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
