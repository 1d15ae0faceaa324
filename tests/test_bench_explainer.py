"""The explainer benchmark's summary, table and verdict, and the config rewrite for transformers 4.57."""

from __future__ import annotations

import pytest

from bench.bench_explainer import (
    INT4,
    INT4_NO_CACHE,
    PROMPT_FACTS,
    RunSummary,
    Sample,
    decode_steps,
    render_table,
    summarize,
    target_verdict,
)
from export.explainer_variants import INT8, legacy_config
from ranking.explainer_prompt import STATIC_PREFIX, build_prompt
from ranking.generate import Generation


def _sample(text: str, total: float, *, tokens: int = 10, steps: int = 10, decode: float = 0.5) -> Sample:
    return Sample(
        text=text,
        new_tokens=tokens,
        decode_steps=steps,
        prompt_tokens=300,
        prefill_seconds=0.2,
        decode_seconds=decode,
        total_seconds=total,
    )


def _summary(variant: str, threads: int, p50: float, maximum: float) -> RunSummary:
    return RunSummary(
        variant=variant,
        threads=threads,
        load_seconds=1.0,
        prefix_seconds=0.5,
        prefill_p50=0.1,
        decode_tokens_per_second=40.0,
        total_p50=p50,
        total_max=maximum,
        mean_new_tokens=30.0,
        same_text_as_int4=6,
        prompts=6,
    )


def _generation(tokens: int, reason: str) -> Generation:
    return Generation(
        tokens=tuple(range(tokens)),
        stop_reason=reason,  # type: ignore[arg-type]
        prompt_tokens=5,
        cached_prompt_tokens=0,
        prefill_seconds=0.1,
        decode_seconds=0.1,
    )


def test_decode_steps_by_stop_reason() -> None:
    assert decode_steps(_generation(7, "stop_token")) == 7
    assert decode_steps(_generation(80, "max_new_tokens")) == 79
    assert decode_steps(_generation(3, "time_budget")) == 2
    assert decode_steps(_generation(0, "stop_token")) == 0
    assert decode_steps(_generation(0, "time_budget")) == 0


def test_summarize_statistics() -> None:
    samples = [
        _sample("a", 1.0, tokens=10, steps=10, decode=0.5),
        _sample("b", 3.0, tokens=20, steps=19, decode=1.5),
        _sample("c", 2.0, tokens=30, steps=30, decode=1.0),
    ]
    reference = [_sample("a", 0.9), _sample("x", 0.9), _sample("c", 0.9)]

    row = summarize(INT8, 2, samples, reference, load_seconds=4.0, prefix_seconds=0.3)

    assert row.total_p50 == 2.0
    assert row.total_max == 3.0
    assert row.prefill_p50 == pytest.approx(0.2)
    assert row.decode_tokens_per_second == pytest.approx(20.0)
    assert row.mean_new_tokens == 20.0
    assert row.same_text_as_int4 == 2
    assert row.prompts == 3
    assert row.load_seconds == 4.0


def test_summarize_rejects_mismatched_reference() -> None:
    with pytest.raises(ValueError, match="reference"):
        summarize(INT8, 1, [_sample("a", 1.0)], [], load_seconds=None, prefix_seconds=None)
    with pytest.raises(ValueError, match="no samples"):
        summarize(INT8, 1, [], [], load_seconds=None, prefix_seconds=None)


def test_render_table_ratios_per_thread_count() -> None:
    rows = [
        _summary(INT4, 1, 2.0, 2.5),
        _summary(INT8, 1, 3.0, 3.5),
        _summary(INT4, 2, 1.0, 1.5),
        _summary(INT4_NO_CACHE, 2, 4.0, 4.5),
    ]

    table = render_table(rows)

    assert len(table) == 2 + len(rows)
    assert all(line.count("|") == table[0].count("|") for line in table)
    assert table[2].startswith("| int4 | 1 |")
    assert "| 1.00x |" in table[2]
    assert table[3].startswith("| int8 | 1 |")
    assert "| 1.50x |" in table[3]
    assert table[4].startswith("| int4 | 2 |")
    assert "| 1.00x |" in table[4]
    assert table[5].startswith("| int4, no prefix cache | 2 |")
    assert "| 4.00x |" in table[5]
    assert "| 6/6 |" in table[5]


def test_target_verdict_cases() -> None:
    assert "met for every prompt" in target_verdict([_summary(INT4, 2, 0.9, 1.1)])
    assert "met at the median but not" in target_verdict([_summary(INT4, 2, 1.0, 1.8)])
    assert "not met (p50 1.50 s" in target_verdict([_summary(INT4, 2, 1.5, 1.8)])
    assert "not measured" in target_verdict([_summary(INT4, 1, 0.5, 0.6)])


def test_prompt_facts_extend_static_prefix() -> None:
    titles = [facts.title for facts in PROMPT_FACTS]

    assert len(set(titles)) == len(titles)
    for facts in PROMPT_FACTS:
        assert build_prompt(facts).startswith(STATIC_PREFIX)


def test_legacy_config_rewrites_rope_and_dtype() -> None:
    config = {
        "dtype": "float32",
        "rope_parameters": {"rope_theta": 1000000.0, "rope_type": "default"},
        "hidden_size": 896,
    }

    patched = legacy_config(config)

    assert patched == {
        "torch_dtype": "float32",
        "rope_theta": 1000000.0,
        "rope_scaling": None,
        "hidden_size": 896,
    }
    assert "rope_parameters" in config


def test_legacy_config_keeps_scaled_rope() -> None:
    rope = {"rope_theta": 10000.0, "rope_type": "linear", "factor": 2.0}

    patched = legacy_config({"rope_parameters": rope, "torch_dtype": "bfloat16", "dtype": "float32"})

    assert patched["rope_theta"] == 10000.0
    assert patched["rope_scaling"] == {"rope_type": "linear", "factor": 2.0}
    assert patched["torch_dtype"] == "bfloat16"
    assert "dtype" in patched
