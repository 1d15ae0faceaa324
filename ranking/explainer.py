"""The generative explainer: quantized ONNX decoder, prompt, time budget and grounding check.

``Explainer.from_folder(path)`` opens the folder ``export/export_explainer.py``
writes (``model.onnx`` with its external data, ``tokenizer.json``,
``manifest.json``), checks every file against the manifest's sha256 and
computes the KV cache of the static prompt prefix, once per process.

``Explainer.explain(facts, budget_s)`` writes one explanation within the
budget and runs the grounding checker on it. The caller shows the text only
when ``ModelExplanation.grounded`` is true and falls back to the template
otherwise, and ``problems`` lists the reasons.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tokenizers import Tokenizer

from ranking.artifacts import read_manifest, verify_files
from ranking.exceptions import ArtifactError
from ranking.explainer_prompt import PROMPT_VERSION, STATIC_PREFIX, Facts, build_prompt
from ranking.generate import DecoderSpec, Generation, OnnxDecoder, generate, prefix_cache
from ranking.grounding import Vocabulary, check_explanation

logger = logging.getLogger(__name__)

EXPLAINER_DIR = "explainer"
MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
DEFAULT_MAX_NEW_TOKENS = 80
DEFAULT_BUDGET_S = 3.0


@dataclass(frozen=True)
class ModelExplanation:
    """One generated explanation and the checker's verdict on it."""

    text: str
    grounded: bool
    problems: list[str] = field(default_factory=list)
    generation: Generation | None = None
    seconds: float = 0.0

    @property
    def fallback_reason(self) -> str | None:
        """Why the template is shown instead; None when the text is grounded."""
        if self.grounded:
            return None
        if self.generation is not None and self.generation.stop_reason == "time_budget":
            return "the time budget ran out before the model finished"
        return "; ".join(self.problems[:3]) or "rejected by the grounding check"


class Explainer:
    """Writes explanations with a quantized decoder and checks them against the facts."""

    def __init__(
        self,
        decoder: OnnxDecoder,
        tokenizer: Tokenizer,
        stop_ids: frozenset[int],
        vocabulary: Vocabulary,
        *,
        max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS,
        manifest: dict[str, Any] | None = None,
    ) -> None:
        self.decoder = decoder
        self.tokenizer = tokenizer
        self.stop_ids = stop_ids
        self.vocabulary = vocabulary
        self.max_new_tokens = max_new_tokens
        self.manifest = manifest or {}
        prefix_ids = tokenizer.encode(STATIC_PREFIX, add_special_tokens=False).ids
        started = time.perf_counter()
        self.prefix = prefix_cache(decoder, prefix_ids)
        logger.info(
            "explainer prefix cached: %d tokens in %.2f s", len(prefix_ids), time.perf_counter() - started
        )
        # One onnxruntime session serves one generation at a time: concurrent
        # requests in one process wait rather than split the cores.
        self._lock = threading.Lock()

    @classmethod
    def from_folder(cls, folder: Path, vocabulary: Vocabulary, *, threads: int | None = None) -> Explainer:
        """Open and verify an explainer folder; raise ArtifactError when it is incomplete or altered."""
        manifest = read_manifest(folder)
        problems = verify_files(folder, manifest)
        if problems:
            raise ArtifactError("explainer artifact is corrupt: " + "; ".join(problems))
        if manifest.get("prompt_version") not in (None, PROMPT_VERSION):
            logger.warning(
                "explainer was checked with prompt version %s; serving prompt version %s",
                manifest.get("prompt_version"),
                PROMPT_VERSION,
            )
        try:
            decoder_info = manifest["decoder"]
            spec = DecoderSpec(
                layers=int(decoder_info["layers"]),
                kv_heads=int(decoder_info["kv_heads"]),
                head_size=int(decoder_info["head_size"]),
            )
            stop_ids = frozenset(int(value) for value in manifest["stop_token_ids"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ArtifactError(f"{folder}/manifest.json lacks decoder details: {exc}") from exc
        decoder = OnnxDecoder.from_file(str(folder / MODEL_FILE), spec, threads=threads)
        tokenizer = Tokenizer.from_file(str(folder / TOKENIZER_FILE))
        return cls(
            decoder,
            tokenizer,
            stop_ids,
            vocabulary,
            max_new_tokens=int(manifest.get("max_new_tokens", DEFAULT_MAX_NEW_TOKENS)),
            manifest=manifest,
        )

    @property
    def name(self) -> str:
        """The model and quantization, for logs and ``/health``."""
        quantization = self.manifest.get("quantization", {}).get("method", "")
        return f"{self.manifest.get('model', 'explainer')} {quantization}".strip()

    def generate_text(self, facts: Facts, budget_s: float = DEFAULT_BUDGET_S) -> tuple[str, Generation]:
        """Generate the raw text for ``facts``, stopping when ``budget_s`` runs out."""
        prompt_ids = self.tokenizer.encode(build_prompt(facts), add_special_tokens=False).ids
        deadline = time.perf_counter() + budget_s
        with self._lock:
            result = generate(
                self.decoder,
                prompt_ids,
                max_new_tokens=self.max_new_tokens,
                stop_ids=self.stop_ids,
                prefix=self.prefix,
                deadline=deadline,
            )
        text = self.tokenizer.decode(list(result.tokens), skip_special_tokens=True)
        return " ".join(text.split()), result

    def explain(self, facts: Facts, budget_s: float = DEFAULT_BUDGET_S) -> ModelExplanation:
        """Generate and check one explanation; ``grounded`` tells whether it may be shown."""
        started = time.perf_counter()
        text, result = self.generate_text(facts, budget_s)
        if result.stop_reason != "stop_token":
            problems = [f"generation stopped by {result.stop_reason.replace('_', ' ')}"]
        else:
            problems = check_explanation(text, facts, self.vocabulary)
        return ModelExplanation(
            text=text,
            grounded=not problems,
            problems=problems,
            generation=result,
            seconds=time.perf_counter() - started,
        )
