"""Fine-tune all-MiniLM-L6-v2 on LeetCode's similar links and export it to int8 ONNX.

Usage::

    python -m export.finetune_encoder --artifacts build/artifacts \\
        [--out build/artifacts/encoder_finetuned] [--force] [--select-epoch]

Training uses the links whose two ends are both training-split problems
(``export/similar_links.py``), so no valid or test problem is seen. The loss
is sentence-transformers' MultipleNegativesSymmetricRankingLoss: each problem
must pick its linked partner out of the batch, in both directions. With
``--select-epoch`` the pool is embedded after every epoch and the epoch with
the best valid Recall@10 is kept; otherwise the last epoch is kept. The kept
model goes through the same int8 export and parity check as
``export/export_encoder.py``, and the manifest records the data counts,
hyperparameters, seed and the valid/test metrics of the int8 model.
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from tqdm import tqdm

from export.encoder_parity import load_reference_model  # sets the hub-offline variables first
from export.encoder_quantize import QUANTIZATION
from export.export_encoder import (
    EMBEDDING_DIM,
    EXPORT_CODE,
    PARITY_MEAN_FLOOR,
    PARITY_MIN_FLOOR,
    SOURCE_PACKAGE,
    UPSTREAM_MODEL,
    _exclusive_lock,
    _library_versions,
    _model_files,
    _package_model_path,
    export_checked_model,
)
from export.similar_eval import embed_pool_onnx, embedding_scores, evaluate_similar
from export.similar_links import SimilarLinks, load_links
from ranking.artifacts import CATALOGUE_DIR, inputs_sha256, is_fresh, write_manifest
from ranking.catalogue import CATALOGUE_FILE, Catalogue
from ranking.encoder import OnnxEncoder
from ranking.text import problem_text

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

FINETUNED_DIR = "encoder_finetuned"
THREADS = 2
EVAL_K = 10


@dataclass(frozen=True)
class TrainingSettings:
    """Hyperparameters of one fine-tuning run."""

    learning_rate: float
    max_epochs: int
    batch_size: int
    # Training truncates at 128 tokens to halve the step time. The export and
    # the service still embed up to 256 tokens.
    train_max_length: int
    warmup_ratio: float
    weight_decay: float
    # The token embeddings and this many lowest transformer layers stay
    # frozen, which skips their backward pass and regularises a small dataset.
    frozen_layers: int
    seed: int


# One run with --select-epoch on a 2-core CPU: valid Recall@10 (PyTorch, 128
# tokens) 0.537 after epoch 1 and 0.543 after epoch 2. No other learning rate
# was compared, because one epoch costs minutes of CPU.
# NOTE: that int8 model scored test Recall@10 0.500 against 0.502 zero-shot,
# so its valid gain (0.571 against 0.490) did not carry over to the test split.
SETTINGS = TrainingSettings(
    learning_rate=1e-4,
    max_epochs=2,
    batch_size=32,
    train_max_length=128,
    warmup_ratio=0.1,
    weight_decay=0.01,
    frozen_layers=3,
    seed=20240611,
)
EXPORT_MAX_LENGTH = 256
FINETUNE_CODE = (
    Path(__file__),
    Path(__file__).with_name("similar_links.py"),
    Path(__file__).with_name("similar_eval.py"),
    Path(__file__).parent.parent / "ranking" / "text.py",
    *EXPORT_CODE,
)


def training_pairs(catalogue: Catalogue, links: SimilarLinks) -> list[tuple[str, str]]:
    """Texts of the linked problem pairs whose two ends are both in the training split."""
    return [
        (problem_text(catalogue.problems[left]), problem_text(catalogue.problems[right]))
        for left, right in links.pairs("train")
    ]


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch, and ask torch for deterministic kernels on 2 threads."""
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.set_num_threads(THREADS)
    torch.use_deterministic_algorithms(True)


