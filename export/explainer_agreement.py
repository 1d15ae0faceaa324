"""Measure how closely the quantized ONNX explainer follows the fp32 model it was built from.

Runs in the builder environment, which has torch, transformers, onnxruntime,
numpy and tokenizers, from the repository root::

    build/explainer-env/bin/python -m export.explainer_agreement \\
        --hf build/explainer-src/hf --onnx build/explainer-src/onnx-int4 --out agreement.json

For each prompt in ``AGREEMENT_FACTS``, the fp32 Hugging Face model decodes
greedily. The same tokens are then fed to the ONNX model one step at a time
(teacher forcing), because the builder's graph returns only the last
position's logits. At every position, the ONNX model's top-1 token is
compared with the fp32 token, and the stop token counts as a position when
fp32 emitted one. The ONNX model also decodes greedily on its own, with the
serving code in ``ranking/generate.py``, to count prompts whose whole output
matches.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ranking.explainer_prompt import PROMPT_VERSION, STATIC_PREFIX, Facts, build_prompt

GENAI_CONFIG = "genai_config.json"
TOKENIZER_FILE = "tokenizer.json"
MODEL_FILE = "model.onnx"


def _facts(title: str, platform: str, **fields: Any) -> Facts:
    defaults: dict[str, Any] = {
        "difficulty_label": "",
        "rating": None,
        "rating_estimated": False,
        "topics": (),
        "related": (),
        "weak_topics": (),
        "new_topics": (),
        "goal_topics": (),
        "step_label": None,
        "level": None,
        "companies": (),
        "review": False,
        "already_solved": False,
    }
    return Facts(title=title, platform=platform, **{**defaults, **fields})


# Facts shaped like the recommender's: both platforms, every step label,
# weak, new and goal topics, companies, a review and an already solved pick.
AGREEMENT_FACTS: tuple[tuple[str, Facts], ...] = (
    (
        "two-sum-new-topic-easier",
        _facts(
            "Two Sum",
            "LeetCode",
            difficulty_label="Easy",
            rating=1200,
            rating_estimated=True,
            topics=("Array", "Hash Table"),
            related=(("Contains Duplicate", "solved"),),
            new_topics=("Hash Table",),
            step_label="easier",
            level=1400,
            companies=("Google", "Amazon"),
        ),
    ),
    (
        "coin-change-review-goal",
        _facts(
            "Coin Change",
            "LeetCode",
            difficulty_label="Medium",
            rating=1500,
            rating_estimated=True,
            topics=("Dynamic Programming", "Array", "Breadth-First Search"),
            goal_topics=("Dynamic Programming",),
            step_label="same level",
            level=1480,
            review=True,
        ),
    ),
    (
        "merge-k-lists-big-step",
        _facts(
            "Merge k Sorted Lists",
            "LeetCode",
            difficulty_label="Hard",
            rating=2000,
            rating_estimated=True,
            topics=("Linked List", "Divide and Conquer", "Heap (Priority Queue)"),
            related=(("Merge Two Sorted Lists", "solved"), ("Sort List", "failed")),
            weak_topics=("Heap (Priority Queue)",),
            step_label="big step up",
            level=1600,
            companies=("Meta", "Microsoft"),
        ),
    ),
    (
        "vasya-books-same-level",
        _facts(
            "Vasya and Books",
            "Codeforces",
            rating=1000,
            topics=("implementation", "math"),
            related=(("Vasya and Socks", "solved"),),
            step_label="same level",
            level=1050,
        ),
    ),
    (
        "anton-letters-new-topic",
        _facts(
            "Anton and Letters",
            "Codeforces",
            rating=800,
            topics=("constructive algorithms", "implementation"),
            related=(("Anton and Danik", "attempted"),),
            new_topics=("constructive algorithms",),
            step_label="easier",
            level=1100,
        ),
    ),
    (
        "longest-substring-weak-goal",
        _facts(
            "Longest Substring Without Repeating Characters",
            "LeetCode",
            difficulty_label="Medium",
            rating=1600,
            rating_estimated=True,
            topics=("Hash Table", "String", "Sliding Window"),
            weak_topics=("String",),
            goal_topics=("Sliding Window",),
            step_label="small step up",
            level=1450,
            companies=("Amazon", "Bloomberg", "Adobe"),
        ),
    ),
    (
        "watermelon-already-solved",
        _facts(
            "Watermelon",
            "Codeforces",
            rating=800,
            topics=("brute force", "math"),
            step_label="easier",
            level=1200,
            already_solved=True,
        ),
    ),
    (
        "number-of-islands-no-level",
        _facts(
            "Number of Islands",
            "LeetCode",
            difficulty_label="Medium",
            topics=("Depth-First Search", "Breadth-First Search", "Union Find"),
            related=(("Flood Fill", "failed"), ("Max Area of Island", "solved")),
            new_topics=("Union Find",),
            companies=("Amazon",),
        ),
    ),
)


@dataclass(frozen=True)
class PromptAgreement:
    """The comparison of one prompt's fp32 and ONNX outputs."""

    label: str
    prompt_tokens: int
    fp32_tokens: int
    positions: int
    agreed: int
    exact_match: bool
    first_divergence: int | None
    fp32_text: str
    onnx_text: str


