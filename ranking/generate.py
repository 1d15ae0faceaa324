"""Greedy text generation with a KV cache, on onnxruntime and numpy only.

The decoder graph is the one ``export/export_explainer.py`` writes (the
onnxruntime-genai model builder) or a plain ``optimum`` export: inputs
``input_ids``, ``attention_mask``, optionally ``position_ids``, and one
``past_key_values.N.key``/``.value`` pair per layer; outputs ``logits`` and
``present.N.key``/``.value``. Decoding is greedy, so the same prompt always
gives the same tokens.

A ``KVCache`` is immutable: onnxruntime never writes into its inputs, so the
cache of a static prompt prefix can be computed once per container and
reused by every request.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import onnxruntime as ort

StopReason = Literal["stop_token", "max_new_tokens", "time_budget"]


@dataclass(frozen=True)
class DecoderSpec:
    """The cache layout of a decoder graph."""

    layers: int
    kv_heads: int
    head_size: int


@dataclass(frozen=True)
class KVCache:
    """Keys and values of every layer for the first ``length`` tokens."""

    keys: tuple[np.ndarray, ...]
    values: tuple[np.ndarray, ...]
    length: int


@dataclass(frozen=True)
class Generation:
    """The output of one ``generate`` call, with its timings."""

    tokens: tuple[int, ...]
    stop_reason: StopReason
    prompt_tokens: int
    cached_prompt_tokens: int
    prefill_seconds: float
    decode_seconds: float


class OnnxDecoder:
    """One decoder session and the names of its inputs and outputs."""

    def __init__(self, session: ort.InferenceSession, spec: DecoderSpec) -> None:
        self.session = session
        self.spec = spec
        inputs = {item.name for item in session.get_inputs()}
        missing = [name for name in ("input_ids", "attention_mask") if name not in inputs]
        missing += [name for name in self._past_names() if name not in inputs]
        if missing:
            raise ValueError(f"decoder graph lacks the inputs {missing}")
        self.uses_position_ids = "position_ids" in inputs
        self.output_names = ["logits"]
        for layer in range(spec.layers):
            self.output_names += [f"present.{layer}.key", f"present.{layer}.value"]

    @classmethod
    def from_file(cls, path: str, spec: DecoderSpec, *, threads: int | None = None) -> OnnxDecoder:
        """Open ``path`` on the CPU with ``threads`` intra-op threads (all cores when None)."""
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        return cls(session, spec)

    def _past_names(self) -> list[str]:
        names = []
        for layer in range(self.spec.layers):
            names += [f"past_key_values.{layer}.key", f"past_key_values.{layer}.value"]
        return names

    def empty_cache(self) -> KVCache:
        """Return the cache before any token."""
        empty = np.zeros((1, self.spec.kv_heads, 0, self.spec.head_size), dtype=np.float32)
        return KVCache(
            tuple(empty for _ in range(self.spec.layers)), tuple(empty for _ in range(self.spec.layers)), 0
        )

    def forward(self, token_ids: Sequence[int], cache: KVCache) -> tuple[np.ndarray, KVCache]:
        """Run ``token_ids`` after ``cache``; return the last position's logits and the longer cache."""
        count = len(token_ids)
        total = cache.length + count
        feed: dict[str, np.ndarray] = {
            "input_ids": np.asarray([token_ids], dtype=np.int64),
            "attention_mask": np.ones((1, total), dtype=np.int64),
        }
        if self.uses_position_ids:
            feed["position_ids"] = np.arange(cache.length, total, dtype=np.int64)[None, :]
        for layer in range(self.spec.layers):
            feed[f"past_key_values.{layer}.key"] = cache.keys[layer]
            feed[f"past_key_values.{layer}.value"] = cache.values[layer]
        outputs = self.session.run(self.output_names, feed)
        logits = outputs[0][0, -1]
        keys = tuple(outputs[1::2])
        values = tuple(outputs[2::2])
        return logits, KVCache(keys, values, total)


def generate(
    decoder: OnnxDecoder,
    prompt_ids: Sequence[int],
    *,
    max_new_tokens: int,
    stop_ids: frozenset[int],
    prefix: tuple[tuple[int, ...], KVCache] | None = None,
    deadline: float | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> Generation:
    """Greedy decoding from ``prompt_ids`` until a stop token, the token limit or ``deadline``.

    ``prefix`` is a token prefix with its precomputed cache. It is used only
    when ``prompt_ids`` starts with exactly those tokens, so a cached prefix
    never changes the output, only the time. ``deadline`` is a value of
    ``clock``; no new decoding step starts after it.
    """
    if not prompt_ids:
        raise ValueError("prompt_ids is empty")
    if max_new_tokens < 1:
        raise ValueError(f"max_new_tokens must be at least 1, got {max_new_tokens}")
    started = clock()
    if deadline is not None and started >= deadline:
        return Generation((), "time_budget", len(prompt_ids), 0, 0.0, 0.0)
    cache = decoder.empty_cache()
    cached = 0
    if prefix is not None:
        prefix_ids, prefix_cache = prefix
        if len(prefix_ids) < len(prompt_ids) and tuple(prompt_ids[: len(prefix_ids)]) == prefix_ids:
            cache, cached = prefix_cache, len(prefix_ids)
    logits, cache = decoder.forward(list(prompt_ids[cached:]), cache)
    prefill_done = clock()

    tokens: list[int] = []
    reason: StopReason = "max_new_tokens"
    while True:
        token = int(np.argmax(logits))
        if token in stop_ids:
            reason = "stop_token"
            break
        tokens.append(token)
        if len(tokens) >= max_new_tokens:
            break
        if deadline is not None and clock() >= deadline:
            reason = "time_budget"
            break
        logits, cache = decoder.forward([token], cache)
    return Generation(
        tokens=tuple(tokens),
        stop_reason=reason,
        prompt_tokens=len(prompt_ids),
        cached_prompt_tokens=cached,
        prefill_seconds=prefill_done - started,
        decode_seconds=clock() - prefill_done,
    )


def prefix_cache(decoder: OnnxDecoder, prefix_ids: Sequence[int]) -> tuple[tuple[int, ...], KVCache]:
    """Compute the cache of a static prompt prefix, to pass to ``generate`` as ``prefix``."""
    if not prefix_ids:
        raise ValueError("prefix_ids is empty")
    _, cache = decoder.forward(list(prefix_ids), decoder.empty_cache())
    return tuple(prefix_ids), cache
