"""Embed every catalogue problem and build the USearch index.

Usage::

    python -m export.build_index --artifacts build/artifacts [--force]

Reads ``catalogue/`` and ``encoder/`` under the artifacts root and writes
``index/``. The index manifest records the encoder manifest's sha256, and the
service refuses to load an index built by any other encoder.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ranking.artifacts import (
    CATALOGUE_DIR,
    ENCODER_DIR,
    INDEX_DIR,
    inputs_sha256,
    is_fresh,
    manifest_sha256,
    sha256_file,
    write_manifest,
)
from ranking.catalogue import CATALOGUE_FILE, Catalogue
from ranking.encoder import OnnxEncoder
from ranking.index import (
    CONNECTIVITY,
    EMBEDDINGS_FILE,
    EXPANSION_ADD,
    EXPANSION_SEARCH,
    INDEX_FILE,
    KEYS_FILE,
    new_index,
)
from ranking.text import MAX_DESCRIPTION_CHARS, problem_text

BATCH_SIZE = 64


def embed_catalogue(encoder: OnnxEncoder, catalogue: Catalogue) -> np.ndarray:
    """Embed every problem; returns (n_problems, dim) float32 in catalogue order."""
    texts = [problem_text(problem) for problem in catalogue.problems]
    chunks: list[np.ndarray] = []
    with tqdm(total=len(texts), desc="embedding problems", unit="problem") as bar:
        for start in range(0, len(texts), BATCH_SIZE * 8):
            batch = texts[start : start + BATCH_SIZE * 8]
            chunks.append(encoder.encode(batch, batch_size=BATCH_SIZE))
            bar.update(len(batch))
    if not chunks:
        return np.zeros((0, encoder.dim), dtype=np.float32)
    return np.concatenate(chunks).astype(np.float32)


def build_index(artifacts: Path, *, force: bool = False, threads: int | None = None) -> Path:
    """Build ``artifacts/index`` from the catalogue and encoder there; skip if fresh."""
    catalogue_dir = artifacts / CATALOGUE_DIR
    encoder_dir = artifacts / ENCODER_DIR
    out_dir = artifacts / INDEX_DIR
    encoder_sha = manifest_sha256(encoder_dir)
    params = {
        "encoder_manifest_sha256": encoder_sha,
        "connectivity": CONNECTIVITY,
        "expansion_add": EXPANSION_ADD,
        "max_description_chars": MAX_DESCRIPTION_CHARS,
    }
    code = [Path(__file__), Path(__file__).parent.parent / "ranking" / "text.py"]
    inputs = inputs_sha256([catalogue_dir / CATALOGUE_FILE, *code], params)
    if not force and is_fresh(out_dir, inputs):
        print(f"index: up to date, reusing {out_dir}")
        return out_dir

    started = time.perf_counter()
    catalogue = Catalogue.load(catalogue_dir)
    encoder = OnnxEncoder.from_folder(encoder_dir, threads=threads)
    print(f"index: embedding {len(catalogue)} problems with the int8 encoder")
    vectors = embed_catalogue(encoder, catalogue)

    out_dir.mkdir(parents=True, exist_ok=True)
    index = new_index(encoder.dim)
    # One thread: a multi-threaded HNSW build links the graph in a different
    # order each run, which changes neighbours, training groups and the ranker.
    index.add(np.arange(len(catalogue), dtype=np.uint64), vectors, threads=1)
    index.save(str(out_dir / INDEX_FILE))
    np.save(out_dir / EMBEDDINGS_FILE, vectors)
    (out_dir / KEYS_FILE).write_text(json.dumps([p.id for p in catalogue.problems]))

    files = {name: sha256_file(out_dir / name) for name in (INDEX_FILE, EMBEDDINGS_FILE, KEYS_FILE)}
    write_manifest(
        out_dir,
        {
            "artifact": "index",
            "files": files,
            "inputs_sha256": inputs,
            "encoder_manifest_sha256": encoder_sha,
            "catalogue_sha256": sha256_file(catalogue_dir / CATALOGUE_FILE),
            "count": len(catalogue),
            "ndim": encoder.dim,
            "metric": "cos",
            "dtype": "f32",
            "connectivity": CONNECTIVITY,
            "expansion_add": EXPANSION_ADD,
            "expansion_search": EXPANSION_SEARCH,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        },
    )
    print(f"index: wrote {len(catalogue)} vectors to {out_dir} in {time.perf_counter() - started:.0f} s")
    return out_dir


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--artifacts", type=Path, default=Path("build/artifacts"))
    parser.add_argument("--force", action="store_true", help="rebuild even if up to date")
    parser.add_argument("--threads", type=int, default=None, help="onnxruntime intra-op threads")
    args = parser.parse_args(argv)
    build_index(args.artifacts, force=args.force, threads=args.threads)


if __name__ == "__main__":
    main()
