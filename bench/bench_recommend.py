"""Latency of ``POST /recommend`` in-process: the ASGI app with the real recommender.

Usage::

    python -m bench.bench_recommend --artifacts build/artifacts [--requests 300] [--threads 2]

Requests go through the full ASGI stack (validation, ranking, explanations,
JSON) with Starlette's in-process test client, so no network time is
counted. Learners are real: prefixes of the bundled Codeforces solve
sequences and of the NeetCode 150 list, plus cold-start requests. The direct
``Recommender.recommend`` call is timed in the same run for comparison.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

from starlette.testclient import TestClient

from export.ranker_data import codeforces_examples, study_list_examples
from functions.app import create_app
from ranking.service import Recommender
from ranking.types import LearnerProfile


def _learners(recommender: Recommender, data_dir: Path, count: int) -> list[LearnerProfile]:
    catalogue = recommender.pipeline.catalogue
    examples = [
        *codeforces_examples(data_dir, catalogue, {"valid": 4}),
        *study_list_examples(data_dir, catalogue, 4),
    ]
    profiles = [example.profile for example in examples]
    profiles += [LearnerProfile(goal="dynamic programming on strings", target_companies=("google",))]
    profiles += [LearnerProfile()]
    return [profiles[i % len(profiles)] for i in range(count)]


def _body(profile: LearnerProfile) -> dict[str, object]:
    return {
        "history": [
            {"problem_id": item.problem_id, "status": item.status, "attempts": item.attempts}
            for item in profile.history
        ],
        "target_companies": list(profile.target_companies),
        "goal": profile.goal,
        "k": 10,
    }


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print a markdown table."""
    parser = argparse.ArgumentParser(description="Time POST /recommend in-process.")
    parser.add_argument("--artifacts", type=Path, default=Path("build/artifacts"))
    parser.add_argument("--data", type=Path, default=Path("data"))
    parser.add_argument("--requests", type=int, default=300, help="timed requests per path")
    parser.add_argument("--threads", type=int, default=2, help="onnxruntime intra-op threads")
    args = parser.parse_args(argv)

    recommender = Recommender.from_artifacts(args.artifacts, threads=args.threads)
    learners = _learners(recommender, args.data, args.requests)
    app = create_app(service_factory=lambda: recommender)
    timings: dict[str, list[float]] = {"POST /recommend (ASGI, in-process)": [], "Recommender.recommend": []}
    with TestClient(app) as client:
        for profile in learners[:20]:  # warm-up, not timed
            client.post("/recommend", json=_body(profile))
        for profile in learners:
            body = _body(profile)
            started = time.perf_counter()
            response = client.post("/recommend", json=body)
            timings["POST /recommend (ASGI, in-process)"].append(time.perf_counter() - started)
            if response.status_code != 200:
                raise SystemExit(f"request failed: {response.status_code} {response.text[:300]}")
            started = time.perf_counter()
            recommender.recommend(profile, k=10)
            timings["Recommender.recommend"].append(time.perf_counter() - started)

    machine = platform.processor() or platform.machine()
    print(f"machine: {machine}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"{args.requests} requests, k=10, onnxruntime threads={args.threads}\n")
    print("| path | p50 ms | p99 ms | mean ms |")
    print("|---|---|---|---|")
    summary = {}
    for name, values in timings.items():
        ms = [v * 1000 for v in values]
        summary[name] = {
            "p50": _percentile(ms, 0.5),
            "p99": _percentile(ms, 0.99),
            "mean": statistics.mean(ms),
        }
        row = summary[name]
        print(f"| {name} | {row['p50']:.1f} | {row['p99']:.1f} | {row['mean']:.1f} |")
    print("\n" + json.dumps(summary))


if __name__ == "__main__":
    main()
