"""Latency of ``POST /recommend`` in-process: the ASGI app with the real recommender.

Usage::

    python -m bench.bench_recommend --artifacts build/artifacts [--requests 300] [--threads 2]

Requests go through the full ASGI stack (validation, ranking, explanations,
JSON) with httpx's ASGI transport, so no network time is
counted. Learners are real: prefixes of the bundled Codeforces solve
sequences and of the NeetCode 150 list, plus cold-start requests. The direct
``Recommender.recommend`` call is timed in the same run for comparison.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

import httpx
from fastapi import FastAPI

from bench.bench_encoder import DOC_PATH, machine_description
from bench.report import section_body, update_section
from export.ranker_data import codeforces_examples, study_list_examples
from functions.app import create_app
from ranking.service import Recommender
from ranking.types import LearnerProfile

SECTION = "/recommend in-process"
ASGI = "POST /recommend (ASGI app, in-process)"
DIRECT = "Recommender.recommend (direct call)"


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


async def _time_requests(
    app: FastAPI, recommender: Recommender, learners: list[LearnerProfile]
) -> dict[str, list[float]]:
    """Time each learner's request through the ASGI app, then as a direct call."""
    timings: dict[str, list[float]] = {ASGI: [], DIRECT: []}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        for profile in learners[:20]:  # warm-up, not timed
            await client.post("/recommend", json=_body(profile))
        for profile in learners:
            payload = _body(profile)
            started = time.perf_counter()
            response = await client.post("/recommend", json=payload)
            timings[ASGI].append(time.perf_counter() - started)
            if response.status_code != 200:
                raise SystemExit(f"request failed: {response.status_code} {response.text[:300]}")
            started = time.perf_counter()
            recommender.recommend(profile, k=10)
            timings[DIRECT].append(time.perf_counter() - started)
    return timings


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
    timings = asyncio.run(_time_requests(app, recommender, learners))

    milliseconds = {name: [v * 1000 for v in values] for name, values in timings.items()}
    rows = ["| path | p50 ms | p99 ms | mean ms |", "|---|---|---|---|"]
    for name, ms in milliseconds.items():
        p50, p99, mean = _percentile(ms, 0.5), _percentile(ms, 0.99), statistics.mean(ms)
        rows.append(f"| {name} | {p50:.1f} | {p99:.1f} | {mean:.1f} |")
    overhead = _percentile(milliseconds[ASGI], 0.5) - _percentile(milliseconds[DIRECT], 0.5)
    summary = [
        f"{args.requests} requests with k=10 and explanations, cycling through real learner "
        "profiles (Codeforces and NeetCode prefixes, a goal-only one and an empty one); "
        f"onnxruntime intra-op threads {args.threads}; 20 untimed warm-up requests. Each "
        "request is timed through the ASGI app and, right after, as a direct call.",
        "",
        *rows,
        "",
        f"The ASGI layer (validation, conversion, JSON) adds {overhead:.1f} ms at the median.",
    ]
    print("\n".join(summary))
    command = " ".join(["python -m bench.bench_recommend", *(argv if argv is not None else sys.argv[1:])])
    body = section_body(command, machine_description(), summary)
    update_section(DOC_PATH, SECTION, body)
    print(f"bench: wrote the {SECTION!r} section of docs/benchmarks.md")


if __name__ == "__main__":
    main()