def read_decoder_layout(model_dir: Path) -> dict[str, int]:
    """Read the decoder's cache layout from the builder's ``genai_config.json``."""
    decoder = json.loads((model_dir / GENAI_CONFIG).read_text())["model"]["decoder"]
    return {
        "layers": int(decoder["num_hidden_layers"]),
        "kv_heads": int(decoder["num_key_value_heads"]),
        "head_size": int(decoder["head_size"]),
    }


def reference_greedy(
    model: Any, prompt_ids: Sequence[int], max_new_tokens: int, stop_ids: frozenset[int]
) -> tuple[list[int], int | None]:
    """Decode greedily with the fp32 model; return the new tokens and the stop token (None at the limit).

    The loop follows ``ranking.generate.generate``: a stop token ends it
    without being kept, and it ends after ``max_new_tokens`` kept tokens.
    """
    import torch

    tokens: list[int] = []
    with torch.inference_mode():
        output = model(input_ids=torch.tensor([list(prompt_ids)]), use_cache=True)
        while True:
            token = int(output.logits[0, -1].argmax())
            if token in stop_ids:
                return tokens, token
            tokens.append(token)
            if len(tokens) >= max_new_tokens:
                return tokens, None
            output = model(
                input_ids=torch.tensor([[token]]), past_key_values=output.past_key_values, use_cache=True
            )


def teacher_forced_matches(
    decoder: Any, prefix: Any, prompt_ids: Sequence[int], targets: Sequence[int]
) -> list[bool]:
    """Feed ``targets`` after the prompt and return, per position, whether the ONNX top-1 token equals it."""
    import numpy as np

    prefix_ids, cache = prefix
    if tuple(prompt_ids[: len(prefix_ids)]) != prefix_ids:
        raise ValueError("the prompt does not start with the static prefix tokens")
    logits, cache = decoder.forward(list(prompt_ids[len(prefix_ids) :]), cache)
    matches = []
    for position, target in enumerate(targets):
        matches.append(int(np.argmax(logits)) == target)
        if position + 1 < len(targets):
            logits, cache = decoder.forward([target], cache)
    return matches


