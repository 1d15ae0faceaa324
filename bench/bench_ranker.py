"""Time the ONNX ranker against the native LightGBM booster on real candidate groups.

Usage::

    python -m bench.bench_ranker --artifacts build/artifacts [--groups 40] [--repeats 2000]

Candidate groups are built by the serving pipeline for real learners:
prefixes of the bundled Codeforces solve sequences and of the NeetCode 150
and A2OJ ladder lists. Both engines score the same float32 rows on one
thread: ``OnnxRanker.score`` (onnxruntime, as served) and
``lightgbm.Booster.predict(..., num_threads=1)`` on ``ranker.txt``. Each
timed call includes matching the columns to the model by name. Runs alternate
which engine goes first, so drift in machine load hits both. The result is
printed as a markdown table and written to the "Ranker: ONNX vs native
LightGBM" section of ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import shlex
import sys
import time
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path

# lightgbm is imported before usearch (pulled in by ranking.service through
# ranking.index): usearch 2.25+ with numkong breaks lightgbm when imported first.
import lightgbm as lgb  # isort: skip
import numpy as np

from bench.bench_encoder import DOC_PATH, REPO_ROOT, machine_description
from bench.report import section_body, update_section
from export.ranker_data import codeforces_examples, study_list_examples
from ranking.artifacts import RANKER_DIR
from ranking.features import FEATURE_NAMES, align_features
from ranking.ranker import RANKER_NATIVE, OnnxRanker
from ranking.service import Recommender
from ranking.types import LearnerProfile

SECTION = "Ranker: ONNX vs native LightGBM"
LIBRARIES = ("onnxruntime", "lightgbm", "numpy")
ONNX = "onnx"
NATIVE = "native"

ScoreFn = Callable[[np.ndarray], np.ndarray]


def learner_profiles(recommender: Recommender, data_dir: Path, count: int) -> list[LearnerProfile]:
    """Pick ``count`` real learners, evenly spread over the Codeforces and study-list prefixes."""
    catalogue = recommender.pipeline.catalogue
    examples = [
        *codeforces_examples(data_dir, catalogue, {"valid": 1}),
        *study_list_examples(data_dir, catalogue, 2),
    ]
    if len(examples) < count:
        raise SystemExit(f"the data has only {len(examples)} learner prefixes, fewer than --groups {count}")
    picks = np.linspace(0, len(examples) - 1, count).round().astype(int)
    return [examples[i].profile for i in picks]


def candidate_groups(recommender: Recommender, profiles: Sequence[LearnerProfile]) -> list[np.ndarray]:
    """Build each learner's candidate feature rows the way ``Recommender.recommend`` does."""
    pipeline = recommender.pipeline
    groups = []
    for profile in profiles:
        state = pipeline.state(profile, encode=recommender.encoder.encode)
        platforms = sorted({pipeline.lookup.platforms[item.position] for item in state.items}) or None
        candidates = pipeline.candidates(state, platforms)
        groups.append(pipeline.features(state, candidates).values)
    return groups


def time_alternating(
    engines: dict[str, ScoreFn], inputs: Sequence[np.ndarray], repeats: int
) -> dict[str, list[float]]:
    """Score ``inputs[r % len(inputs)]`` with every engine for each repeat ``r``, in milliseconds per call.

    The engine that goes first alternates between repeats. Garbage collection
    is paused while timing, as ``timeit`` does.
    """
    timings: dict[str, list[float]] = {name: [] for name in engines}
    names = list(engines)
    gc.collect()
    gc.disable()
    try:
        for repeat in range(repeats):
            rows = inputs[repeat % len(inputs)]
            for name in names if repeat % 2 == 0 else names[::-1]:
                started = time.perf_counter_ns()
                engines[name](rows)
                timings[name].append((time.perf_counter_ns() - started) / 1e6)
    finally:
        gc.enable()
    return timings


def score_parity(engines: dict[str, ScoreFn], groups: Sequence[np.ndarray]) -> tuple[float, int]:
    """Return the max absolute score difference and how many groups get the same top 10 from both."""
    difference = 0.0
    same_top = 0
    for rows in groups:
        onnx_scores = engines[ONNX](rows).astype(np.float64)
        native_scores = np.asarray(engines[NATIVE](rows), dtype=np.float64)
        difference = max(difference, float(np.max(np.abs(onnx_scores - native_scores))))
        onnx_top = np.argsort(-onnx_scores, kind="stable")[:10]
        native_top = np.argsort(-native_scores, kind="stable")[:10]
        same_top += int(np.array_equal(onnx_top, native_top))
    return difference, same_top


