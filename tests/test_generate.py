"""Greedy generation with a KV cache on a tiny ONNX decoder built inside the test setup.

The decoder is a two-layer Qwen2 with random weights (``tests/tiny_decoder.py``),
exported by the same ``optimum`` route as a full-size model, so these tests
run a real onnxruntime session. Random weights write nonsense, which is what
the fallback test needs.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from tokenizers import Tokenizer

from ranking.explainer import Explainer
from ranking.explainer_prompt import STATIC_PREFIX, Facts, build_prompt
from ranking.generate import OnnxDecoder, generate, prefix_cache
from ranking.grounding import Vocabulary
from tests.tiny_decoder import SPEC, build_tiny_decoder

FACTS = Facts(
    title="Coin Change",
    platform="LeetCode",
    difficulty_label="Medium",
    rating=1500,
    rating_estimated=True,
    topics=("dynamic programming",),
    related=(("House Robber", "failed"),),
    weak_topics=("dynamic programming",),
    new_topics=(),
    goal_topics=(),
    step_label="small step up",
    level=1300,
    companies=("Amazon",),
    review=False,
    already_solved=False,
)


@pytest.fixture(scope="module")
def tiny_folder() -> Path:
    return build_tiny_decoder()


@pytest.fixture(scope="module")
def decoder(tiny_folder: Path) -> OnnxDecoder:
    return OnnxDecoder.from_file(str(tiny_folder / "model.onnx"), SPEC, threads=1)


@pytest.fixture(scope="module")
def tokenizer(tiny_folder: Path) -> Tokenizer:
    return Tokenizer.from_file(str(tiny_folder / "tokenizer.json"))


def prompt_ids(tokenizer: Tokenizer) -> list[int]:
    return tokenizer.encode(build_prompt(FACTS), add_special_tokens=False).ids


def greedy_without_cache(decoder: OnnxDecoder, ids: list[int], steps: int) -> list[int]:
    """Reference decoding: every step runs the whole sequence from an empty cache."""
    sequence = list(ids)
    out: list[int] = []
    for _ in range(steps):
        logits, _ = decoder.forward(sequence, decoder.empty_cache())
        token = int(np.argmax(logits))
        out.append(token)
        sequence.append(token)
    return out


def test_cache_gives_the_same_tokens_as_recomputing(decoder: OnnxDecoder, tokenizer: Tokenizer) -> None:
    ids = prompt_ids(tokenizer)
    result = generate(decoder, ids, max_new_tokens=24, stop_ids=frozenset())
    expected = greedy_without_cache(decoder, ids, 24)
    assert list(result.tokens) == expected
    # The random model must not just repeat one token, or the comparison proves little.
    assert len(set(expected)) > 3


def test_prefix_cache_gives_the_same_tokens(decoder: OnnxDecoder, tokenizer: Tokenizer) -> None:
    ids = prompt_ids(tokenizer)
    prefix = prefix_cache(decoder, tokenizer.encode(STATIC_PREFIX, add_special_tokens=False).ids)
    with_prefix = generate(decoder, ids, max_new_tokens=24, stop_ids=frozenset(), prefix=prefix)
    without = generate(decoder, ids, max_new_tokens=24, stop_ids=frozenset())
    assert with_prefix.tokens == without.tokens
    assert with_prefix.cached_prompt_tokens == len(prefix[0]) > 0
    assert without.cached_prompt_tokens == 0


def test_prefix_that_does_not_match_is_ignored(decoder: OnnxDecoder, tokenizer: Tokenizer) -> None:
    ids = prompt_ids(tokenizer)
    other = prefix_cache(decoder, [ids[0] + 1, *ids[1:5]])
    result = generate(decoder, ids, max_new_tokens=8, stop_ids=frozenset(), prefix=other)
    assert result.cached_prompt_tokens == 0
    assert list(result.tokens) == greedy_without_cache(decoder, ids, 8)


def test_generation_is_deterministic(decoder: OnnxDecoder, tokenizer: Tokenizer) -> None:
    ids = prompt_ids(tokenizer)
    first = generate(decoder, ids, max_new_tokens=16, stop_ids=frozenset())
    second = generate(decoder, ids, max_new_tokens=16, stop_ids=frozenset())
    assert first.tokens == second.tokens


def test_stop_token_ends_generation(decoder: OnnxDecoder, tokenizer: Tokenizer) -> None:
    ids = prompt_ids(tokenizer)
    free = generate(decoder, ids, max_new_tokens=12, stop_ids=frozenset())
    stop = free.tokens[5]
    result = generate(decoder, ids, max_new_tokens=12, stop_ids=frozenset({stop}))
    first = free.tokens.index(stop)
    assert result.tokens == free.tokens[:first]
    assert result.stop_reason == "stop_token"


def test_max_new_tokens_caps_the_output(decoder: OnnxDecoder, tokenizer: Tokenizer) -> None:
    result = generate(decoder, prompt_ids(tokenizer), max_new_tokens=5, stop_ids=frozenset())
    assert len(result.tokens) == 5
    assert result.stop_reason == "max_new_tokens"


def test_time_budget_stops_decoding(decoder: OnnxDecoder, tokenizer: Tokenizer) -> None:
    # A clock that advances one second per reading: the deadline 3.5 s after
    # the start passes after a known number of steps, whatever the machine.
    ticks = itertools.count()

    def clock() -> float:
        return float(next(ticks))

    result = generate(
        decoder, prompt_ids(tokenizer), max_new_tokens=50, stop_ids=frozenset(), deadline=3.5, clock=clock
    )
    assert result.stop_reason == "time_budget"
    # Readings: 0 start, 1 after prefill, then one per step: 2 and 3 pass, 4 stops.
    assert len(result.tokens) == 3


def test_spent_budget_generates_nothing(decoder: OnnxDecoder, tokenizer: Tokenizer) -> None:
    result = generate(decoder, prompt_ids(tokenizer), max_new_tokens=5, stop_ids=frozenset(), deadline=-1.0)
    assert result.tokens == ()
    assert result.stop_reason == "time_budget"


def test_bad_arguments_are_refused(decoder: OnnxDecoder) -> None:
    with pytest.raises(ValueError, match="prompt_ids is empty"):
        generate(decoder, [], max_new_tokens=5, stop_ids=frozenset())
    with pytest.raises(ValueError, match="max_new_tokens must be at least 1"):
        generate(decoder, [1], max_new_tokens=0, stop_ids=frozenset())


def test_nonsense_falls_back_with_reasons(decoder: OnnxDecoder, tokenizer: Tokenizer) -> None:
    vocabulary = Vocabulary.build(["Coin Change", "House Robber"], ["dynamic programming"], ["amazon"])
    explainer = Explainer(decoder, tokenizer, frozenset({tokenizer.token_to_id("<|im_end|>")}), vocabulary)
    written = explainer.explain(FACTS, budget_s=30.0)
    assert not written.grounded
    assert written.problems
    assert written.fallback_reason