def measure_agreement(
    hf_dir: Path, onnx_dir: Path, *, max_new_tokens: int, stop_ids: frozenset[int], threads: int
) -> dict[str, Any]:
    """Compare the ONNX model in ``onnx_dir`` with the fp32 checkpoint in ``hf_dir`` on every prompt."""
    import torch
    from tokenizers import Tokenizer
    from transformers import AutoModelForCausalLM

    from ranking.generate import DecoderSpec, OnnxDecoder, generate, prefix_cache

    started = time.perf_counter()
    torch.set_num_threads(threads)
    layout = read_decoder_layout(onnx_dir)
    tokenizer = Tokenizer.from_file(str(onnx_dir / TOKENIZER_FILE))
    reference = AutoModelForCausalLM.from_pretrained(hf_dir, dtype=torch.float32)
    reference.eval()
    decoder = OnnxDecoder.from_file(str(onnx_dir / MODEL_FILE), DecoderSpec(**layout), threads=threads)
    prefix = prefix_cache(decoder, tokenizer.encode(STATIC_PREFIX, add_special_tokens=False).ids)

    results = []
    for label, facts in AGREEMENT_FACTS:
        prompt_ids = tokenizer.encode(build_prompt(facts), add_special_tokens=False).ids
        fp32_tokens, stop_token = reference_greedy(reference, prompt_ids, max_new_tokens, stop_ids)
        targets = fp32_tokens + ([stop_token] if stop_token is not None else [])
        matches = teacher_forced_matches(decoder, prefix, prompt_ids, targets)
        onnx = generate(decoder, prompt_ids, max_new_tokens=max_new_tokens, stop_ids=stop_ids, prefix=prefix)
        onnx_tokens = list(onnx.tokens)
        result = PromptAgreement(
            label=label,
            prompt_tokens=len(prompt_ids),
            fp32_tokens=len(fp32_tokens),
            positions=len(matches),
            agreed=sum(matches),
            exact_match=onnx_tokens == fp32_tokens,
            first_divergence=_first_divergence(fp32_tokens, onnx_tokens),
            fp32_text=tokenizer.decode(fp32_tokens, skip_special_tokens=True),
            onnx_text=tokenizer.decode(onnx_tokens, skip_special_tokens=True),
        )
        print(f"{label}: top-1 {result.agreed}/{result.positions}, exact {result.exact_match}", flush=True)
        results.append(result)

    positions = sum(result.positions for result in results)
    return {
        "prompts": len(results),
        "prompt_version": PROMPT_VERSION,
        "top1_agreement": sum(result.agreed for result in results) / positions,
        "exact_match": sum(result.exact_match for result in results) / len(results),
        "mean_new_tokens": sum(result.fp32_tokens for result in results) / len(results),
        "positions": positions,
        "max_new_tokens": max_new_tokens,
        "threads": threads,
        "seconds": round(time.perf_counter() - started, 1),
        "decoder": layout,
        "stop_tokens": {str(token): tokenizer.id_to_token(token) for token in sorted(stop_ids)},
        "per_prompt": [vars(result) for result in results],
    }


def _first_divergence(expected: Sequence[int], actual: Sequence[int]) -> int | None:
    for index, (left, right) in enumerate(zip(expected, actual, strict=False)):
        if left != right:
            return index
    if len(expected) != len(actual):
        return min(len(expected), len(actual))
    return None


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(
        description="Measure the ONNX explainer's agreement with the fp32 model."
    )
    parser.add_argument("--hf", type=Path, required=True, help="fp32 Hugging Face checkpoint folder")
    parser.add_argument("--onnx", type=Path, required=True, help="builder output folder with model.onnx")
    parser.add_argument("--out", type=Path, required=True, help="JSON file for the measurement")
    parser.add_argument(
        "--max-new-tokens", type=int, default=60, help="token limit per generation (default: 60)"
    )
    parser.add_argument(
        "--stop-ids",
        type=int,
        nargs="+",
        default=[151645, 151643],
        help="token ids that end a generation (default: 151645 151643, <|im_end|> and <|endoftext|>)",
    )
    parser.add_argument(
        "--threads", type=int, default=2, help="CPU threads for torch and onnxruntime (default: 2)"
    )
    args = parser.parse_args(argv)
    report = measure_agreement(
        args.hf,
        args.onnx,
        max_new_tokens=args.max_new_tokens,
        stop_ids=frozenset(args.stop_ids),
        threads=args.threads,
    )
    args.out.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