def render_table(measures: dict[str, dict[str, list[float]]]) -> list[str]:
    rows = [
        "| scoring call | ONNX p50 ms | ONNX p99 ms | native p50 ms | native p99 ms "
        "| ONNX/native p50 | ONNX/native p99 |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, timings in measures.items():
        onnx_p50, onnx_p99 = np.percentile(timings[ONNX], [50, 99])
        native_p50, native_p99 = np.percentile(timings[NATIVE], [50, 99])
        rows.append(
            f"| {label} | {onnx_p50:.3f} | {onnx_p99:.3f} | {native_p50:.3f} | {native_p99:.3f} "
            f"| {onnx_p50 / native_p50:.2f} | {onnx_p99 / native_p99:.2f} |"
        )
    return rows


def run(argv: list[str] | None = None) -> None:
    """Build the groups, time both engines, print the table and write the docs section."""
    args = _parse_args(argv)

    recommender = Recommender.from_artifacts(args.artifacts, threads=1)
    ranker = OnnxRanker.from_folder(args.artifacts / RANKER_DIR, threads=1)
    booster = lgb.Booster(model_file=str(args.artifacts / RANKER_DIR / RANKER_NATIVE))
    booster_names = tuple(booster.feature_name())
    if booster_names != ranker.feature_names:
        raise SystemExit(
            f"{RANKER_NATIVE} and the ONNX manifest list different features; rebuild with `make artifacts`"
        )

    def native_score(rows: np.ndarray) -> np.ndarray:
        aligned = align_features(rows, FEATURE_NAMES, booster_names)
        return np.asarray(booster.predict(aligned, num_threads=1))

    engines: dict[str, ScoreFn] = {ONNX: ranker.score, NATIVE: native_score}

    profiles = learner_profiles(recommender, args.data, args.groups)
    groups = candidate_groups(recommender, profiles)
    batch = np.concatenate(groups[: args.batch_groups])
    sizes = [len(rows) for rows in groups]
    mean_rows = float(np.mean(sizes))
    print(
        f"bench: {len(groups)} groups, mean {mean_rows:.0f} rows; "
        f"batch of {args.batch_groups} groups, {len(batch)} rows"
    )

    load_before = _load_average()
    for _ in range(args.warmup):  # warm-up: first-call allocations, not timed
        for score in engines.values():
            for rows in groups:
                score(rows)
            score(batch)
    single = time_alternating(engines, groups, args.repeats)
    print(f"bench: {args.repeats} single-group repeats done")
    batched = time_alternating(engines, [batch], args.batch_repeats)
    print(f"bench: {args.batch_repeats} batch repeats done")
    difference, same_top = score_parity(engines, groups)

    table = render_table(
        {
            f"one group (mean {mean_rows:.0f} rows)": single,
            f"batch of {args.batch_groups} groups ({len(batch)} rows, one call)": batched,
        }
    )
    summary = [
        f"{len(groups)} candidate groups built by the serving pipeline for real learners "
        f"(Codeforces, NeetCode 150 and A2OJ prefixes), {min(sizes)} to {max(sizes)} rows each. "
        f"The model has {booster.num_trees()} trees over {len(booster_names)} features; both engines "
        f"run on one thread. The single-group row cycles through all {len(groups)} groups over "
        f"{args.repeats} repeats; the batch row scores the first {args.batch_groups} groups stacked "
        f"into one call, {args.batch_repeats} repeats. Engines alternate which goes first, after "
        f"{args.warmup} untimed warm-up passes. A ratio below 1 means ONNX is faster.",
        "",
        *table,
        "",
        f"Max absolute score difference over all {sum(sizes)} rows: "
        f"{difference:.2e}; {same_top} of {len(groups)} groups get the same top 10 from both. "
        f"One-minute load average before the run {load_before}, after {_load_average()}.",
    ]
    print("\n".join(summary))

    command = _command_line(argv if argv is not None else sys.argv[1:])
    update_section(DOC_PATH, SECTION, section_body(command, _machine(), summary))
    print(f"bench: wrote the {SECTION!r} section of {DOC_PATH.relative_to(REPO_ROOT)}")


def _machine() -> list[str]:
    """Describe the CPU and OS as the encoder benchmark does, with this benchmark's libraries."""
    lines = [line for line in machine_description() if not line.startswith("- Python")]
    versions = ", ".join(f"{name} {metadata.version(name)}" for name in LIBRARIES)
    return [*lines, f"- Python {platform.python_version()}; {versions}"]


def _load_average() -> str:
    """Return the one-minute load average, which shows whether other work shared the CPU."""
    try:
        return f"{os.getloadavg()[0]:.2f}"
    except (OSError, AttributeError):  # AttributeError: no getloadavg on Windows
        return "unavailable"


def _command_line(argv: Sequence[str]) -> str:
    """Return the command as typed, with absolute paths replaced so no machine path is recorded."""
    arguments = [arg if not os.path.isabs(arg) else "<path>" for arg in argv]
    return " ".join(["python -m bench.bench_ranker", *map(shlex.quote, arguments)])


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Time the ONNX ranker against native LightGBM.")
    parser.add_argument(
        "--artifacts",
        type=Path,
        default=Path("build/artifacts"),
        help="artifacts root containing catalogue/, encoder/, index/ and ranker/ (default: build/artifacts)",
    )
    parser.add_argument(
        "--data", type=Path, default=Path("data"), help="bundled data folder with the learner sequences"
    )
    parser.add_argument(
        "--groups",
        type=int,
        default=40,
        help="real learners to build one candidate group each for (default: 40)",
    )
    parser.add_argument(
        "--batch-groups", type=int, default=20, help="groups stacked into one batch call (default: 20)"
    )
    parser.add_argument(
        "--repeats", type=int, default=2000, help="timed single-group calls per engine (default: 2000)"
    )
    parser.add_argument(
        "--batch-repeats", type=int, default=300, help="timed batch calls per engine (default: 300)"
    )
    parser.add_argument("--warmup", type=int, default=3, help="untimed passes over every input (default: 3)")
    args = parser.parse_args(argv)
    for name in ("groups", "batch_groups", "repeats", "batch_repeats", "warmup"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.batch_groups > args.groups:
        parser.error("--batch-groups must not exceed --groups")
    return args


if __name__ == "__main__":
    run()
