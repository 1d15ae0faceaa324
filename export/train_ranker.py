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
import hashlib
import json
import platform
import random
import time
from collections.abc import Callable, Iterable, Sequence
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
    Attempt,
    Example,
    Split,
    codeforces_attempts,
    codeforces_examples,
    goal_switch_examples,
    study_list_examples,
)
from ranking.ability import SolveModel, fit_solve_model
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
from ranking.candidates import Candidates
from ranking.catalogue import Catalogue
from ranking.encoder import OnnxEncoder
from ranking.features import FEATURE_NAMES
from ranking.index import load_index_folder
from ranking.metrics import ndcg_at_k
from ranking.pipeline import Pipeline
from ranking.ranker import INPUT_NAME, RANKER_NATIVE, RANKER_ONNX

# Settings every trial shares; the search below varies the rest.
BASE_PARAMS: dict[str, Any] = {
    "objective": "lambdarank",
    "metric": "ndcg",
    "eval_at": [10],
    "bagging_freq": 1,
    "seed": 7,
    "deterministic": True,
    "force_row_wise": True,
    # The search varies min_data_in_leaf on one Dataset, which pre-filtering would fix at the first value.
    "feature_pre_filter": False,
    "num_threads": 2,
    "verbose": -1,
}
SEARCH_SPACE: dict[str, tuple[Any, ...]] = {
    "learning_rate": (0.03, 0.05, 0.1),
    "num_leaves": (15, 31, 63),
    "min_data_in_leaf": (20, 50, 100),
    "feature_fraction": (0.7, 0.9),
    "bagging_fraction": (0.8, 1.0),
    "lambda_l2": (0.0, 1.0, 10.0),
    "lambdarank_truncation_level": (10, 20, 40),
}
SEARCH_TRIALS = 6
SEARCH_SEED = 11
NUM_ROUNDS = 400
EARLY_STOPPING = 40
# Each training group keeps its labelled rows and this many sampled unlabelled
# candidates. Full candidate lists cost four times the training time and did
# not raise the validation NDCG@10.
NEGATIVES_PER_GROUP = 120
LABEL_GAIN_MAX = 30
CODEFORCES_PER_USER: dict[Split, int] = {"train": 60, "valid": 10}
PARAMS_FILE = "params.json"
ATTEMPTS_PER_USER: dict[Split, int] = {"train": 120}
STUDY_LIST_PER_LIST = 48
GOAL_SWITCH_GROUPS = 300
GOAL_SWITCH_SEED = 17
ONNX_OPSET = 15
PARITY_ATOL = 1e-4
# The ranking modules whose code shapes the training groups; editing any of
# them retrains the ranker, editing the reason or explanation code does not.
TRAINING_MODULES = (
    "ability",
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
    pipeline: Pipeline,
    examples: Iterable[Example],
    encoder: OnnxEncoder,
    splits: Sequence[str] = ("train", "valid"),
) -> dict[str, GroupSet]:
    """Turn examples into candidate groups with graded labels, per split.

    Training groups keep their labelled rows plus ``NEGATIVES_PER_GROUP``
    unlabelled candidates sampled with a seed taken from the group name;
    other splits keep every candidate.
    """
    groups = {split: GroupSet() for split in splits}
    catalogue = pipeline.catalogue
    encode_goal = goal_encoder(encoder)
    for example in tqdm(list(examples), desc="building groups", unit="group"):
        if example.split not in groups:
            continue
        state = pipeline.state(example.profile, encode=encode_goal)
        relevant = {catalogue.position(pid): grade for pid, grade in example.relevance.items()}
        candidates = pipeline.candidates(state, extra=list(relevant))
        labels = np.array([relevant.get(p, 0) for p in candidates.positions], dtype=np.int32)
        if labels.max(initial=0) == 0 or len(labels) < 2:
            continue
        features = pipeline.features(state, candidates)
        values = features.values
        if example.split == "train":
            keep = _sample_rows(labels, example.group)
            values, labels = values[keep], labels[keep]
        groups[example.split].add(example.group, values, labels)
    return groups


def goal_encoder(encoder: OnnxEncoder) -> Callable[[Sequence[str]], np.ndarray]:
    """Wrap the encoder with a cache: goals repeat across groups (a few dozen patterns)."""
    cache: dict[str, np.ndarray] = {}

    def encode(texts: Sequence[str]) -> np.ndarray:
        missing = [text for text in texts if text not in cache]
        if missing:
            cache.update(zip(missing, encoder.encode(missing), strict=True))
        return np.stack([cache[text] for text in texts])

    return encode


