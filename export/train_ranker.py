"""Train the LightGBM lambdarank ranker on real orderings and export it to ONNX.

Usage::

    python -m export.train_ranker --artifacts build/artifacts [--force]

Groups come from ``export/ranker_data.py`` (Codeforces solve sequences,
NeetCode 150 and A2OJ ladder orders). Each group's candidates are what the
serving candidate generator returns for that prefix, plus the true next
problems if retrieval missed them. The serving feature code computes the
features. Validation uses the time split; the held-out last 10 % of each
sequence is never read here.
"""

from __future__ import annotations

import argparse
import platform
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# lightgbm is imported before usearch (pulled in by ranking.index): usearch
# 2.25+ with numkong breaks lightgbm when imported first.
import lightgbm as lgb  # isort: skip
import numpy as np
import onnxruntime as ort
from onnxmltools import convert_lightgbm
from onnxmltools.convert.common.data_types import FloatTensorType
from tqdm import tqdm

from export.exceptions import ExportError
from export.ranker_data import (
    Example,
    Split,
    codeforces_examples,
    goal_switch_examples,
    study_list_examples,
)
from ranking.artifacts import (
    CATALOGUE_DIR,
    ENCODER_DIR,
    INDEX_DIR,
    RANKER_DIR,
    inputs_sha256,
    is_fresh,
    manifest_sha256,
    read_manifest,
    sha256_file,
    write_manifest,
)
from ranking.catalogue import Catalogue
from ranking.encoder import OnnxEncoder
from ranking.features import FEATURE_NAMES
from ranking.index import load_index_folder
from ranking.metrics import ndcg_at_k
from ranking.pipeline import Pipeline
from ranking.ranker import INPUT_NAME, RANKER_NATIVE, RANKER_ONNX

PARAMS: dict[str, Any] = {
    "objective": "lambdarank",
    "metric": "ndcg",
    "eval_at": [10],
    "learning_rate": 0.05,
    "num_leaves": 31,
    "min_data_in_leaf": 40,
    "feature_fraction": 0.9,
    "bagging_fraction": 0.9,
    "bagging_freq": 1,
    "lambdarank_truncation_level": 20,
    "seed": 7,
    "deterministic": True,
    "num_threads": 2,
    "verbose": -1,
}
NUM_ROUNDS = 400
EARLY_STOPPING = 40
CODEFORCES_PER_USER: dict[Split, int] = {"train": 60, "valid": 10}
STUDY_LIST_PER_LIST = 24
GOAL_SWITCH_GROUPS = 300
GOAL_SWITCH_SEED = 17
ONNX_OPSET = 15
PARITY_ATOL = 1e-4
# The ranking modules whose code shapes the training groups; editing any of
# them retrains the ranker, editing the reason or explanation code does not.
TRAINING_MODULES = (
    "candidates",
    "catalogue",
    "difficulty",
    "features",
    "goal",
    "index",
    "learner",
    "lookup",
    "metrics",
    "pipeline",
    "types",
)


class GroupSet:
    """Feature rows, labels and group sizes of one split."""

    def __init__(self) -> None:
        self.values: list[np.ndarray] = []
        self.labels: list[np.ndarray] = []
        self.sizes: list[int] = []
        self.names: list[str] = []

    def add(self, name: str, values: np.ndarray, labels: np.ndarray) -> None:
        """Append one group."""
        self.values.append(values)
        self.labels.append(labels)
        self.sizes.append(len(labels))
        self.names.append(name)

    def matrix(self) -> tuple[np.ndarray, np.ndarray]:
        """Stack every group into (n_rows, n_features) values and (n_rows,) labels."""
        return np.concatenate(self.values), np.concatenate(self.labels)


