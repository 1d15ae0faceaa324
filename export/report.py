"""Write the evaluation report: markdown tables and PNG plots from one command.

Usage::

    python -m export.report --artifacts build/artifacts --out docs/evaluation.md

Runs the held-out evaluation (``export/evaluate.py``), the similar-problems
retrieval comparison (``export/similar_eval.py``), and draws the plots into a
folder next to the markdown file (``docs/evaluation/``). The metrics also go
to ``build/evaluation/metrics.json``. Pass ``--finetuned`` with the folder of
a fine-tuned encoder (``export/finetune_encoder.py``) to compare it with the
zero-shot one.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from export.evaluate import BASELINES, RANKER, add_evaluation_arguments, run_evaluation
from export.report_plots import plot_calibration, plot_embedding_maps, plot_metric_bars, plot_tradeoff
from export.similar_eval import compare_methods, evaluate_similar
from export.similar_links import load_links
from export.similar_ranker import candidate_recall, train_similar_ranker
from ranking.artifacts import CATALOGUE_DIR, INDEX_DIR
from ranking.catalogue import Catalogue
from ranking.index import EMBEDDINGS_FILE

MAP_SAMPLE = 2500
MAP_SEED = 3
TASK_TITLES = {
    "codeforces_next": "Next solve on Codeforces, all held-out solves",
    "codeforces_cross_contest": "Next solve on Codeforces, cross-contest transitions only",
    "codeforces_next_new_problem": "Next solve on Codeforces, problems never tried before",
    "codeforces_cross_contest_new_problem": "Cross-contest transitions to problems never tried before",
    "study_list": "Study-list continuation (NeetCode 150, A2OJ ladders)",
    "similar_problems": "Similar problems (LeetCode's own links, held-out problems)",
}
COLUMNS = (
    ("ndcg@10", "NDCG@10"),
    ("recall@10", "Recall@10"),
    ("mrr", "MRR"),
    ("coverage", "coverage"),
    ("diversity", "topic diversity"),
    ("popularity_percentile", "popularity pct."),
)


def _fmt(value: float | None, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:.{digits}f}"


def _task_table(table: Mapping[str, Mapping[str, float]], methods: list[str]) -> list[str]:
    lines = [
        "| method | " + " | ".join(title for _, title in COLUMNS) + " |",
        "|---|" + "---|" * len(COLUMNS),
    ]
    for method in methods:
        row = table[method]
        cells = [_fmt(row.get(key)) for key, _ in COLUMNS]
        name = f"**{method}**" if method == RANKER else method
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


def _lead(table: Mapping[str, Mapping[str, float]], model: str, baselines: list[str]) -> str:
    best = max(baselines, key=lambda name: table[name]["ndcg@10"])
    ours, theirs = table[model]["ndcg@10"], table[best]["ndcg@10"]
    ratio = ours / theirs if theirs > 0 else math.inf
    verdict = "ahead of" if ours > theirs else "NOT ahead of"
    return (
        f"The {model} is {verdict} the best baseline ({best}) on NDCG@10: "
        f"{_fmt(ours, 4)} against {_fmt(theirs, 4)}, {ratio:.2f} times."
    )


SIMILAR_MODEL = "similarity re-ranker"


def similar_task(artifacts: Path, finetuned: Path | None) -> dict[str, Any]:
    """Retrieval of similar problems: baselines, the zero-shot (and fine-tuned) encoder, the re-ranker.

    The re-ranker (``export/similar_ranker.py``) is trained on the train
    split's links only, stopped early on the valid split, and measured once
    on the test split.
    """
    report = compare_methods(artifacts, finetuned)
    catalogue = Catalogue.load(artifacts / CATALOGUE_DIR)
    links = load_links(catalogue)
    embeddings = np.load(artifacts / INDEX_DIR / EMBEDDINGS_FILE)
    ranker = train_similar_ranker(catalogue, links, embeddings)
    for split in ("valid", "test"):
        report[split].update(evaluate_similar(catalogue, links, {SIMILAR_MODEL: ranker.scores}, split))
    report["candidate_recall"] = {
        split: candidate_recall(ranker, links, split) for split in ("valid", "test")
    }
    return report


def write_report(
    artifacts: Path,
    data_dir: Path,
    out: Path,
    finetuned: Path | None,
    per_user: int,
    map_sample: int = MAP_SAMPLE,
) -> dict[str, Any]:
    """Run every evaluation, draw the plots and write the markdown; returns the metrics."""
    figures = out.parent / out.stem
    steps = tqdm(total=5, desc="evaluation report", unit="step")
    metrics = run_evaluation(artifacts, data_dir, per_user=per_user)
    steps.update()
    similar = similar_task(artifacts, finetuned)
    metrics["similar_problems"] = similar
    steps.update()

    tasks: dict[str, dict[str, dict[str, float]]] = dict(metrics["tasks"])
    for task, table in tasks.items():
        tasks[task] = {m: v for m, v in table.items() if m == RANKER or m in BASELINES}
    plot_metric_bars(tasks, "ndcg@10", figures / "ndcg.png")
    plot_metric_bars(tasks, "recall@10", figures / "recall.png")
    plot_metric_bars({"similar_problems": similar["test"]}, "recall@10", figures / "similar_recall.png")
    calibration = metrics["calibration"]
    plot_calibration(
        np.asarray(calibration["probabilities"]),
        np.asarray(calibration["outcomes"]),
        figures / "calibration.png",
    )
    steps.update()

    points_ndcg = []
    points_diversity = []
    weights = metrics["diversity_weights"]
    for weight in weights:
        name = (
            RANKER
            if weight == metrics["default_diversity_weight"]
            else f"{RANKER} (diversity weight {weight})"
        )
        row = metrics["tasks"]["codeforces_next"][name]
        points_ndcg.append((float(weight), row["ndcg@10"], f"{weight}"))
        points_diversity.append((row["diversity"], row["ndcg@10"], f"{weight}"))
    plot_tradeoff(
        points_ndcg, "MMR relevance weight", "NDCG@10 (Codeforces next solve)", figures / "mmr_ndcg.png"
    )
    plot_tradeoff(
        points_diversity,
        "intra-list topic diversity",
        "NDCG@10 (Codeforces next solve)",
        figures / "mmr_tradeoff.png",
    )
    steps.update()

    catalogue = Catalogue.load(artifacts / CATALOGUE_DIR)
    embeddings = np.load(artifacts / INDEX_DIR / EMBEDDINGS_FILE)
    tagged = [i for i, problem in enumerate(catalogue.problems) if problem.tags]
    rng = np.random.default_rng(MAP_SEED)
    sample = np.sort(rng.choice(tagged, size=min(map_sample, len(tagged)), replace=False))
    topics = [catalogue.problems[i].tags[0] for i in sample]
    plot_embedding_maps(
        embeddings[sample], topics, figures / "map_pca.png", figures / "map_tsne.png", seed=MAP_SEED
    )
    steps.update()
    steps.close()

    out.parent.mkdir(parents=True, exist_ok=True)
    text = _markdown(metrics, figures.name, per_user, finetuned is not None, len(sample))
    out.write_text("\n".join(text) + "\n")
    return metrics


def _markdown(
    metrics: dict[str, Any], figures: str, per_user: int, finetuned: bool, mapped: int
) -> list[str]:
    tasks = metrics["tasks"]
    cf = tasks["codeforces_next"]
    lines = [
        "# Ranker evaluation on held-out data",
        "",
        "Written by `python -m export.report --artifacts build/artifacts --out docs/evaluation.md"
        + (" --finetuned build/artifacts/encoder_finetuned" if finetuned else "")
        + f"` on {datetime.now(UTC).date().isoformat()}, machine {platform.machine()}, "
        f"model version `{metrics['model_version']}`, in {metrics['seconds']:.0f} s for the ranking tasks.",
        "",
        "Held out means never read by training, feature fitting or the parameter search:",
        "",
        "* Codeforces: the last 10 % of each of the 32 users' first-accepted solves",
        f"  ({per_user} evenly spaced cuts per user at most). The next solve has label 3 and the",
        "  five after it label 1.",
        "* Study lists: the last 10 % of the NeetCode 150 order and of every A2OJ ladder.",
        "* Codeforces, problems never tried before: the same groups, kept only when the next solve",
        "  is not in the history. A solve often follows failed submissions to the same problem,",
        "  which the ranker can offer again for review and no baseline does.",
        "* Similar problems: LeetCode problems whose id hashes into the test buckets; every link",
        "  they take part in is kept out of any tuning.",
        "",
        "Every method ranks the full pool (every unsolved problem on the platforms of the history).",
        "The ranker is the served model: candidate generation, the LightGBM ranker in ONNX and the",
        f"diversity re-rank at weight {metrics['default_diversity_weight']}. Baselines:",
        "",
        "* `popularity`: most solved first;",
        "* `weak_topics_rule`: the rule of Codeforces training tools, problems on the learner's",
        "  weakest topics rated about 200 above the mean rating of the recent solves;",
        "* `embedding_similarity`: cosine to the mean embedding of the recent solves;",
        "* `same_contest`: problems of the contest of the last solve, then popularity.",
        "",
        "Coverage is the share of the pool that appears in any top-10 list; topic diversity is the",
        "mean tag Jaccard distance between pairs of a top-10 list; popularity pct. is the mean",
        "popularity percentile of the recommendations within their platform (1 = most popular).",
        "The learners' own history sits at "
        f"{_fmt(cf[RANKER]['history_popularity_percentile'])} on Codeforces.",
        "",
        "![NDCG@10 by task](" + figures + "/ndcg.png)",
        "",
        "![Recall@10 by task](" + figures + "/recall.png)",
        "",
    ]
    methods = [RANKER, *BASELINES]
    for task, title in TASK_TITLES.items():
        if task == "similar_problems":
            continue
        table = tasks[task]
        groups = int(table[RANKER]["groups"])
        lines += [f"## {title}", "", f"{groups} held-out groups.", ""]
        lines += _task_table(table, methods)
        lines += ["", _lead(table, RANKER, list(BASELINES)), ""]

    lines += _similar_section(metrics["similar_problems"], figures)
    lines += _diversity_section(metrics, figures)
    lines += _calibration_section(metrics, figures)
    lines += [
        "## Maps of the problem embeddings",
        "",
        f"{mapped} tagged problems sampled with seed {MAP_SEED}, coloured by their first tag.",
        "",
        f"![PCA]({figures}/map_pca.png)",
        "",
        f"![t-SNE]({figures}/map_tsne.png)",
    ]
    return lines


def _similar_section(similar: dict[str, Any], figures: str) -> list[str]:
    lines = [
        f"## {TASK_TITLES['similar_problems']}",
        "",
        "The retrieval stage against LeetCode's editorial similar-question links: pool of every",
        "LeetCode problem, query excluded, binary relevance. The TF-IDF weight of each sum is",
        "chosen on the valid split.",
        f"TF-IDF weights chosen: {similar['tfidf_weights']}. The {SIMILAR_MODEL} is a LightGBM",
        "lambdarank model over pair features (embedding and TF-IDF cosines, title and tag overlap,",
        "numbers, difficulty), trained on the train split's links; its first stage finds "
        f"{_fmt(similar['candidate_recall']['test'])} of the test links, the ceiling of its recall.",
        "",
        "| method | valid Recall@10 | valid NDCG@10 | test Recall@10 | test NDCG@10 | test MRR "
        "| test queries |",
        "|---|---|---|---|---|---|---|",
    ]
    for method, row in similar["test"].items():
        valid = similar["valid"][method]
        lines.append(
            f"| {method} | {_fmt(valid['recall@10'])} | {_fmt(valid['ndcg@10'])} | "
            f"{_fmt(row['recall@10'])} | "
            f"{_fmt(row['ndcg@10'])} | {_fmt(row['mrr'])} | {int(row['queries'])} |"
        )
    baselines = [name for name in similar["test"] if name != SIMILAR_MODEL]
    lead = _lead(similar["test"], SIMILAR_MODEL, baselines)
    return [*lines, "", lead, "", f"![Recall@10 of similar problems]({figures}/similar_recall.png)", ""]


def _diversity_section(metrics: dict[str, Any], figures: str) -> list[str]:
    lines = [
        "## Diversity re-rank (MMR)",
        "",
        "The served ranker re-ranks its top 50 candidates by maximal marginal relevance; weight 1.0 is the",
        f"ranker's own order. The service uses {metrics['default_diversity_weight']}.",
        "",
        "| task | weight | NDCG@10 | Recall@10 | topic diversity | coverage |",
        "|---|---|---|---|---|---|",
    ]
    for task in ("codeforces_next", "study_list"):
        table = metrics["tasks"][task]
        for weight in metrics["diversity_weights"]:
            name = (
                RANKER
                if weight == metrics["default_diversity_weight"]
                else f"{RANKER} (diversity weight {weight})"
            )
            row = table[name]
            lines.append(
                f"| {task} | {weight} | {_fmt(row['ndcg@10'])} | {_fmt(row['recall@10'])} | "
                f"{_fmt(row['diversity'])} | {_fmt(row['coverage'])} |"
            )
    return [
        *lines,
        "",
        f"![NDCG@10 against diversity]({figures}/mmr_tradeoff.png)",
        "",
        f"![NDCG@10 against the MMR weight]({figures}/mmr_ndcg.png)",
        "",
    ]


def _calibration_section(metrics: dict[str, Any], figures: str) -> list[str]:
    calibration = metrics["calibration"]
    model = metrics["solve_model"]
    return [
        "## P(solve) calibration",
        "",
        "P(solve) = sigmoid(slope x (ability - rating) / 400 + intercept), with slope "
        f"{model['slope']:.3f} and intercept {model['intercept']:.3f} fitted on first attempts of the",
        f"train split. On {calibration['attempts']} held-out first attempts",
        f"({calibration['solved_share']:.1%} eventually solved):",
        f"expected calibration error {calibration['ece']:.4f}, AUC of solved against never solved "
        f"{calibration['auc']:.4f}.",
        "",
        f"![Calibration]({figures}/calibration.png)",
        "",
    ]


def main(argv: list[str] | None = None) -> None:
    """Write the report from the command line."""
    parser = argparse.ArgumentParser(description="Write the held-out evaluation report with plots.")
    add_evaluation_arguments(parser)
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("docs/evaluation.md"),
        help="markdown report to write; plots go to a folder of the same name (default: docs/evaluation.md)",
    )
    parser.add_argument(
        "--metrics",
        type=Path,
        default=Path("build/evaluation/metrics.json"),
        help="metrics JSON to write (default: build/evaluation/metrics.json)",
    )
    parser.add_argument("--finetuned", type=Path, default=None, help="fine-tuned encoder folder to compare")
    args = parser.parse_args(argv)
    metrics = write_report(args.artifacts, args.data, args.out, args.finetuned, args.per_user)
    args.metrics.parent.mkdir(parents=True, exist_ok=True)
    args.metrics.write_text(json.dumps(metrics, indent=1))
    print(f"report: wrote {args.out} and {args.metrics}")


if __name__ == "__main__":
    main()
