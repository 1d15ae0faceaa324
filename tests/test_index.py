"""The USearch index built from the real catalogue and encoder."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from ranking.artifacts import (
    CATALOGUE_DIR,
    ENCODER_DIR,
    INDEX_DIR,
    read_manifest,
    sha256_file,
    write_manifest,
)
from ranking.catalogue import Catalogue
from ranking.exceptions import ArtifactError, ArtifactMismatchError
from ranking.index import EMBEDDINGS_FILE, VectorIndex, load_index_folder


@pytest.fixture(scope="module")
def catalogue(artifacts_dir: Path) -> Catalogue:
    return Catalogue.load(artifacts_dir / CATALOGUE_DIR)


@pytest.fixture(scope="module")
def index(artifacts_dir: Path, catalogue: Catalogue) -> VectorIndex:
    return load_index_folder(artifacts_dir / INDEX_DIR, artifacts_dir / ENCODER_DIR, catalogue)


def test_index_covers_catalogue(index: VectorIndex, catalogue: Catalogue) -> None:
    assert len(index) == len(catalogue)
    assert index.embeddings.shape == (len(catalogue), 384)
    norms = np.linalg.norm(np.asarray(index.embeddings[:500]), axis=1)
    assert np.allclose(norms, 1.0, atol=1e-3)


def test_index_round_trip_finds_itself(index: VectorIndex, catalogue: Catalogue) -> None:
    rows = [
        catalogue.position("leetcode:two-sum"),
        catalogue.position("codeforces:1957B"),
        0,
        len(catalogue) - 1,
    ]
    hits = index.search(np.asarray(index.embeddings[rows]), k=1)
    assert [row[0].position for row in hits] == rows
    assert all(row[0].similarity > 0.99 for row in hits)


def test_index_recall_against_exact_search(index: VectorIndex) -> None:
    rng = np.random.default_rng(11)
    rows = rng.choice(len(index), size=50, replace=False)
    queries = np.asarray(index.embeddings[rows], dtype=np.float32)
    exact = np.argsort(-(queries @ np.asarray(index.embeddings).T), axis=1)[:, :100]
    found = index.search(queries, k=100)
    overlap = [
        len({h.position for h in hits} & set(truth)) / 100 for hits, truth in zip(found, exact, strict=True)
    ]
    assert float(np.mean(overlap)) >= 0.99


def test_index_never_returns_padding(index: VectorIndex) -> None:
    # Asking for more neighbours than the index contains must return real hits only.
    hits = index.search(np.asarray(index.embeddings[:1]), k=len(index) + 10)[0]
    positions = [h.position for h in hits]
    assert len(positions) == len(set(positions))
    assert len(positions) <= len(index)


def test_index_rejects_other_encoder(artifacts_dir: Path, catalogue: Catalogue) -> None:
    with pytest.raises(ArtifactMismatchError, match="built by encoder"):
        VectorIndex.load(artifacts_dir / INDEX_DIR, encoder_manifest_sha256="0" * 64, catalogue=catalogue)


def test_index_rejects_corrupt_embeddings(artifacts_dir: Path, catalogue: Catalogue, tmp_path: Path) -> None:
    copy = tmp_path / "index"
    shutil.copytree(artifacts_dir / INDEX_DIR, copy)
    embeddings = np.load(copy / EMBEDDINGS_FILE)
    embeddings[0, 0] += 1.0
    np.save(copy / EMBEDDINGS_FILE, embeddings)
    manifest = read_manifest(copy)
    with pytest.raises(ArtifactError, match="does not match the sha256"):
        VectorIndex.load(
            copy, encoder_manifest_sha256=manifest["encoder_manifest_sha256"], catalogue=catalogue
        )


def test_index_rejects_other_catalogue(artifacts_dir: Path, catalogue: Catalogue, tmp_path: Path) -> None:
    copy = tmp_path / "index"
    shutil.copytree(artifacts_dir / INDEX_DIR, copy)
    manifest = read_manifest(copy)
    keys = json.loads((copy / "keys.json").read_text())
    (copy / "keys.json").write_text(json.dumps(list(reversed(keys))))
    manifest["files"]["keys.json"] = sha256_file(copy / "keys.json")
    write_manifest(copy, manifest)
    with pytest.raises(ArtifactMismatchError, match="differ from the loaded catalogue"):
        VectorIndex.load(
            copy, encoder_manifest_sha256=manifest["encoder_manifest_sha256"], catalogue=catalogue
        )