def batches(count: int, batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Shuffle ``range(count)`` and cut it into batches, dropping a last batch of one pair.

    A batch of one pair has no in-batch negative, so its loss is always 0.
    """
    order = rng.permutation(count)
    cut = [order[start : start + batch_size] for start in range(0, count, batch_size)]
    return [batch for batch in cut if len(batch) > 1]


def freeze_lower_layers(model: SentenceTransformer, frozen_layers: int) -> list[Any]:
    """Freeze the embeddings and the ``frozen_layers`` lowest layers, return the trainable parameters."""
    # A BertModel, typed loosely because torch's Module.__getattr__ returns a union.
    transformer: Any = model[0].auto_model
    layers = transformer.encoder.layer
    if not 0 <= frozen_layers <= len(layers):
        raise ValueError(f"frozen_layers must be between 0 and {len(layers)}, got {frozen_layers}")
    for module in [transformer.embeddings, *layers[:frozen_layers]]:
        for parameter in module.parameters():
            parameter.requires_grad = False

    return [parameter for parameter in model.parameters() if parameter.requires_grad]


def train_epoch(
    model: SentenceTransformer,
    pairs: Sequence[tuple[str, str]],
    optimizer: Any,
    scheduler: Any,
    rng: np.random.Generator,
    settings: TrainingSettings,
    epoch: int,
) -> float:
    """Run one epoch of symmetric in-batch-negatives training and return the mean loss."""
    from sentence_transformers.losses import MultipleNegativesSymmetricRankingLoss

    loss_function = MultipleNegativesSymmetricRankingLoss(model)
    model.train()
    losses: list[float] = []
    progress = tqdm(batches(len(pairs), settings.batch_size, rng), desc=f"epoch {epoch}", unit="batch")
    for batch in progress:
        anchors = model.tokenize([pairs[i][0] for i in batch])
        positives = model.tokenize([pairs[i][1] for i in batch])
        loss = loss_function([anchors, positives], None)
        loss.backward()
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad()
        losses.append(float(loss.detach()))
        progress.set_postfix(loss=f"{losses[-1]:.3f}")

    return float(np.mean(losses)) if losses else 0.0


def embed_pool_torch(model: SentenceTransformer, catalogue: Catalogue, pool: Sequence[int]) -> np.ndarray:
    """Embed the pool problems with the PyTorch model into unit rows, indexed by catalogue row.

    Rows outside the pool stay zero. The model keeps its training token limit,
    so these vectors only compare epochs with each other.
    """
    model.eval()
    texts = [problem_text(catalogue.problems[row]) for row in pool]
    vectors = model.encode(
        texts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=True
    )
    embeddings = np.zeros((len(catalogue), vectors.shape[1]), dtype=np.float32)
    embeddings[list(pool)] = vectors
    return embeddings


def fine_tune(
    model_path: Path,
    catalogue: Catalogue,
    links: SimilarLinks,
    settings: TrainingSettings,
    out_model: Path,
    *,
    select_epoch: bool = False,
) -> dict[str, Any]:
    """Fine-tune the model at ``model_path`` and save it as a sentence-transformers folder.

    With ``select_epoch``, the pool is embedded after every epoch and the
    epoch with the best valid Recall@10 is saved. This costs about 3 minutes
    of CPU per epoch, so the build trains ``settings.max_epochs`` epochs and
    saves the last one. Returns the training pair count, the per-epoch loss
    (and valid metrics when selecting) and the saved epoch.
    """
    import torch
    from transformers import get_linear_schedule_with_warmup

    seed_everything(settings.seed)
    model = load_reference_model(model_path, settings.train_max_length)
    trainable = freeze_lower_layers(model, settings.frozen_layers)
    pairs = training_pairs(catalogue, links)
    rng = np.random.default_rng(settings.seed)
    steps_per_epoch = len(batches(len(pairs), settings.batch_size, np.random.default_rng(0)))
    total_steps = steps_per_epoch * settings.max_epochs
    optimizer = torch.optim.AdamW(trainable, lr=settings.learning_rate, weight_decay=settings.weight_decay)
    scheduler = get_linear_schedule_with_warmup(
        optimizer, int(settings.warmup_ratio * total_steps), total_steps
    )

    history: list[dict[str, float]] = []
    best_epoch, best_recall = settings.max_epochs, -1.0
    for epoch in range(1, settings.max_epochs + 1):
        loss = train_epoch(model, pairs, optimizer, scheduler, rng, settings, epoch)
        record: dict[str, float] = {"epoch": epoch, "loss": loss}
        if select_epoch:
            record.update(_valid_metrics(model, catalogue, links))
            recall = record[f"recall@{EVAL_K}"]
            print(f"finetune: epoch {epoch} loss {loss:.3f}, valid recall@{EVAL_K} {recall:.3f}")
            if recall > best_recall:
                best_epoch, best_recall = epoch, recall
                model.save(str(out_model))
        else:
            print(f"finetune: epoch {epoch} loss {loss:.3f}")
        history.append(record)
    if not select_epoch:
        model.save(str(out_model))

    return {"train_pairs": len(pairs), "history": history, "saved_epoch": best_epoch}


def _valid_metrics(model: SentenceTransformer, catalogue: Catalogue, links: SimilarLinks) -> dict[str, float]:
    embeddings = embed_pool_torch(model, catalogue, links.pool)
    methods = {"model": embedding_scores(embeddings, links.pool)}
    metrics = evaluate_similar(catalogue, links, methods, split="valid", k=EVAL_K)["model"]
    return {key: value for key, value in metrics.items() if key != "queries"}


def finetune_encoder(
    artifacts: Path,
    out_dir: Path,
    *,
    settings: TrainingSettings = SETTINGS,
    force: bool = False,
    select_epoch: bool = False,
) -> Path:
    """Fine-tune, export and measure the encoder into ``out_dir``, or reuse it when fresh."""
    model_path = _package_model_path()
    catalogue_file = artifacts / CATALOGUE_DIR / CATALOGUE_FILE
    params = {
        "settings": asdict(settings),
        "select_epoch": select_epoch,
        "export_max_length": EXPORT_MAX_LENGTH,
        "quantization": asdict(QUANTIZATION),
        "versions": _library_versions(),
    }
    inputs = inputs_sha256([catalogue_file, *_model_files(model_path), *FINETUNE_CODE], params)
    if not force and is_fresh(out_dir, inputs):
        print(f"finetune: up to date, reusing {out_dir}")
        return out_dir

    with _exclusive_lock(out_dir):
        if not force and is_fresh(out_dir, inputs):
            print(f"finetune: up to date, reusing {out_dir}")
            return out_dir
        _finetune_into(out_dir, model_path, catalogue_file, inputs, settings, select_epoch)

    return out_dir


def _finetune_into(
    out_dir: Path,
    model_path: Path,
    catalogue_file: Path,
    inputs: str,
    settings: TrainingSettings,
    select_epoch: bool,
) -> None:
    started = time.perf_counter()
    catalogue = Catalogue.load(catalogue_file)
    links = load_links(catalogue)
    with tempfile.TemporaryDirectory(prefix=".finetune-", dir=out_dir.parent) as scratch:
        tuned_path = Path(scratch) / "model"
        print(f"finetune: training on {len(links.pairs('train'))} train-split link pairs")
        training = fine_tune(model_path, catalogue, links, settings, tuned_path, select_epoch=select_epoch)
        train_seconds = time.perf_counter() - started

        print(f"finetune: exporting the epoch-{training['saved_epoch']} model to int8 ONNX")
        files, summary, report = export_checked_model(tuned_path, out_dir, EXPORT_MAX_LENGTH)
    export_seconds = time.perf_counter() - started - train_seconds

    encoder = OnnxEncoder.from_files(out_dir / "model.int8.onnx", out_dir / "tokenizer.json", threads=THREADS)
    embeddings = embed_pool_onnx(encoder, catalogue, links.pool)
    methods = {"finetuned_int8": embedding_scores(embeddings, links.pool)}
    metrics = {
        split: evaluate_similar(catalogue, links, methods, split=split, k=EVAL_K)["finetuned_int8"]
        for split in ("valid", "test")
    }
    print(
        f"finetune: int8 recall@{EVAL_K} valid {metrics['valid'][f'recall@{EVAL_K}']:.3f}, "
        f"test {metrics['test'][f'recall@{EVAL_K}']:.3f}"
    )

    manifest = {
        "artifact": "encoder",
        "files": files,
        "inputs_sha256": inputs,
        "source": {
            "package": SOURCE_PACKAGE,
            "version": metadata.version(SOURCE_PACKAGE),
            "upstream_model": UPSTREAM_MODEL,
            "fine_tuned": "LeetCode similar-question links, train split",
        },
        "training": {
            **training,
            "train_link_pairs": len(links.pairs("train")),
            "train_queries": len(links.queries("train")),
            "pool": len(links.pool),
            "settings": asdict(settings),
            "select_epoch": select_epoch,
            "loss": "MultipleNegativesSymmetricRankingLoss",
            "train_seconds": round(train_seconds, 1),
            "export_seconds": round(export_seconds, 1),
        },
        "similar_links": metrics,
        "opset": summary["opset"],
        "graph": {
            "inputs": {"input_ids": "int64", "attention_mask": "int64"},
            "output": "sentence_embedding",
            "pooling": "mean",
            "normalization": "l2",
        },
        "quantization": {**asdict(QUANTIZATION), "node_counts": summary["node_counts"]},
        "max_length": EXPORT_MAX_LENGTH,
        "truncation": "right",
        "padding": "longest",
        "dim": EMBEDDING_DIM,
        "parity": {
            **asdict(report),
            "mean_floor": PARITY_MEAN_FLOOR,
            "min_floor": PARITY_MIN_FLOOR,
            "reference": f"the fine-tuned sentence-transformers model, max_seq_length "
            f"{EXPORT_MAX_LENGTH}, CPU fp32",
        },
        "versions": _library_versions(),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    write_manifest(out_dir, manifest)
    print(f"finetune: wrote {out_dir} in {time.perf_counter() - started:.0f} s")


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(
        description="Fine-tune the sentence encoder on LeetCode similar links and export it to int8 ONNX."
    )
    parser.add_argument(
        "--artifacts",
        type=Path,
        default=Path("build/artifacts"),
        help="artifacts root that contains catalogue/ (default: build/artifacts)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help=f"output folder for the fine-tuned encoder (default: ARTIFACTS/{FINETUNED_DIR})",
    )
    parser.add_argument("--force", action="store_true", help="retrain even when the output is fresh")
    parser.add_argument(
        "--select-epoch",
        action="store_true",
        help="embed the pool after every epoch and keep the epoch with the best valid Recall@10 "
        "(about 3 more minutes of CPU per epoch)",
    )
    args = parser.parse_args(argv)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    finetune_encoder(
        args.artifacts,
        args.out or args.artifacts / FINETUNED_DIR,
        force=args.force,
        select_epoch=args.select_epoch,
    )


if __name__ == "__main__":
    main()
