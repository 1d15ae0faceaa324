"""The problem vector index: USearch (cosine) plus the embedding matrix.

Keys in the USearch index are catalogue row numbers. The folder contains
``problems.usearch``, ``embeddings.npy`` ((n_problems, dim) float32, rows
L2-normalised, same order as the catalogue), ``keys.json`` (the catalogue id
of each key) and ``manifest.json``, which records the sha256 of the encoder
manifest the vectors came from.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from usearch.index import Index, Matches

from ranking.artifacts import manifest_sha256, read_manifest, verify_files
from ranking.catalogue import Catalogue
from ranking.exceptions import ArtifactError, ArtifactMismatchError

logger = logging.getLogger(__name__)

INDEX_FILE = "problems.usearch"
EMBEDDINGS_FILE = "embeddings.npy"
KEYS_FILE = "keys.json"

# HNSW settings. With a catalogue of ~15k problems, expansion_search=256
# keeps recall@100 against exact search above 0.99 (see tests/test_index.py).
CONNECTIVITY = 16
EXPANSION_ADD = 128
EXPANSION_SEARCH = 256


@dataclass(frozen=True)
class Hit:
    """One search result: catalogue row and cosine similarity."""

    position: int
    similarity: float


def new_index(dim: int) -> Index:
    """Create an empty cosine index with the project's HNSW settings."""
    return Index(
        ndim=dim,
        metric="cos",
        dtype="f32",
        connectivity=CONNECTIVITY,
        expansion_add=EXPANSION_ADD,
        expansion_search=EXPANSION_SEARCH,
    )


class VectorIndex:
    """Searches problem embeddings; refuses vectors from another encoder."""

    def __init__(self, index: Index, embeddings: np.ndarray, ids: list[str], manifest: dict) -> None:
        self._index = index
        self.embeddings = embeddings
        self.ids = ids
        self.manifest = manifest

    @classmethod
    def load(
        cls,
        folder: Path,
        *,
        encoder_manifest_sha256: str,
        catalogue: Catalogue,
        verify: bool = True,
    ) -> VectorIndex:
        """Memory-map an index folder after checking it matches the encoder and catalogue.

        Raises
        ------
        ArtifactMismatchError
            When the index was built by another encoder or for another catalogue.
        ArtifactError
            When a file is missing or its sha256 differs from the manifest.
        """
        manifest = read_manifest(folder)
        if verify:
            problems = verify_files(folder, manifest)
            if problems:
                raise ArtifactError("index artifact is corrupt: " + "; ".join(problems))
        built_with = manifest.get("encoder_manifest_sha256")
        if built_with != encoder_manifest_sha256:
            raise ArtifactMismatchError(
                f"index in {folder} was built by encoder {str(built_with)[:12]}, but the loaded "
                f"encoder is {encoder_manifest_sha256[:12]}; rebuild the index with `make artifacts`"
            )
        ids = json.loads((folder / KEYS_FILE).read_text())
        if ids != [problem.id for problem in catalogue.problems]:
            raise ArtifactMismatchError(
                f"index in {folder} covers {len(ids)} problems that differ from the loaded "
                f"catalogue of {len(catalogue)}; rebuild the index with `make artifacts`"
            )
        index = Index.restore(str(folder / INDEX_FILE), view=True)
        if index is None:
            raise ArtifactError(f"{folder / INDEX_FILE} is not a USearch index")
        # The stub marks this property read-only, but usearch 2.23 accepts the assignment.
        index.expansion_search = EXPANSION_SEARCH  # type: ignore[misc]
        embeddings = np.load(folder / EMBEDDINGS_FILE, mmap_mode="r")
        if embeddings.shape != (len(ids), index.ndim):
            raise ArtifactError(
                f"{folder / EMBEDDINGS_FILE} has shape {embeddings.shape}, expected {(len(ids), index.ndim)}"
            )
        logger.info("loaded index of %d problems from %s", len(ids), folder)
        return cls(index, embeddings, ids, manifest)

    def __len__(self) -> int:
        return len(self.ids)

    def search(self, queries: np.ndarray, k: int) -> list[list[Hit]]:
        """Return up to ``k`` hits per query row, best first.

        Parameters
        ----------
        queries : (n_queries, dim) float32
        k : number of neighbours requested per query

        Only the first ``counts[i]`` results of a row are real hits; the rest
        is padding and is dropped here.
        """
        if queries.ndim != 2 or queries.shape[0] == 0:
            return []
        k = max(1, min(k, len(self.ids)))
        matches = self._index.search(np.ascontiguousarray(queries, dtype=np.float32), k)
        # usearch 2.23 returns Matches (already cut to the real hits) for a
        # one-row query and BatchMatches (padded past counts[i]) otherwise.
        if isinstance(matches, Matches):
            rows = [(matches.keys, matches.distances)]
        else:
            rows = [
                (
                    matches.keys[row][: int(matches.counts[row])],
                    matches.distances[row][: int(matches.counts[row])],
                )
                for row in range(queries.shape[0])
            ]
        results: list[list[Hit]] = []
        for keys, distances in rows:
            results.append(
                [
                    Hit(position=int(key), similarity=float(1.0 - distance))
                    for key, distance in zip(keys, distances, strict=True)
                ]
            )
        return results


def load_index_folder(folder: Path, encoder_folder: Path, catalogue: Catalogue) -> VectorIndex:
    """Load the index, checking it against the encoder manifest in ``encoder_folder``."""
    return VectorIndex.load(
        folder, encoder_manifest_sha256=manifest_sha256(encoder_folder), catalogue=catalogue
    )