def collect_groups(
    pipeline: Pipeline, examples: Iterable[Example], encoder: OnnxEncoder
) -> dict[str, GroupSet]:
    """Turn examples into candidate groups with graded labels, per split."""
    splits = {"train": GroupSet(), "valid": GroupSet()}
    catalogue = pipeline.catalogue
    goal_vectors: dict[str, np.ndarray] = {}

    def encode_goal(texts: Sequence[str]) -> np.ndarray:
        # Goals repeat across groups (a few dozen patterns), so each is encoded once.
        missing = [text for text in texts if text not in goal_vectors]
        if missing:
            goal_vectors.update(zip(missing, encoder.encode(missing), strict=True))
        return np.stack([goal_vectors[text] for text in texts])

    for example in tqdm(list(examples), desc="building groups", unit="group"):
        if example.split not in splits:
            continue
        state = pipeline.state(example.profile, encode=encode_goal)
        relevant = {catalogue.position(pid): grade for pid, grade in example.relevance.items()}
        candidates = pipeline.candidates(state, extra=list(relevant))
        labels = np.array([relevant.get(p, 0) for p in candidates.positions], dtype=np.int32)
        if labels.max(initial=0) == 0 or len(labels) < 2:
            continue
        features = pipeline.features(state, candidates)
        splits[example.split].add(example.group, features.values, labels)
    return splits


def _group_ndcg(scores: np.ndarray, groups: GroupSet, k: int = 10) -> float:
    values: list[float] = []
    start = 0
    for size, labels in zip(groups.sizes, groups.labels, strict=True):
        values.append(ndcg_at_k(scores[start : start + size], labels, k))
        start += size
    return float(np.mean(values)) if values else float("nan")


def train(groups: dict[str, GroupSet]) -> tuple[lgb.Booster, dict[str, Any]]:
    """Train with early stopping on the validation split; report NDCG@10 against baselines."""
    train_x, train_y = groups["train"].matrix()
    valid_x, valid_y = groups["valid"].matrix()
    names = list(FEATURE_NAMES)

    train_set = lgb.Dataset(train_x, train_y, group=groups["train"].sizes, feature_name=names)
    valid_set = lgb.Dataset(valid_x, valid_y, group=groups["valid"].sizes, reference=train_set)
    booster = lgb.train(
        PARAMS,
        train_set,
        num_boost_round=NUM_ROUNDS,
        valid_sets=[valid_set],
        callbacks=[lgb.early_stopping(EARLY_STOPPING, verbose=False)],
    )

    column = {name: i for i, name in enumerate(names)}
    baselines = {
        "popularity": np.nan_to_num(valid_x[:, column["log_popularity"]], nan=-1.0),
        "similarity_to_recent": np.nan_to_num(valid_x[:, column["sim_recent_max"]], nan=-1.0),
    }

    valid_scores = np.asarray(booster.predict(valid_x))
    train_scores = np.asarray(booster.predict(train_x))
    metrics = {
        "valid_ndcg@10": round(_group_ndcg(valid_scores, groups["valid"]), 4),
        "train_ndcg@10": round(_group_ndcg(train_scores, groups["train"]), 4),
        "baselines_valid_ndcg@10": {
            name: round(_group_ndcg(score, groups["valid"]), 4) for name, score in baselines.items()
        },
        "best_iteration": booster.best_iteration,
        "train_groups": len(groups["train"].sizes),
        "valid_groups": len(groups["valid"].sizes),
        "train_rows": int(train_x.shape[0]),
    }

    return booster, metrics


def export_onnx(booster: lgb.Booster, out_dir: Path, check_rows: np.ndarray) -> float:
    """Convert the booster to ONNX and return the max score difference on ``check_rows``."""
    model = convert_lightgbm(
        booster,
        initial_types=[(INPUT_NAME, FloatTensorType([None, len(FEATURE_NAMES)]))],
        target_opset=ONNX_OPSET,
        zipmap=False,
    )
    path = out_dir / RANKER_ONNX
    path.write_bytes(model.SerializeToString())
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    onnx_scores = session.run(None, {INPUT_NAME: check_rows.astype(np.float32)})[0].reshape(-1)
    difference = float(np.abs(onnx_scores - np.asarray(booster.predict(check_rows))).max())
    if difference > PARITY_ATOL:
        raise ExportError(
            f"ONNX ranker scores differ from LightGBM by {difference:.2e} (> {PARITY_ATOL}); "
            "the conversion is not trustworthy"
        )
    return difference


