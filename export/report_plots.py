"""Figures for the evaluation report, each written to one PNG file.

Every function draws on its own ``matplotlib.figure.Figure`` with the Agg
canvas, so nothing needs a display and no pyplot state is shared between
calls. The same inputs give the same image with the same matplotlib and
scikit-learn versions. The metric arithmetic lives in ``ranking/metrics.py``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ranking.metrics import calibration_bins, expected_calibration_error

DPI = 120
TOP_TOPICS = 10
OTHER_TOPIC = "other"
OTHER_COLOUR = "#bbbbbb"
# The default colour cycle (tab10) with its grey, C7, replaced by black so no topic looks like "other".
TOPIC_COLOURS = ("C0", "C1", "C2", "C3", "C4", "C5", "C6", "black", "C8", "C9")
# Fixed metadata keeps the file bytes independent of the matplotlib version string.
PNG_METADATA = {"Software": "practice-recommender report_plots"}


def _new_figure(width: float, height: float) -> Figure:
    figure = Figure(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(figure)
    return figure


def _save(figure: Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png", metadata=PNG_METADATA)
    return path


def plot_metric_bars(
    results: Mapping[str, Mapping[str, Mapping[str, float]]], metric: str, path: Path
) -> Path:
    """Draw ``results[task][method][metric]`` as a grouped bar chart: one group per task, one bar per method.

    Methods keep the order in which they first appear. A method without
    ``metric`` for a task gets no bar in that group.

    Raises
    ------
    ValueError
        When no task and method has a value for ``metric``.
    """
    tasks = list(results)
    methods: list[str] = []
    for task in tasks:
        methods.extend(method for method in results[task] if method not in methods)
    if not any(metric in results[task].get(method, {}) for task in tasks for method in methods):
        raise ValueError(f"no task and method in results has a value for metric {metric!r}")

    figure = _new_figure(max(6.0, 1.5 + len(tasks) * (0.5 + 0.35 * len(methods))), 4.5)
    axes = figure.subplots()
    width = 0.8 / len(methods)
    centres = np.arange(len(tasks), dtype=np.float64)
    for number, method in enumerate(methods):
        positions = [
            centres[i] - 0.4 + width * (number + 0.5)
            for i, task in enumerate(tasks)
            if metric in results[task].get(method, {})
        ]
        values = [results[task][method][metric] for task in tasks if metric in results[task].get(method, {})]
        bars = axes.bar(positions, values, width=width, label=method)
        axes.bar_label(bars, fmt="%.3f", fontsize=7, padding=2)

    axes.set_xticks(centres, tasks)
    axes.set_ylabel(metric)
    axes.set_title(f"{metric} by task and method")
    axes.margins(y=0.15)
    axes.legend(fontsize=8)
    figure.tight_layout()
    return _save(figure, path)


def plot_calibration(probabilities: np.ndarray, outcomes: np.ndarray, path: Path, bins: int = 10) -> Path:
    """Draw a reliability diagram with the count of predictions per bin below it.

    Each point is one non-empty equal-width bin: its mean predicted
    probability against the observed rate of positive outcomes. The dashed
    diagonal is perfect calibration, and the title gives the expected
    calibration error over the same bins.
    """
    mean_predicted, observed_rate, counts = calibration_bins(probabilities, outcomes, bins)
    error = expected_calibration_error(probabilities, outcomes, bins)
    filled = counts > 0

    figure = _new_figure(5.5, 6.5)
    reliability, histogram = figure.subplots(2, 1, sharex=True, height_ratios=[3, 1])
    reliability.plot([0.0, 1.0], [0.0, 1.0], linestyle="--", color="grey", label="perfect calibration")
    reliability.plot(mean_predicted[filled], observed_rate[filled], marker="o", label="model")
    reliability.set_xlim(0.0, 1.0)
    reliability.set_ylim(0.0, 1.0)
    reliability.set_ylabel("observed positive rate")
    reliability.set_title(f"Reliability diagram ({bins} bins, ECE {error:.4f})")
    reliability.legend(loc="upper left", fontsize=8)

    edges = np.linspace(0.0, 1.0, bins + 1)
    histogram.bar(edges[:-1], counts, width=1.0 / bins, align="edge", edgecolor="white")
    histogram.set_xlabel("mean predicted probability")
    histogram.set_ylabel("predictions")
    figure.tight_layout()
    return _save(figure, path)


def plot_embedding_maps(
    embeddings: np.ndarray, topics: Sequence[str], pca_path: Path, tsne_path: Path, seed: int = 0
) -> tuple[Path, Path]:
    """Draw 2-D PCA and t-SNE maps of problem embeddings, coloured by each row's primary topic.

    The 10 most frequent topics get their own colour (ties broken by name);
    the rest are drawn grey as "other". The caller subsamples, because t-SNE
    is quadratic in the number of rows. t-SNE uses scikit-learn with PCA
    initialisation and ``random_state=seed``.

    Raises
    ------
    ValueError
        When ``embeddings`` is not 2-D, has fewer than 3 rows, or its row
        count differs from the number of topics.
    """
    vectors = np.asarray(embeddings, dtype=np.float64)
    if vectors.ndim != 2:
        raise ValueError(f"embeddings must be 2-D (rows, dimensions), got shape {vectors.shape}")
    if vectors.shape[0] != len(topics):
        raise ValueError(f"embeddings has {vectors.shape[0]} rows but topics has {len(topics)} entries")
    if vectors.shape[0] < 3:
        raise ValueError(f"an embedding map needs at least 3 rows, got {vectors.shape[0]}")

    pca = _pca_2d(vectors)
    tsne = _tsne_2d(vectors, seed)
    _draw_topic_map(pca, topics, "PCA of problem embeddings", pca_path)
    _draw_topic_map(tsne, topics, "t-SNE of problem embeddings", tsne_path)
    return pca_path, tsne_path


def _pca_2d(vectors: np.ndarray) -> np.ndarray:
    """Project centred rows on the first two principal axes, computed with numpy's SVD."""
    centred = vectors - vectors.mean(axis=0)
    _, _, components = np.linalg.svd(centred, full_matrices=False)
    axes = components[:2]
    # SVD fixes each axis only up to sign, so flip it to make its largest loading positive.
    signs = np.sign(axes[np.arange(len(axes)), np.argmax(np.abs(axes), axis=1)])
    signs[signs == 0] = 1.0
    projected = centred @ (axes * signs[:, None]).T
    if projected.shape[1] < 2:  # a single dimension: draw it on a flat line
        projected = np.column_stack([projected[:, 0], np.zeros(len(projected))])
    return projected