def _sample_rows(labels: np.ndarray, group: str) -> np.ndarray:
    positives = np.flatnonzero(labels > 0)
    negatives = np.flatnonzero(labels == 0)
    if len(negatives) > NEGATIVES_PER_GROUP:
        seed = int.from_bytes(hashlib.sha256(group.encode("utf-8")).digest()[:4], "little")
        negatives = np.sort(np.random.default_rng(seed).choice(negatives, NEGATIVES_PER_GROUP, replace=False))
    return np.sort(np.concatenate([positives, negatives]))


def validate_groups(values: np.ndarray, labels: np.ndarray, sizes: Sequence[int], split: str) -> None:
    """Check the groups and labels against what LightGBM's lambdarank needs; the error names the problem.

    Raises
    ------
    ExportError
        When group sizes do not add up to the rows, a group is empty, a label
        is not a whole number in 0..30 (the default label gain table), or no
        group has a relevant row.
    """
    if values.ndim != 2 or values.shape[0] != labels.shape[0]:
        raise ExportError(
            f"{split}: features have shape {values.shape} but there are {labels.shape[0]} labels"
        )
    if values.shape[1] != len(FEATURE_NAMES):
        raise ExportError(f"{split}: {values.shape[1]} feature columns, expected {len(FEATURE_NAMES)}")
    if any(size <= 0 for size in sizes):
        raise ExportError(f"{split}: group sizes must be positive, got {min(sizes)}")
    if sum(sizes) != labels.shape[0]:
        raise ExportError(f"{split}: group sizes add up to {sum(sizes)} rows but there are {labels.shape[0]}")
    if labels.size and (
        not np.all(np.equal(np.mod(labels, 1), 0)) or labels.min() < 0 or labels.max() > LABEL_GAIN_MAX
    ):
        raise ExportError(
            f"{split}: labels must be whole numbers from 0 to {LABEL_GAIN_MAX}, "
            f"got values from {labels.min()} to {labels.max()}"
        )
    if not np.any(labels > 0):
        raise ExportError(f"{split}: no group has a relevant row, so there is nothing to learn")


def _group_ndcg(scores: np.ndarray, groups: GroupSet, k: int = 10) -> float:
    values: list[float] = []
    start = 0
    for size, labels in zip(groups.sizes, groups.labels, strict=True):
        values.append(ndcg_at_k(scores[start : start + size], labels, k))
        start += size
    return float(np.mean(values)) if values else float("nan")


def search_trials(trials: int = SEARCH_TRIALS, seed: int = SEARCH_SEED) -> list[dict[str, Any]]:
    """Draw ``trials`` distinct settings from ``SEARCH_SPACE`` (random search, seeded)."""
    rng = random.Random(seed)
    drawn: list[dict[str, Any]] = []
    attempts = 0
    while len(drawn) < trials and attempts < trials * 50:
        attempts += 1
        trial = {name: rng.choice(choices) for name, choices in SEARCH_SPACE.items()}
        if trial not in drawn:
            drawn.append(trial)
    return drawn


def train(
    groups: dict[str, GroupSet], trials: Sequence[dict[str, Any]] | None = None
) -> tuple[lgb.Booster, dict[str, Any], dict[str, Any]]:
    """Random search on the validation split, then keep the best booster.

    ``trials`` replaces the search with the given settings (a retraining run
    passes the active ranker's chosen parameters). Returns the booster, its
    metrics and the chosen parameters.
    """
    train_x, train_y = groups["train"].matrix()
    valid_x, valid_y = groups["valid"].matrix()
    validate_groups(train_x, train_y, groups["train"].sizes, "train")
    validate_groups(valid_x, valid_y, groups["valid"].sizes, "valid")
    names = list(FEATURE_NAMES)
    train_set = lgb.Dataset(
        train_x,
        train_y,
        group=groups["train"].sizes,
        feature_name=names,
        free_raw_data=False,
        params={"feature_pre_filter": False},
    )
    valid_set = lgb.Dataset(valid_x, valid_y, group=groups["valid"].sizes, reference=train_set)

    best: tuple[float, lgb.Booster, dict[str, Any]] | None = None
    results: list[dict[str, Any]] = []
    settings = search_trials() if trials is None else trials
    for trial in tqdm(settings, desc="hyperparameter search", unit="trial"):
        params = {**BASE_PARAMS, **trial}
        booster = lgb.train(
            params,
            train_set,
            num_boost_round=NUM_ROUNDS,
            valid_sets=[valid_set],
            callbacks=[lgb.early_stopping(EARLY_STOPPING, verbose=False)],
        )
        score = _group_ndcg(np.asarray(booster.predict(valid_x)), groups["valid"])
        results.append({"params": trial, "valid_ndcg@10": round(score, 4), "rounds": booster.best_iteration})
        if best is None or score > best[0]:
            best = (score, booster, params)
    assert best is not None
    score, booster, params = best

    column = {name: i for i, name in enumerate(names)}
    baselines = {
        "popularity": np.nan_to_num(valid_x[:, column["log_popularity"]], nan=-1.0),
        "similarity_to_recent": np.nan_to_num(valid_x[:, column["sim_recent_max"]], nan=-1.0),
    }
    train_scores = np.asarray(booster.predict(train_x))
    metrics = {
        "valid_ndcg@10": round(score, 4),
        "train_ndcg@10": round(_group_ndcg(train_scores, groups["train"]), 4),
        "baselines_valid_ndcg@10": {
            name: round(_group_ndcg(values, groups["valid"]), 4) for name, values in baselines.items()
        },
        "best_iteration": booster.best_iteration,
        "train_groups": len(groups["train"].sizes),
        "valid_groups": len(groups["valid"].sizes),
        "train_rows": int(train_x.shape[0]),
        "search": results,
    }
    return booster, metrics, params


