"""Build the explainer variants that ``bench/bench_explainer.py`` compares with the int4 artifact.

Two variants are built from the fp32 Hugging Face checkpoint that
``export/export_explainer.py`` dequantizes (``build/explainer-src/hf``):

- ``int8``: the onnxruntime-genai model builder with ``--precision int8`` and
  the builder options of the int4 artifact, run in the builder venv
  (``build/explainer-env``). The graph has the int4 artifact's layout. With
  these options the builder (onnxruntime-genai 0.18.0) does not share the
  embedding table with the int8 LM head, so the table stays fp32 (545 MB).
- ``optimum-fp32``: a plain ``optimum`` export (``text-generation-with-past``)
  in the project's venv, without quantization. Its graph takes
  ``position_ids`` and returns the logits of every position. The LM head is
  stored apart from the embedding table, because optimum-onnx 0.1.0
  deduplicates tied weights only when ``accelerate`` is installed.

Each variant lives in ``build/explainer-variants/<name>/`` and is reused when
its ``variant.json`` marker exists; delete the folder to rebuild it.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

from export.exceptions import ExportError
from export.explainer_env import DEFAULT_ENV_DIR, env_library_versions, env_python, run_in_env
from export.export_explainer import BUILDER_OPTIONS

DEFAULT_VARIANTS_DIR = Path("build/explainer-variants")
DEFAULT_HF_DIR = Path("build/explainer-src/hf")
MARKER_NAME = "variant.json"
MODEL_FILE = "model.onnx"
INT8 = "int8"
OPTIMUM_FP32 = "optimum-fp32"
# Files that transformers 4.57 needs besides config.json to load the checkpoint and its tokenizer.
_CHECKPOINT_FILES = (
    "model.safetensors",
    "generation_config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "chat_template.jinja",
)


def variant_folder(variants_dir: Path, name: str) -> Path | None:
    """Return the folder of a finished variant, or None when it was never built or is incomplete."""
    folder = variants_dir / name
    if (folder / MARKER_NAME).is_file() and (folder / MODEL_FILE).is_file():
        return folder
    return None


def build_int8(hf_dir: Path, variants_dir: Path, env_dir: Path = DEFAULT_ENV_DIR) -> Path:
    """Build the int8 MatMulNBits graph with the genai builder unless it exists, and return its folder."""
    existing = variant_folder(variants_dir, INT8)
    if existing is not None:
        return existing
    python = env_python(env_dir)
    if not python.is_file():
        raise ExportError(f"the builder venv {env_dir} is missing; create it with `make explainer-env`")
    out_dir = variants_dir / INT8
    shutil.rmtree(out_dir, ignore_errors=True)
    started = time.perf_counter()
    print(f"[variants] building the int8 graph into {out_dir} (about 2 min)", flush=True)
    run_in_env(
        python,
        "onnxruntime_genai.models.builder",
        [
            "--input",
            str(hf_dir.resolve()),
            "--output",
            str(out_dir.resolve()),
            "--precision",
            "int8",
            "--execution_provider",
            "cpu",
            "--cache_dir",
            str((variants_dir / "builder-cache").resolve()),
            "--extra_options",
            *BUILDER_OPTIONS,
        ],
        "the onnxruntime-genai model builder (int8)",
        log_path=variants_dir / "logs" / "build-int8.log",
    )
    if not (out_dir / MODEL_FILE).is_file():
        raise ExportError(f"the model builder finished, but {out_dir} lacks {MODEL_FILE}")
    _write_marker(
        out_dir,
        {
            "method": "int8 MatMulNBits (onnxruntime-genai builder, --precision int8)",
            "builder_options": list(BUILDER_OPTIONS),
            "onnxruntime-genai": env_library_versions(python).get("onnxruntime-genai", "unknown"),
            "seconds": round(time.perf_counter() - started, 1),
        },
    )
    return out_dir


def legacy_config(config: dict[str, Any]) -> dict[str, Any]:
    """Rewrite a transformers 5 ``config.json`` in the form transformers 4.57 reads.

    transformers 5 writes ``dtype`` and nests the RoPE settings under
    ``rope_parameters``. transformers 4.57 reads ``torch_dtype``,
    ``rope_theta`` and ``rope_scaling`` instead, and silently falls back to
    its default ``rope_theta`` (10000 for Qwen2) when the key is missing.
    """
    patched = dict(config)
    if "dtype" in patched and "torch_dtype" not in patched:
        patched["torch_dtype"] = patched.pop("dtype")
    rope = patched.pop("rope_parameters", None)
    if isinstance(rope, dict):
        rope = dict(rope)
        if "rope_theta" in rope:
            patched.setdefault("rope_theta", rope.pop("rope_theta"))
        if rope.get("rope_type", "default") == "default":
            patched.setdefault("rope_scaling", None)
        else:
            patched.setdefault("rope_scaling", rope)
    return patched


def build_optimum_fp32(hf_dir: Path, variants_dir: Path) -> Path:
    """Export the fp32 checkpoint with ``optimum`` unless it exists, and return its folder.

    The export reads a copy of the checkpoint folder whose ``config.json`` is
    rewritten by ``legacy_config``. The weights are linked, not copied.
    """
    existing = variant_folder(variants_dir, OPTIMUM_FP32)
    if existing is not None:
        return existing
    from optimum.exporters.onnx import main_export

    out_dir = variants_dir / OPTIMUM_FP32
    source_dir = variants_dir / f"{OPTIMUM_FP32}-source"
    shutil.rmtree(out_dir, ignore_errors=True)
    shutil.rmtree(source_dir, ignore_errors=True)
    source_dir.mkdir(parents=True)
    config = json.loads((hf_dir / "config.json").read_text())
    (source_dir / "config.json").write_text(json.dumps(legacy_config(config), indent=2) + "\n")
    for name in _CHECKPOINT_FILES:
        if (hf_dir / name).is_file():
            (source_dir / name).symlink_to((hf_dir / name).resolve())

    started = time.perf_counter()
    print(f"[variants] exporting the fp32 graph with optimum into {out_dir} (several minutes)", flush=True)
    main_export(
        str(source_dir),
        out_dir,
        task="text-generation-with-past",
        do_validation=False,
        local_files_only=True,
    )
    if not (out_dir / MODEL_FILE).is_file():
        raise ExportError(f"the optimum export finished, but {out_dir} lacks {MODEL_FILE}")
    _write_marker(
        out_dir,
        {
            "method": "fp32, optimum.exporters.onnx.main_export(task='text-generation-with-past')",
            "config_patch": "dtype and rope_parameters rewritten for transformers 4.57",
            "seconds": round(time.perf_counter() - started, 1),
        },
    )
    shutil.rmtree(source_dir)
    return out_dir


def read_variant_details(folder: Path) -> dict[str, Any]:
    """Return what ``variant.json`` in ``folder`` records about how the variant was built."""
    details: dict[str, Any] = json.loads((folder / MARKER_NAME).read_text())
    return details


def _write_marker(folder: Path, details: dict[str, Any]) -> None:
    (folder / MARKER_NAME).write_text(json.dumps(details, indent=2) + "\n")
