"""Compare the int8 ONNX encoder with the PyTorch sentence-transformers model.

Both encoders embed the same labelled texts. The check reports the cosine
between their vectors per text and how far the nearest-neighbour lists agree.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from tqdm import tqdm

from export.exceptions import ParityError
from ranking.encoder import OnnxEncoder

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

# Nothing may come from a model hub, because the weights come from an
# installed package. huggingface_hub reads these variables when it is first
# imported, and the export and bench code import it (through optimum,
# transformers or sentence-transformers) only after this module.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

PARITY_BATCH_SIZE = 8
NEIGHBOURS_K = 5


@dataclass(frozen=True)
class ParityReport:
    """Cosine agreement between the ONNX and PyTorch encoders on one text set."""

    n_texts: int
    mean_cosine: float
    min_cosine: float
    min_label: str
    top5_overlap: float
    """Mean share of each text's 5 nearest neighbours (by the reference) that the
    ONNX vectors also rank in their top 5."""


def load_reference_model(model_path: Path, max_length: int) -> SentenceTransformer:
    """Load the sentence-transformers model on CPU with the same token limit as the export."""
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(model_path), device="cpu", local_files_only=True)
    model.max_seq_length = max_length
    return model


def reference_embeddings(model: SentenceTransformer, texts: Sequence[str], batch_size: int) -> np.ndarray:
    """Embed ``texts`` with the PyTorch model into (n, dim) float32 unit rows."""
    vectors = model.encode(
        list(texts),
        batch_size=batch_size,
        normalize_embeddings=True,
        convert_to_numpy=True,
        show_progress_bar=False,
    )
    return np.asarray(vectors, dtype=np.float32)


def rowwise_cosine(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Return the cosine between matching rows of two (n, dim) arrays as (n,) float64."""
    left64 = left.astype(np.float64)
    right64 = right.astype(np.float64)
    dots = np.sum(left64 * right64, axis=1)
    norms = np.linalg.norm(left64, axis=1) * np.linalg.norm(right64, axis=1)
    return dots / norms


def neighbour_overlap(reference: np.ndarray, candidate: np.ndarray, k: int) -> float:
    """Mean share of each row's top-k neighbours (self excluded) found by both."""
    n = reference.shape[0]
    if n <= k:
        raise ValueError(f"neighbour overlap at k={k} needs more than {k} rows, got {n}")
    reference_top = _top_neighbours(reference, k)
    candidate_top = _top_neighbours(candidate, k)
    shares = [
        len(set(expected) & set(found)) / k
        for expected, found in zip(reference_top, candidate_top, strict=True)
    ]

    return float(np.mean(shares))


def _top_neighbours(vectors: np.ndarray, k: int) -> list[list[int]]:
    """Indices of each row's k most similar other rows, most similar first."""
    similarity = vectors.astype(np.float64) @ vectors.astype(np.float64).T
    np.fill_diagonal(similarity, -np.inf)
    top: list[list[int]] = np.argsort(-similarity, axis=1, kind="stable")[:, :k].tolist()
    return top


def check_parity(
    encoder: OnnxEncoder,
    reference_model: SentenceTransformer,
    labelled_texts: Sequence[tuple[str, str]],
    *,
    mean_floor: float,
    min_floor: float,
) -> ParityReport:
    """Embed ``labelled_texts`` with both encoders and raise ParityError below a floor.

    Raises
    ------
    ParityError
        When the mean cosine is below ``mean_floor`` or any text's cosine is
        below ``min_floor``; the message gives both figures and the worst text.
    """
    labels = [label for label, _ in labelled_texts]
    texts = [text for _, text in labelled_texts]
    onnx_chunks: list[np.ndarray] = []
    reference_chunks: list[np.ndarray] = []
    batches = range(0, len(texts), PARITY_BATCH_SIZE)
    for start in tqdm(batches, desc="parity", unit="batch"):
        batch = texts[start : start + PARITY_BATCH_SIZE]
        onnx_chunks.append(encoder.encode(batch, batch_size=PARITY_BATCH_SIZE))
        reference_chunks.append(reference_embeddings(reference_model, batch, PARITY_BATCH_SIZE))
    onnx_vectors = np.concatenate(onnx_chunks)
    reference_vectors = np.concatenate(reference_chunks)

    cosines = rowwise_cosine(onnx_vectors, reference_vectors)
    worst = int(np.argmin(cosines))
    report = ParityReport(
        n_texts=len(texts),
        mean_cosine=float(np.mean(cosines)),
        min_cosine=float(cosines[worst]),
        min_label=labels[worst],
        top5_overlap=neighbour_overlap(reference_vectors, onnx_vectors, NEIGHBOURS_K),
    )
    if report.mean_cosine < mean_floor or report.min_cosine < min_floor:
        raise ParityError(
            f"int8 encoder parity check failed on {report.n_texts} texts: mean cosine "
            f"{report.mean_cosine:.4f} (floor {mean_floor}), min cosine "
            f"{report.min_cosine:.4f} on {report.min_label!r} (floor {min_floor}). Check the "
            f"quantization settings (per-channel weights, excluded nodes) and the tokenizer's "
            f"truncation and padding"
        )

    return report