def fit_solve_calibration(pipeline: Pipeline, attempts: Iterable[Attempt]) -> tuple[SolveModel, int]:
    """Fit P(solve) on first attempts of the train split; returns the model and the attempt count."""
    steps, outcomes = ability_steps(pipeline, [a for a in attempts if a.split == "train"])
    return fit_solve_model(steps, outcomes), len(steps)


def ability_steps(pipeline: Pipeline, attempts: Sequence[Attempt]) -> tuple[np.ndarray, np.ndarray]:
    """Ability minus rating, and the outcome, for every attempt where both are known.

    The ability is the one the ``p_solve`` feature uses: the topic estimate
    where the problem's topics have one, else the overall estimate.
    """
    steps: list[float] = []
    outcomes: list[float] = []
    for attempt in tqdm(attempts, desc="P(solve) attempts", unit="attempt"):
        state = pipeline.state(attempt.profile, encode=None)
        position = pipeline.catalogue.position(attempt.problem_id)
        candidates = Candidates()
        candidates.add([position], "label")
        features = pipeline.features(state, candidates)
        # The feature columns hold rating minus ability; P(solve) takes ability minus rating.
        step = features.column("topic_ability_step")[0]
        if np.isnan(step):
            step = features.column("ability_step")[0]
        if not np.isnan(step):
            steps.append(-float(step))
            outcomes.append(1.0 if attempt.solved else 0.0)
    return np.asarray(steps), np.asarray(outcomes)


FLOAT32_MAX = float(np.finfo(np.float32).max)


def _split_thresholds(booster: lgb.Booster) -> list[float]:
    """List every numerical ``<=`` split threshold of the booster, as LightGBM stores it (float64)."""
    thresholds: list[float] = []

    def walk(node: dict[str, Any]) -> None:
        if "split_index" not in node:
            return
        if node.get("decision_type") == "<=":
            thresholds.append(float(node["threshold"]))
        walk(node["left_child"])
        walk(node["right_child"])

    for tree in booster.dump_model()["tree_info"]:
        walk(tree["tree_structure"])
    return thresholds


def round_thresholds_down(model: Any, booster: lgb.Booster) -> int:
    """Make float32 ONNX splits decide every float32 input as LightGBM's float64 splits do.

    The converter rounds each threshold ``t`` to the nearest float32. When that
    lands above ``t``, an input equal to the rounded value goes left in ONNX
    and right in LightGBM, which moved one training run's scores by 0.03. The
    largest float32 not above ``t`` gives the same decision for every float32
    input. A rounded value shared by thresholds that rounded both ways is left
    alone; the parity check still covers it. Returns the number of nodes changed.
    """
    rounded_up: dict[float, set[bool]] = {}
    for threshold in _split_thresholds(booster):
        if not abs(threshold) < FLOAT32_MAX:
            continue
        value = float(np.float32(threshold))
        rounded_up.setdefault(value, set()).add(value > threshold)
    changed = 0
    for node in model.graph.node:
        if node.op_type != "TreeEnsembleRegressor":
            continue
        attributes = {attribute.name: attribute for attribute in node.attribute}
        modes = [mode.decode() for mode in attributes["nodes_modes"].strings]
        values = attributes["nodes_values"].floats
        for index, mode in enumerate(modes):
            value = float(np.float32(values[index]))
            if mode == "BRANCH_LEQ" and rounded_up.get(value) == {True}:
                values[index] = float(np.nextafter(np.float32(value), np.float32(-np.inf)))
                changed += 1
    return changed


def export_onnx(booster: lgb.Booster, out_dir: Path, check_rows: np.ndarray) -> float:
    """Convert the booster to ONNX and return the max score difference on ``check_rows``."""
    model = convert_lightgbm(
        booster,
        initial_types=[(INPUT_NAME, FloatTensorType([None, len(FEATURE_NAMES)]))],
        target_opset=ONNX_OPSET,
        zipmap=False,
    )
    round_thresholds_down(model, booster)
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
        "lightgbm": BASE_PARAMS,
        "search": [SEARCH_SPACE, SEARCH_TRIALS, SEARCH_SEED],
        "negatives": NEGATIVES_PER_GROUP,
        "attempts": ATTEMPTS_PER_USER,
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
    fit_ranker(data_dir, artifacts, out_dir, inputs=inputs)
    print(f"ranker: wrote {out_dir} in {time.perf_counter() - started:.0f} s")
    return out_dir


