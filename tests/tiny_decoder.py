"""A tiny Qwen2 decoder with random weights, exported to ONNX with a KV cache, for tests.

It has the real explainer's graph layout (``optimum`` export of the same
architecture, with ``position_ids``), two layers and a word-level tokenizer
whose vocabulary covers the explainer prompt, so generation, the prefix cache
and the fallback path run on a real onnxruntime session in seconds. The build
is cached under ``build/test-models`` and keyed by a hash of its settings.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import warnings
from pathlib import Path

from ranking.explainer_prompt import STATIC_PREFIX
from ranking.generate import DecoderSpec

REPO_ROOT = Path(__file__).resolve().parent.parent
SPECIAL_TOKENS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>", "[UNK]")
SEED = 7
CONFIG = {
    "hidden_size": 32,
    "intermediate_size": 64,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "max_position_embeddings": 1024,
    "rope_theta": 10000.0,
    "tie_word_embeddings": True,
}
SPEC = DecoderSpec(layers=2, kv_heads=2, head_size=8)
EXTRA_WORDS = (
    "Facts Problem Topics It is similar to which you solved did not manage solve have started but finished "
    "practises introduces goal names where failed or were slow before Difficulty matches your level of about "
    "a an small big step up from easier than quick win asked in interviews at LeetCode Codeforces rated "
    "Medium Easy Hard problem tried it and yet"
)


def _vocabulary() -> list[str]:
    words = set(re.findall(r"[A-Za-z]+|[0-9]+|[^\sA-Za-z0-9]", STATIC_PREFIX + " " + EXTRA_WORDS))
    words -= {"<", ">", "|"}
    return [*SPECIAL_TOKENS, *sorted(words)]


def _key() -> str:
    payload = json.dumps({"config": CONFIG, "vocab": _vocabulary(), "seed": SEED}, sort_keys=True)
    code = Path(__file__).read_bytes()
    return hashlib.sha256(payload.encode() + code).hexdigest()[:16]


def _write_tokenizer(path: Path) -> int:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers

    vocabulary = _vocabulary()
    tokenizer = Tokenizer(models.WordLevel({word: i for i, word in enumerate(vocabulary)}, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Punctuation(), pre_tokenizers.Digits()]
    )
    tokenizer.decoder = decoders.WordPiece(prefix="##")
    tokenizer.add_special_tokens(list(SPECIAL_TOKENS))
    tokenizer.save(str(path))
    return len(vocabulary)


def build_tiny_decoder(root: Path = REPO_ROOT / "build" / "test-models") -> Path:
    """Return a folder with ``model.onnx`` and ``tokenizer.json``; build it on the first call."""
    folder = root / f"tiny-qwen2-{_key()}"
    if (folder / "model.onnx").is_file() and (folder / "tokenizer.json").is_file():
        return folder
    import torch
    from optimum.exporters.onnx import main_export
    from transformers import Qwen2Config, Qwen2ForCausalLM

    work = root / f".tiny-qwen2-{_key()}.tmp"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    vocab_size = _write_tokenizer(work / "tokenizer.json")
    torch.manual_seed(SEED)
    model = Qwen2ForCausalLM(Qwen2Config(vocab_size=vocab_size, **CONFIG))
    # Larger random weights than the default init make the logits vary
    # from step to step, so a wrong cache would change the greedy tokens.
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.mul_(8.0)
    checkpoint = work / "checkpoint"
    model.save_pretrained(checkpoint)
    with warnings.catch_warnings():
        # The tracer warns about Python control flow in the model; pytest turns
        # warnings into errors, which would abort the export half way.
        warnings.simplefilter("ignore")
        main_export(str(checkpoint), work / "onnx", task="text-generation-with-past", do_validation=False)
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("model.onnx", "model.onnx_data"):
        if (work / "onnx" / name).is_file():
            shutil.copy2(work / "onnx" / name, folder / name)
    shutil.copy2(work / "tokenizer.json", folder / "tokenizer.json")
    shutil.rmtree(work, ignore_errors=True)
    return folder