def train_ranker(data_dir: Path, artifacts: Path, *, force: bool = False) -> Path:
    """Build ``artifacts/ranker``; skip when the inputs did not change."""
    out_dir = artifacts / RANKER_DIR
    ranking_dir = Path(__file__).parent.parent / "ranking"
    code = [Path(__file__), Path(__file__).parent / "ranker_data.py"]
    code += [ranking_dir / f"{name}.py" for name in TRAINING_MODULES]
    sources = [data_dir / p for p in ("codeforces_submissions", "neetcode", "a2oj_ladders")]
    files = [f for folder in sources for f in sorted(folder.iterdir()) if f.is_file()]
    params = {
        "lightgbm": PARAMS,
        "rounds": NUM_ROUNDS,
        "per_user": CODEFORCES_PER_USER,
        "per_list": STUDY_LIST_PER_LIST,
        "goal_switch": [GOAL_SWITCH_GROUPS, GOAL_SWITCH_SEED],
        "catalogue": manifest_sha256(artifacts / CATALOGUE_DIR),
        "index": manifest_sha256(artifacts / INDEX_DIR),
    }
    inputs = inputs_sha256([*files, *code], params)
    if not force and is_fresh(out_dir, inputs):
        print(f"ranker: up to date, reusing {out_dir}")
        return out_dir

    started = time.perf_counter()
    catalogue = Catalogue.load(artifacts / CATALOGUE_DIR)
    index = load_index_folder(artifacts / INDEX_DIR, artifacts / ENCODER_DIR, catalogue)
    catalogue_manifest = read_manifest(artifacts / CATALOGUE_DIR)
    pipeline = Pipeline.build(
        catalogue,
        index,
        company_aliases=catalogue_manifest.get("company_aliases", {}),
        tag_aliases=catalogue_manifest.get("tag_aliases", {}),
    )
    examples = [
        *codeforces_examples(data_dir, catalogue, CODEFORCES_PER_USER),
        *study_list_examples(data_dir, catalogue, STUDY_LIST_PER_LIST),
        *goal_switch_examples(data_dir, catalogue, GOAL_SWITCH_GROUPS, GOAL_SWITCH_SEED),
    ]
    print(f"ranker: {len(examples)} examples from Codeforces sequences and study lists")
    encoder = OnnxEncoder.from_folder(artifacts / ENCODER_DIR)
    groups = collect_groups(pipeline, examples, encoder)
    print("ranker: training LightGBM lambdarank")
    booster, metrics = train(groups)
    print(
        f"ranker: validation NDCG@10 {metrics['valid_ndcg@10']} "
        f"(baselines {metrics['baselines_valid_ndcg@10']})"
    )

    out_dir.mkdir(parents=True, exist_ok=True)
    booster.save_model(str(out_dir / RANKER_NATIVE))
    valid_x, _ = groups["valid"].matrix()
    difference = export_onnx(booster, out_dir, valid_x[:2000])
    write_manifest(
        out_dir,
        {
            "artifact": "ranker",
            "files": {name: sha256_file(out_dir / name) for name in (RANKER_ONNX, RANKER_NATIVE)},
            "inputs_sha256": inputs,
            "feature_names": list(FEATURE_NAMES),
            "params": PARAMS,
            "metrics": metrics,
            "onnx": {"opset": ONNX_OPSET, "max_abs_difference": difference},
            "versions": {"lightgbm": lgb.__version__, "onnxruntime": ort.__version__},
            "machine": platform.machine(),
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        },
    )
    print(f"ranker: wrote {out_dir} in {time.perf_counter() - started:.0f} s")
    return out_dir


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description="Train the lambdarank ranker and export it to ONNX.")
    parser.add_argument("--data", type=Path, default=Path("data"))
    parser.add_argument("--artifacts", type=Path, default=Path("build/artifacts"))
    parser.add_argument("--force", action="store_true", help="retrain even if up to date")
    args = parser.parse_args(argv)
    train_ranker(args.data, args.artifacts, force=args.force)


if __name__ == "__main__":
    main()