def load_pipeline(artifacts: Path) -> Pipeline:
    """Build the serving pipeline from the catalogue, encoder and index under ``artifacts``."""
    catalogue = Catalogue.load(artifacts / CATALOGUE_DIR)
    index = load_index_folder(artifacts / INDEX_DIR, artifacts / ENCODER_DIR, catalogue)
    catalogue_manifest = read_manifest(artifacts / CATALOGUE_DIR)
    return Pipeline.build(
        catalogue,
        index,
        company_aliases=catalogue_manifest.get("company_aliases", {}),
        tag_aliases=catalogue_manifest.get("tag_aliases", {}),
    )


def fit_ranker(
    data_dir: Path,
    artifacts: Path,
    out_dir: Path,
    *,
    inputs: str,
    extra_examples: Sequence[Example] = (),
    trials: Sequence[dict[str, Any]] | None = None,
    per_user: dict[Split, int] | None = None,
    attempts_per_user: dict[Split, int] | None = None,
    manifest_extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Train on the base data plus ``extra_examples`` and write the ranker folder; returns its manifest.

    ``per_user`` and ``attempts_per_user`` override the Codeforces groups
    (``CODEFORCES_PER_USER``) and P(solve) attempts (``ATTEMPTS_PER_USER``) per
    user, so a test can train a smaller ranker through the same code.
    ``manifest_extra`` is merged into the manifest.
    """
    pipeline = load_pipeline(artifacts)
    catalogue = pipeline.catalogue
    attempts = list(codeforces_attempts(data_dir, catalogue, attempts_per_user or ATTEMPTS_PER_USER))
    pipeline.solve_model, attempt_count = fit_solve_calibration(pipeline, attempts)
    print(f"ranker: P(solve) fitted on {attempt_count} real first attempts: {pipeline.solve_model}")
    examples = [
        *codeforces_examples(data_dir, catalogue, per_user or CODEFORCES_PER_USER),
        *study_list_examples(data_dir, catalogue, STUDY_LIST_PER_LIST),
        *goal_switch_examples(data_dir, catalogue, GOAL_SWITCH_GROUPS, GOAL_SWITCH_SEED),
    ]
    print(
        f"ranker: {len(examples)} examples from Codeforces sequences and study lists, "
        f"{len(extra_examples)} from feedback"
    )
    encoder = OnnxEncoder.from_folder(artifacts / ENCODER_DIR)
    groups = collect_groups(pipeline, [*examples, *extra_examples], encoder)
    print("ranker: training LightGBM lambdarank")
    booster, metrics, params_chosen = train(groups, trials)
    print(
        f"ranker: validation NDCG@10 {metrics['valid_ndcg@10']} "
        f"(baselines {metrics['baselines_valid_ndcg@10']})"
    )

    out_dir.mkdir(parents=True, exist_ok=True)
    booster.save_model(str(out_dir / RANKER_NATIVE))
    (out_dir / PARAMS_FILE).write_text(json.dumps(params_chosen, indent=2, sort_keys=True) + "\n")
    valid_x, _ = groups["valid"].matrix()
    difference = export_onnx(booster, out_dir, valid_x[:2000])
    manifest = {
        "artifact": "ranker",
        "files": {name: sha256_file(out_dir / name) for name in (RANKER_ONNX, RANKER_NATIVE, PARAMS_FILE)},
        "inputs_sha256": inputs,
        "feature_names": list(FEATURE_NAMES),
        "params": params_chosen,
        "solve_model": {**pipeline.solve_model.to_dict(), "attempts": attempt_count},
        "metrics": metrics,
        "onnx": {"opset": ONNX_OPSET, "max_abs_difference": difference},
        "versions": {"lightgbm": lgb.__version__, "onnxruntime": ort.__version__},
        "machine": platform.machine(),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        **(manifest_extra or {}),
    }
    write_manifest(out_dir, manifest)
    return manifest


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description="Train the lambdarank ranker and export it to ONNX.")
    parser.add_argument("--data", type=Path, default=Path("data"), help="bundled data folder (default: data)")
    parser.add_argument(
        "--artifacts",
        type=Path,
        default=Path("build/artifacts"),
        help="artifacts root; reads catalogue, encoder and index, writes ranker (default: build/artifacts)",
    )
    parser.add_argument("--force", action="store_true", help="retrain even if up to date")
    args = parser.parse_args(argv)
    train_ranker(args.data, args.artifacts, force=args.force)


if __name__ == "__main__":
    main()