def _tsne_2d(vectors: np.ndarray, seed: int) -> np.ndarray:
    from sklearn.manifold import TSNE

    # scikit-learn requires perplexity < rows; 30 is its default for larger inputs.
    perplexity = min(30.0, (vectors.shape[0] - 1) / 3)
    model = TSNE(n_components=2, init="pca", perplexity=perplexity, random_state=seed)
    return np.asarray(model.fit_transform(vectors))


def _draw_topic_map(points: np.ndarray, topics: Sequence[str], title: str, path: Path) -> Path:
    counts = Counter(topics)
    leading = sorted(counts, key=lambda topic: (-counts[topic], topic))[:TOP_TOPICS]
    labels = np.array([topic if topic in leading else OTHER_TOPIC for topic in topics], dtype=object)

    figure = _new_figure(8.0, 6.0)
    axes = figure.subplots()
    others = labels == OTHER_TOPIC
    if others.any():
        axes.scatter(
            points[others, 0],
            points[others, 1],
            s=8,
            color=OTHER_COLOUR,
            alpha=0.6,
            label=f"{OTHER_TOPIC} ({int(others.sum())})",
        )
    for colour, topic in zip(TOPIC_COLOURS, leading, strict=False):
        rows = labels == topic
        axes.scatter(points[rows, 0], points[rows, 1], s=10, color=colour, label=f"{topic} ({counts[topic]})")

    axes.set_title(title)
    axes.set_xticks([])
    axes.set_yticks([])
    axes.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8, markerscale=1.5, frameon=False)
    figure.tight_layout()
    return _save(figure, path)


def plot_tradeoff(points: Sequence[tuple[float, float, str]], x_label: str, y_label: str, path: Path) -> Path:
    """Draw ``(x, y, label)`` points joined in the given order, each annotated with its label.

    It is meant for a sweep such as the diversity weight, with NDCG@10 on one
    axis and intra-list diversity on the other. Pass the points in sweep order.

    Raises
    ------
    ValueError
        When ``points`` is empty.
    """
    if not points:
        raise ValueError("points is empty; pass at least one (x, y, label) tuple")
    xs = [float(x) for x, _, _ in points]
    ys = [float(y) for _, y, _ in points]

    figure = _new_figure(6.0, 4.5)
    axes = figure.subplots()
    axes.plot(xs, ys, marker="o")
    for x, y, label in points:
        axes.annotate(label, (x, y), textcoords="offset points", xytext=(5, 5), fontsize=8)
    axes.set_xlabel(x_label)
    axes.set_ylabel(y_label)
    axes.set_title(f"{y_label} against {x_label}")
    axes.margins(0.12)
    axes.grid(alpha=0.3)
    figure.tight_layout()
    return _save(figure, path)
