"""Time the int4 explainer against an int8 build and a plain optimum fp32 export, at 1 and 2 threads.

Usage::

    python -m bench.bench_explainer --artifacts build/artifacts [--threads 1 2] [--prompts 6]

The int4 model is the serving artifact (``explainer/`` under the artifacts
root). The int8 and fp32 variants are built on first use into
``build/explainer-variants`` by ``export/explainer_variants.py``. All three
run the serving decoding loop (``ranking/generate.py``): greedy, at most 80
new tokens, with the KV cache of the static prompt prefix computed once
after loading, as ``ranking/explainer.py`` does.

For each thread count every variant is loaded, its prefix cache computed,
and then the same explanation prompts go to each variant in turn. The order
of the variants flips from one prompt to the next, so drift in machine load
hits all of them. At the largest thread count the int4 model also runs
without the prefix cache, to show what the cache saves. The result is
printed as a markdown table and written to the "Explainer: int4 vs int8 vs
optimum fp32" section of ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import shlex
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from tokenizers import Tokenizer

from bench.bench_encoder import DOC_PATH, REPO_ROOT, machine_description
from bench.report import section_body, update_section
from export.explainer_variants import (
    DEFAULT_HF_DIR,
    DEFAULT_VARIANTS_DIR,
    INT8,
    OPTIMUM_FP32,
    build_int8,
    build_optimum_fp32,
    read_variant_details,
)
from ranking.artifacts import read_manifest
from ranking.explainer import DEFAULT_MAX_NEW_TOKENS, EXPLAINER_DIR, MODEL_FILE, TOKENIZER_FILE
from ranking.explainer_prompt import STATIC_PREFIX, Facts, build_prompt
from ranking.generate import DecoderSpec, Generation, KVCache, OnnxDecoder, generate, prefix_cache

SECTION = "Explainer: int4 vs int8 vs optimum fp32"
LIBRARIES = ("onnxruntime", "tokenizers", "numpy", "optimum-onnx", "transformers", "torch")
# The int4 folder of a manual builder run, used while the artifacts root has no explainer yet.
FALLBACK_INT4_DIR = Path("build/explainer-src/int4")
# Qwen2.5-0.5B: 24 layers, 2 key-value heads of 64 dimensions. The artifact's manifest overrides these.
DEFAULT_SPEC = DecoderSpec(layers=24, kv_heads=2, head_size=64)
# <|im_end|> and <|endoftext|> in the Qwen2.5 vocabulary.
DEFAULT_STOP_IDS = frozenset({151645, 151643})
# The latency aim for one explanation with int4 on 2 threads.
TARGET_SECONDS = 1.2
TARGET_THREADS = 2
INT4 = "int4"
INT4_NO_CACHE = "int4, no prefix cache"
VARIANT_LABELS = {INT4: "int4", INT8: "int8", OPTIMUM_FP32: "optimum fp32"}

PROMPT_FACTS: tuple[Facts, ...] = (
    Facts(
        title="House Robber",
        platform="LeetCode",
        difficulty_label="Medium",
        rating=1450,
        rating_estimated=True,
        topics=("dynamic programming",),
        related=(("Climbing Stairs", "solved"),),
        weak_topics=("dynamic programming",),
        new_topics=(),
        goal_topics=(),
        step_label="same level",
        level=1400,
        companies=("Amazon", "Cisco"),
        review=False,
        already_solved=False,
    ),
    Facts(
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
        level=1250,
        companies=("Amazon", "Google", "Apple"),
        review=False,
        already_solved=False,
    ),
    Facts(
        title="Merge k Sorted Lists",
        platform="LeetCode",
        difficulty_label="Hard",
        rating=2100,
        rating_estimated=True,
        topics=("linked list", "divide and conquer", "heap"),
        related=(("Merge Two Sorted Lists", "solved"),),
        weak_topics=(),
        new_topics=("divide and conquer",),
        goal_topics=("heap",),
        step_label="big step up",
        level=1600,
        companies=("Amazon", "Facebook", "Microsoft"),
        review=False,
        already_solved=False,
    ),
    Facts(
        title="Vasya and Books",
        platform="Codeforces",
        difficulty_label="",
        rating=1000,
        rating_estimated=False,
        topics=("implementation", "math"),
        related=(("Vasya and Socks", "solved"),),
        weak_topics=(),
        new_topics=(),
        goal_topics=(),
        step_label="same level",
        level=1050,
        companies=(),
        review=False,
        already_solved=False,
    ),
    Facts(
        title="Coin Change",
        platform="LeetCode",
        difficulty_label="Medium",
        rating=1500,
        rating_estimated=True,
        topics=("dynamic programming",),
        related=(("House Robber", "solved"),),
        weak_topics=("dynamic programming",),
        new_topics=(),
        goal_topics=(),
        step_label="small step up",
        level=1350,
        companies=("Amazon", "Bloomberg"),
        review=True,
        already_solved=False,
    ),
    Facts(
        title="Two Buttons",
        platform="Codeforces",
        difficulty_label="",
        rating=1400,
        rating_estimated=False,
        topics=("dfs and similar", "graphs", "greedy"),
        related=(("Vasya and Socks", "failed"),),
        weak_topics=("greedy",),
        new_topics=("graphs",),
        goal_topics=("graphs",),
        step_label="small step up",
        level=1250,
        companies=(),
        review=False,
        already_solved=False,
    ),
)


@dataclass(frozen=True)
class Sample:
    """One timed explanation: the text and where the time went."""

    text: str
    new_tokens: int
    decode_steps: int
    prompt_tokens: int
    prefill_seconds: float
    decode_seconds: float
    total_seconds: float
    """Tokenizing, prefill, decoding and detokenizing, as ``Explainer.generate_text`` does."""


@dataclass(frozen=True)
class RunSummary:
    """One variant at one thread count, summarized over its prompts."""

    variant: str
    threads: int
    load_seconds: float | None
    prefix_seconds: float | None
    prefill_p50: float
    decode_tokens_per_second: float
    total_p50: float
    total_max: float
    mean_new_tokens: float
    same_text_as_int4: int
    prompts: int


def decode_steps(generation: Generation) -> int:
    """Count the decoder calls after the prefill, which produced all but the first new token.

    A generation cut by the token limit or the deadline never feeds its last
    token back, so it makes one call fewer than it has tokens.
    """
    tokens = len(generation.tokens)
    if generation.stop_reason == "stop_token":
        return tokens
    return max(tokens - 1, 0)


def summarize(
    variant: str,
    threads: int,
    samples: Sequence[Sample],
    reference: Sequence[Sample],
    *,
    load_seconds: float | None,
    prefix_seconds: float | None,
) -> RunSummary:
    """Summarize one variant's samples against ``reference``, the int4 samples of the same prompts.

    Decode speed is the median over prompts of decoder calls per decode
    second, so one prompt slowed by other work on the machine moves it little.
    """
    if not samples:
        raise ValueError(f"no samples for {variant} at {threads} threads")
    if len(reference) != len(samples):
        raise ValueError(f"{variant} has {len(samples)} samples but the int4 reference has {len(reference)}")
    rates = [sample.decode_steps / sample.decode_seconds for sample in samples if sample.decode_seconds > 0]
    totals = [sample.total_seconds for sample in samples]
    return RunSummary(
        variant=variant,
        threads=threads,
        load_seconds=load_seconds,
        prefix_seconds=prefix_seconds,
        prefill_p50=statistics.median(sample.prefill_seconds for sample in samples),
        decode_tokens_per_second=statistics.median(rates) if rates else 0.0,
        total_p50=statistics.median(totals),
        total_max=max(totals),
        mean_new_tokens=statistics.mean(sample.new_tokens for sample in samples),
        same_text_as_int4=sum(a.text == b.text for a, b in zip(samples, reference, strict=True)),
        prompts=len(samples),
    )


def render_table(summaries: Sequence[RunSummary]) -> list[str]:
    """Lay out the summaries as a markdown table with each row's time relative to int4 at its thread count."""
    int4_p50 = {row.threads: row.total_p50 for row in summaries if row.variant == INT4}
    lines = [
        "| variant | threads | load s | prefix cache s | prefill p50 s | decode tokens/s "
        "| explanation p50 s | explanation max s | p50 vs int4 | mean new tokens | same text as int4 |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in summaries:
        reference = int4_p50.get(row.threads)
        ratio = f"{row.total_p50 / reference:.2f}x" if reference else "n/a"
        lines.append(
            f"| {VARIANT_LABELS.get(row.variant, row.variant)} | {row.threads} "
            f"| {_seconds(row.load_seconds)} | {_seconds(row.prefix_seconds)} | {row.prefill_p50:.3f} "
            f"| {row.decode_tokens_per_second:.1f} | {row.total_p50:.2f} | {row.total_max:.2f} | {ratio} "
            f"| {row.mean_new_tokens:.1f} | {row.same_text_as_int4}/{row.prompts} |"
        )
    return lines


def target_verdict(summaries: Sequence[RunSummary]) -> str:
    """State whether int4 writes one explanation within ``TARGET_SECONDS`` on ``TARGET_THREADS`` threads."""
    row = next((r for r in summaries if r.variant == INT4 and r.threads == TARGET_THREADS), None)
    if row is None:
        return f"The {TARGET_SECONDS} s aim for int4 on {TARGET_THREADS} threads was not measured."
    if row.total_max <= TARGET_SECONDS:
        verdict = "met for every prompt"
    elif row.total_p50 <= TARGET_SECONDS:
        verdict = "met at the median but not for every prompt"
    else:
        verdict = "not met"
    return (
        f"Aim of at most {TARGET_SECONDS} s per explanation with int4 on {TARGET_THREADS} threads: "
        f"{verdict} (p50 {row.total_p50:.2f} s, max {row.total_max:.2f} s)."
    )


def _seconds(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


@dataclass(frozen=True)
class Variant:
    """A model to time, by name and ``model.onnx`` path."""

    name: str
    model_path: Path

    def size_mb(self) -> float:
        """Sum the sizes of the graph and its external data files, in MB."""
        files = self.model_path.parent.glob(self.model_path.name + "*")
        return sum(path.stat().st_size for path in files if path.is_file()) / 1e6


class ExplanationRunner:
    """Runs one explanation the way ``Explainer.generate_text`` does, and times it."""

    def __init__(self, tokenizer: Tokenizer, stop_ids: frozenset[int], max_new_tokens: int) -> None:
        self.tokenizer = tokenizer
        self.stop_ids = stop_ids
        self.max_new_tokens = max_new_tokens

    def explain(
        self, decoder: OnnxDecoder, facts: Facts, prefix: tuple[tuple[int, ...], KVCache] | None
    ) -> Sample:
        started = time.perf_counter()
        prompt_ids = self.tokenizer.encode(build_prompt(facts), add_special_tokens=False).ids
        result = generate(
            decoder, prompt_ids, max_new_tokens=self.max_new_tokens, stop_ids=self.stop_ids, prefix=prefix
        )
        text = " ".join(self.tokenizer.decode(list(result.tokens), skip_special_tokens=True).split())
        total = time.perf_counter() - started
        return Sample(
            text=text,
            new_tokens=len(result.tokens),
            decode_steps=decode_steps(result),
            prompt_tokens=result.prompt_tokens,
            prefill_seconds=result.prefill_seconds,
            decode_seconds=result.decode_seconds,
            total_seconds=total,
        )


def time_thread_count(
    variants: Sequence[Variant],
    threads: int,
    spec: DecoderSpec,
    runner: ExplanationRunner,
    prompts: Sequence[Facts],
    *,
    with_no_cache: bool,
) -> tuple[list[RunSummary], dict[str, list[Sample]]]:
    """Load every variant with ``threads`` threads and time the prompts, alternating the variant order."""
    decoders: dict[str, OnnxDecoder] = {}
    load_seconds: dict[str, float] = {}
    prefix_seconds: dict[str, float] = {}
    prefixes: dict[str, tuple[tuple[int, ...], KVCache]] = {}
    prefix_ids = runner.tokenizer.encode(STATIC_PREFIX, add_special_tokens=False).ids
    for variant in variants:
        started = time.perf_counter()
        decoders[variant.name] = OnnxDecoder.from_file(str(variant.model_path), spec, threads=threads)
        load_seconds[variant.name] = time.perf_counter() - started
        started = time.perf_counter()
        prefixes[variant.name] = prefix_cache(decoders[variant.name], prefix_ids)
        prefix_seconds[variant.name] = time.perf_counter() - started
        print(
            f"bench: {variant.name} at {threads} threads loaded in {load_seconds[variant.name]:.1f} s, "
            f"prefix cache in {prefix_seconds[variant.name]:.2f} s",
            flush=True,
        )

    # An engine pairs a decoder with its prefix cache. The no-cache engine reuses the int4 session.
    engines: dict[str, tuple[OnnxDecoder, tuple[tuple[int, ...], KVCache] | None]] = {
        name: (decoders[name], prefixes[name]) for name in decoders
    }
    if with_no_cache:
        engines[INT4_NO_CACHE] = (decoders[INT4], None)
    for decoder, prefix in engines.values():  # warm-up: first-call allocations, not timed
        runner.explain(decoder, prompts[0], prefix)

    samples: dict[str, list[Sample]] = {name: [] for name in engines}
    names = list(engines)
    for index, facts in enumerate(prompts):
        for name in names if index % 2 == 0 else names[::-1]:
            decoder, prefix = engines[name]
            samples[name].append(runner.explain(decoder, facts, prefix))
        print(f"bench: {threads} threads, prompt {index + 1}/{len(prompts)} done", flush=True)

    summaries = [
        summarize(
            name,
            threads,
            samples[name],
            samples[INT4],
            load_seconds=load_seconds.get(name),
            prefix_seconds=prefix_seconds.get(name),
        )
        for name in names
    ]
    del engines, decoders, prefixes
    gc.collect()
    return summaries, samples


def resolve_int4(artifacts: Path) -> tuple[Path, DecoderSpec, frozenset[int], str]:
    """Find the int4 folder and its decoder layout, which the artifact's manifest sets when present."""
    folder = artifacts / EXPLAINER_DIR
    if (folder / MODEL_FILE).is_file():
        manifest = read_manifest(folder)
        decoder = manifest["decoder"]
        spec = DecoderSpec(int(decoder["layers"]), int(decoder["kv_heads"]), int(decoder["head_size"]))
        stop_ids = frozenset(int(value) for value in manifest["stop_token_ids"])
        method = manifest.get("quantization", {}).get("method", "unknown quantization")
        # NOTE: the export replaces int4 by int8 below its agreement floor. The "int4" rows then time
        # an int8 artifact, which this description shows.
        return folder, spec, stop_ids, f"the serving artifact, {method}"
    if (FALLBACK_INT4_DIR / MODEL_FILE).is_file():
        print(f"bench: {folder} has no {MODEL_FILE}; using {FALLBACK_INT4_DIR} instead", flush=True)
        description = "int4 MatMulNBits from a manual run of the onnxruntime-genai model builder"
        return FALLBACK_INT4_DIR, DEFAULT_SPEC, DEFAULT_STOP_IDS, description
    raise SystemExit(f"{folder}/{MODEL_FILE} not found; build the explainer with `make explainer`")


def run(argv: list[str] | None = None) -> None:
    """Build the variants if needed, time them, print the table and write the docs section."""
    args = _parse_args(argv)
    int4_dir, spec, stop_ids, int4_source = resolve_int4(args.artifacts)
    int8_dir = build_int8(args.hf, args.variants)
    fp32_dir = build_optimum_fp32(args.hf, args.variants)
    variants = [
        Variant(INT4, int4_dir / MODEL_FILE),
        Variant(INT8, int8_dir / MODEL_FILE),
        Variant(OPTIMUM_FP32, fp32_dir / MODEL_FILE),
    ]
    tokenizer = Tokenizer.from_file(str(int4_dir / TOKENIZER_FILE))
    runner = ExplanationRunner(tokenizer, stop_ids, args.max_new_tokens)
    prompts = PROMPT_FACTS[: args.prompts]
    prefix_tokens = len(tokenizer.encode(STATIC_PREFIX, add_special_tokens=False).ids)
    prompt_tokens = [
        len(tokenizer.encode(build_prompt(facts), add_special_tokens=False).ids) for facts in prompts
    ]
    no_cache_threads = max(args.threads)

    load_before = _load_average()
    summaries: list[RunSummary] = []
    last_samples: dict[str, list[Sample]] = {}
    for threads in args.threads:
        rows, samples = time_thread_count(
            variants, threads, spec, runner, prompts, with_no_cache=threads == no_cache_threads
        )
        summaries.extend(rows)
        if threads == no_cache_threads:
            last_samples = samples
    load_after = _load_average()

    sizes = ", ".join(f"{VARIANT_LABELS[v.name]} {v.size_mb():.0f} MB" for v in variants)
    int8_method = read_variant_details(int8_dir).get("method", "unknown")
    summary = [
        f"{len(prompts)} explanation prompts for real LeetCode and Codeforces problems with varied facts "
        f"({min(prompt_tokens)} to {max(prompt_tokens)} tokens, of which the static prefix is "
        f"{prefix_tokens}), greedy decoding of at most {args.max_new_tokens} new tokens with the serving "
        "loop of `ranking/generate.py`. The prefix cache is computed once after loading, as served, "
        "and every prompt starts from it. The variants are loaded side by side for each thread count "
        "and take turns on each prompt, the order flipping from prompt to prompt. One untimed "
        "explanation per variant comes first. An explanation's time covers tokenizing, prefill, "
        "decoding and detokenizing. Decode speed is the median over prompts of decoder calls after "
        "the prefill per second. The ratio compares the median explanation time with int4 at the "
        "same thread count.",
        "",
        f"- int4: {int4_source}.",
        f"- int8: {int8_method}, same builder options. The embedding table stays fp32 because the "
        "builder did not share it with the int8 LM head.",
        "- optimum fp32: `optimum.exporters.onnx.main_export(task='text-generation-with-past')` of the "
        "same fp32 checkpoint, not quantized. The LM head is a second copy of the embedding table.",
        f"- Size on disk (graph and external data): {sizes}.",
        "",
        *render_table(summaries),
        "",
        target_verdict(summaries),
        f"The no-prefix-cache row runs at {no_cache_threads} threads and prefills the whole prompt.",
        f"One-minute load average before the run {load_before}, after {load_after}.",
        "",
        f"Texts at {no_cache_threads} threads with each explanation's seconds, one line per prompt "
        "(int4, then any variant whose text differs):",
        "",
        *_text_lines(prompts, last_samples),
    ]
    print("\n".join(summary))

    command = _command_line(argv if argv is not None else sys.argv[1:])
    update_section(DOC_PATH, SECTION, section_body(command, _machine(), summary))
    print(f"bench: wrote the {SECTION!r} section of {DOC_PATH.relative_to(REPO_ROOT)}")


def _text_lines(prompts: Sequence[Facts], samples: dict[str, list[Sample]]) -> list[str]:
    lines = []
    for index, facts in enumerate(prompts):
        reference = samples[INT4][index]
        seconds = ", ".join(
            f"{VARIANT_LABELS[name]} {samples[name][index].total_seconds:.2f} s"
            for name in (INT4, INT8, OPTIMUM_FP32)
        )
        lines.append(f"- {facts.title} ({seconds}): {reference.text!r}")
        for name in (INT8, OPTIMUM_FP32):
            if samples[name][index].text != reference.text:
                lines.append(f"  - {VARIANT_LABELS[name]}: {samples[name][index].text!r}")
    return lines


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
    return " ".join(["python -m bench.bench_explainer", *map(shlex.quote, arguments)])


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Time the int4 explainer against int8 and optimum fp32.")

    parser.add_argument(
        "--artifacts",
        type=Path,
        default=Path("build/artifacts"),
        help=f"artifacts root containing explainer/ (default: build/artifacts; "
        f"falls back to {FALLBACK_INT4_DIR} while it is missing)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        nargs="+",
        default=[1, 2],
        help="intra-op thread counts to time, each in its own pass (default: 1 2)",
    )
    parser.add_argument(
        "--prompts",
        type=int,
        default=len(PROMPT_FACTS),
        help=f"explanation prompts per variant, 1 to {len(PROMPT_FACTS)} (default: {len(PROMPT_FACTS)})",
    )
    parser.add_argument(
        "--max-new-tokens",
        type=int,
        default=DEFAULT_MAX_NEW_TOKENS,
        help=f"token limit per explanation (default: {DEFAULT_MAX_NEW_TOKENS}, as served)",
    )
    parser.add_argument(
        "--hf",
        type=Path,
        default=DEFAULT_HF_DIR,
        help=f"fp32 Hugging Face checkpoint the variants are built from (default: {DEFAULT_HF_DIR})",
    )
    parser.add_argument(
        "--variants",
        type=Path,
        default=DEFAULT_VARIANTS_DIR,
        help=f"folder the int8 and fp32 variants are built into and reused from "
        f"(default: {DEFAULT_VARIANTS_DIR})",
    )

    args = parser.parse_args(argv)
    if any(threads < 1 for threads in args.threads):
        parser.error("every --threads value must be at least 1")
    args.threads = sorted(set(args.threads))
    if not 1 <= args.prompts <= len(PROMPT_FACTS):
        parser.error(f"--prompts must be between 1 and {len(PROMPT_FACTS)}")
    if args.max_new_tokens < 1:
        parser.error("--max-new-tokens must be at least 1")
    return args


if __name__ == "__main__":
    run()
