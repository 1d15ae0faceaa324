"""Dequantize a GGUF checkpoint into an fp32 Hugging Face folder for the ONNX model builder.

Runs in the builder environment (transformers 5 with gguf), from the
repository root::

    build/explainer-env/bin/python -m export.explainer_dequantize \\
        --gguf build/explainer-src/model.gguf --out build/explainer-src/hf --report hf.json

transformers dequantizes every GGUF tensor to fp32 on load, but refuses to
``save_pretrained`` a model loaded from GGUF. The weights are therefore moved
into a fresh model built from the same config. The GGUF file stores the LM
head and the token embedding as two tensors that differ only by quantization
noise, while Qwen2.5-0.5B ties them. The fresh model ties them again and
keeps the embedding, so the builder can share one matrix
(``shared_embeddings=true``). The report records the largest difference
between the two tensors.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

HEAD_KEY = "lm_head.weight"
EMBEDDING_KEY = "model.embed_tokens.weight"


def dequantize(gguf_path: Path, out_dir: Path) -> dict[str, Any]:
    """Write an fp32 checkpoint with a tied LM head and the tokenizer into ``out_dir``; return a report."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    loaded = AutoModelForCausalLM.from_pretrained(
        gguf_path.parent, gguf_file=gguf_path.name, dtype=torch.float32
    )
    tokenizer = AutoTokenizer.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name)

    config = loaded.config
    if hasattr(config, "quantization_config"):
        delattr(config, "quantization_config")
    config.tie_word_embeddings = True

    state = loaded.state_dict()
    head_diff = None
    if HEAD_KEY in state and EMBEDDING_KEY in state:
        head_diff = float((state[HEAD_KEY] - state[EMBEDDING_KEY]).abs().max())
    weights = {key: value for key, value in state.items() if key != HEAD_KEY}

    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    result = model.load_state_dict(weights, strict=False)
    missing = [key for key in result.missing_keys if key != HEAD_KEY]
    if missing or result.unexpected_keys:
        raise ValueError(
            f"the GGUF weights do not fit the model built from its config: missing {missing}, "
            f"unexpected {result.unexpected_keys}"
        )
    model.tie_weights()
    if model.get_output_embeddings().weight.data_ptr() != model.get_input_embeddings().weight.data_ptr():
        raise ValueError("the LM head is still not tied to the token embedding after tie_weights()")

    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    return {
        "architecture": type(model).__name__,
        "parameters": sum(parameter.numel() for parameter in model.parameters()),
        "lm_head_tied": True,
        "lm_head_vs_embedding_max_abs_diff": head_diff,
    }


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(
        description="Dequantize a GGUF checkpoint into an fp32 Hugging Face folder."
    )
    parser.add_argument("--gguf", type=Path, required=True, help="GGUF file to read")
    parser.add_argument("--out", type=Path, required=True, help="folder for the fp32 checkpoint")
    parser.add_argument("--report", type=Path, required=True, help="JSON file for the dequantization report")
    args = parser.parse_args(argv)
    report = dequantize(args.gguf, args.out)
    args.report.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
