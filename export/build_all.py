"""Build every artifact the service needs, skipping the ones that are up to date.

Usage::

    python -m export.build_all --data data --out build/artifacts [--force]

Steps: catalogue (ingest) → encoder (int8 ONNX) → index (USearch) → ranker
(LightGBM → ONNX) → explainer (int4 ONNX decoder, built in its own venv;
``--no-explainer`` skips it). Each step keys its cache on a hash of its
inputs, so a second run only re-hashes files.
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

# Imported first on purpose: see the note in export/train_ranker.py.
from export.train_ranker import train_ranker  # isort: skip
from export.build_index import build_index
from export.export_encoder import export_encoder
from export.export_explainer import export_explainer
from export.ingest import build_catalogue
from ranking.artifacts import CATALOGUE_DIR, ENCODER_DIR, write_manifest
from ranking.explainer import EXPLAINER_DIR
from ranking.service import model_version_of

ROOT_MANIFEST_KEYS = ("catalogue", "encoder", "index", "ranker")


def build_all(data_dir: Path, out_dir: Path, *, force: bool = False, explainer: bool = True) -> Path:
    """Build or reuse all artifacts under ``out_dir`` and return it.

    Without ``explainer`` the explainer step is skipped; a folder it built
    before stays and is still served.
    """
    started = time.perf_counter()
    steps = 5 if explainer else 4
    print(f"[1/{steps}] catalogue from {data_dir}")
    build_catalogue(data_dir, out_dir / CATALOGUE_DIR, force=force)
    print(f"[2/{steps}] encoder (int8 ONNX)")
    export_encoder(out_dir / ENCODER_DIR, force=force)
    print(f"[3/{steps}] vector index")
    build_index(out_dir, force=force)
    print(f"[4/{steps}] ranker")
    train_ranker(data_dir, out_dir, force=force)
    if explainer:
        print(f"[5/{steps}] explainer (int4 ONNX decoder)")
        export_explainer(out_dir / EXPLAINER_DIR, force=force)
    components = list(ROOT_MANIFEST_KEYS)
    if (out_dir / EXPLAINER_DIR / "manifest.json").is_file():
        components.append(EXPLAINER_DIR)
    version = model_version_of(out_dir)
    write_manifest(out_dir, {"artifact": "model_version", "model_version": version, "components": components})
    print(f"artifacts ready in {out_dir} (model version {version}, {time.perf_counter() - started:.0f} s)")
    return out_dir


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description="Build every artifact the service needs.")
    parser.add_argument("--data", type=Path, default=Path("data"), help="folder with the bundled data")
    parser.add_argument("--out", type=Path, default=Path("build/artifacts"), help="artifacts folder")
    parser.add_argument("--force", action="store_true", help="rebuild every step")
    parser.add_argument(
        "--no-explainer",
        action="store_true",
        help="skip the explainer (templates only; saves about 5 GB under build/)",
    )
    args = parser.parse_args(argv)
    # Only this project's loggers speak at INFO; onnxruntime's quantizer logs
    # every tensor it skips at INFO, which would bury the step lines.
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    for name in ("export", "ranking"):
        logging.getLogger(name).setLevel(logging.INFO)
    build_all(args.data, args.out, force=args.force, explainer=not args.no_explainer)


if __name__ == "__main__":
    main()
