"""The similar-question re-ranker on a small synthetic catalogue.

Sixty LeetCode-like problems form twelve families of five. Members of a
family share a title word, a tag and a nearby embedding, and LeetCode
numbers that follow each other. Each family is linked as a clique. Splits
are set by hand so that every family has train, valid and test members.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from export import similar_ranker
from export.similar_links import LinkSplit, SimilarLinks
from export.similar_ranker import FEATURE_NAMES, SimilarRanker, build_groups, train_similar_ranker
from ranking.catalogue import Catalogue, Problem

FAMILIES = 12
FAMILY_SIZE = 5
WORDS = (
    "array",
    "graph",
    "tree",
    "string",
    "matrix",
    "heap",
    "stack",
    "queue",
    "bits",
    "prime",
    "coin",
    "path",
)
TAGS = ("sorting", "graph", "tree", "string", "matrix", "heap", "stack", "queue", "bit", "math", "dp", "bfs")
SPLIT_BY_MEMBER: tuple[LinkSplit, ...] = ("train", "train", "train", "valid", "test")


def _problem(row: int, platform: str = "leetcode") -> Problem:
    family, member = divmod(row, FAMILY_SIZE)
    word = WORDS[family % FAMILIES]
    return Problem(
        id=f"{platform}:p{row}",
        platform=platform,
        title=f"{word} puzzle {'i' * (member + 1)}",
        url="",
        description=f"Given a {word}, count the {word} parts that match rule {member}.",
        difficulty_label=("Easy", "Medium", "Hard")[member % 3],
        rating=1200.0 + 100 * member,
        rating_source="zerotrac",
        tags=(TAGS[family % FAMILIES], "array"),
        companies=("acme",) if member % 2 else (),
        acceptance_rate=0.5,
        popularity=1000.0 * (row + 1),
        contest="",
        similar=(),
        aliases=(f"{platform}:{row + 1}",),
        sources=(),
        extra_text="",
        extra_tags=(),
    )


@pytest.fixture(scope="module")
def synthetic() -> tuple[Catalogue, SimilarLinks, np.ndarray]:
    """Sixty linked LeetCode problems, then one Codeforces problem outside the pool."""
    rows = FAMILIES * FAMILY_SIZE
    problems = [_problem(row) for row in range(rows)]
    problems.append(_problem(0, platform="codeforces"))
    generator = np.random.default_rng(7)
    centres = generator.normal(size=(FAMILIES, 16))
    embeddings = np.vstack(
        [
            centres[(row // FAMILY_SIZE) % FAMILIES] + 0.9 * generator.normal(size=16)
            for row in range(rows + 1)
        ]
    ).astype(np.float32)
    embeddings /= np.linalg.norm(embeddings, axis=1, keepdims=True)

    links = {
        row: frozenset(
            other for other in range(rows) if other // FAMILY_SIZE == row // FAMILY_SIZE and other != row
        )
        for row in range(rows)
    }
    split = {row: SPLIT_BY_MEMBER[row % FAMILY_SIZE] for row in range(rows)}
    return Catalogue(problems), SimilarLinks(tuple(range(rows)), links, split), embeddings


@pytest.fixture
def few_candidates(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep stage 1 small enough that some pool problems are not candidates."""
    monkeypatch.setattr(similar_ranker, "COMBINED_CANDIDATES", 8)
    monkeypatch.setattr(similar_ranker, "TFIDF_CANDIDATES", 4)
    monkeypatch.setattr(similar_ranker, "LGB_PARAMS", {**similar_ranker.LGB_PARAMS, "min_data_in_leaf": 5})


def _train(catalogue: Catalogue, links: SimilarLinks, embeddings: np.ndarray) -> SimilarRanker:
    return train_similar_ranker(catalogue, links, embeddings, seed=3, tfidf_weight=0.4)


def _all_scores(ranker: SimilarRanker, queries: list[int]) -> np.ndarray:
    return np.vstack([ranker.scores(query) for query in queries])


def test_train_labels_only_train_links(
    synthetic: tuple[Catalogue, SimilarLinks, np.ndarray], few_candidates: None
) -> None:
    catalogue, links, embeddings = synthetic
    featurizer = similar_ranker.PairFeaturizer(catalogue, links.pool, embeddings, 0.4)

    features, labels, sizes = build_groups(featurizer, links, "train", frozenset({"train"}))

    assert features.shape == (sum(sizes), len(FEATURE_NAMES))
    assert labels.sum() > 0
    # Rebuild each group's rows to check that every candidate is a train problem.
    start = 0
    for query in links.queries("train"):
        candidates, _, _ = featurizer.candidates_and_features(query)
        rows = [row for row in featurizer.pool[candidates].tolist() if links.split[row] == "train"]
        train_links = {other for other in links.links[query] if links.split[other] == "train"}
        if not rows or not train_links:
            continue
        size = sizes.pop(0)
        assert size == len(rows)
        for row, label in zip(rows, labels[start : start + size], strict=True):
            assert label == float(row in links.links[query])
        start += size
    assert not sizes


def test_test_links_do_not_change_model(
    synthetic: tuple[Catalogue, SimilarLinks, np.ndarray], few_candidates: None
) -> None:
    catalogue, links, embeddings = synthetic
    test_rows = {row for row, split in links.split.items() if split == "test"}
    queries = list(links.pool)
    # Drop every link of test problems, then link each test problem to the
    # train problems of the next family instead.
    rewired: dict[int, set[int]] = {
        row: {other for other in others if other not in test_rows}
        for row, others in links.links.items()
        if row not in test_rows
    }
    for row in sorted(test_rows):
        next_family = (row // FAMILY_SIZE + 1) % FAMILIES
        for other in range(next_family * FAMILY_SIZE, next_family * FAMILY_SIZE + 3):
            rewired.setdefault(row, set()).add(other)
            rewired[other].add(row)
    changed = replace(links, links={row: frozenset(others) for row, others in rewired.items()})
    assert changed.links != links.links

    original = _all_scores(_train(catalogue, links, embeddings), queries)
    with_changed_test_links = _all_scores(_train(catalogue, changed, embeddings), queries)

    np.testing.assert_array_equal(original, with_changed_test_links)


def test_train_links_change_model(
    synthetic: tuple[Catalogue, SimilarLinks, np.ndarray], few_candidates: None
) -> None:
    """Guard for the test above: a change in train links must change the scores."""
    catalogue, links, embeddings = synthetic
    queries = list(links.pool)
    train_rows = sorted(row for row, split in links.split.items() if split == "train")
    # Link each train problem to the train problems one family up, and drop its own family.
    shifted: dict[int, set[int]] = {row: set(others) for row, others in links.links.items()}
    for row in train_rows:
        shifted[row] = {other for other in shifted[row] if links.split[other] != "train"}
    for row in train_rows:
        other = (row + FAMILY_SIZE) % (FAMILIES * FAMILY_SIZE)
        shifted[row].add(other)
        shifted[other].add(row)
    changed = replace(links, links={row: frozenset(others) for row, others in shifted.items()})

    original = _all_scores(_train(catalogue, links, embeddings), queries)
    with_changed_train_links = _all_scores(_train(catalogue, changed, embeddings), queries)

    assert not np.array_equal(original, with_changed_train_links)


def test_scores_shape_and_candidate_order(
    synthetic: tuple[Catalogue, SimilarLinks, np.ndarray], few_candidates: None
) -> None:
    catalogue, links, embeddings = synthetic
    ranker = _train(catalogue, links, embeddings)
    outside_row = len(catalogue) - 1

    for query in [*links.queries("test"), outside_row]:
        scores = ranker.scores(query)
        candidates, _, _ = ranker.featurizer.candidates_and_features(query)
        others = np.setdiff1d(np.arange(len(links.pool)), candidates)

        assert scores.shape == (len(links.pool),)
        assert np.all(np.isfinite(scores))
        assert 0 < len(candidates) < len(links.pool)
        assert scores[candidates].min() > scores[others].max()
        if query in links.pool:
            assert query in others


def test_training_is_deterministic(
    synthetic: tuple[Catalogue, SimilarLinks, np.ndarray], few_candidates: None
) -> None:
    catalogue, links, embeddings = synthetic
    queries = list(links.pool)

    first = train_similar_ranker(catalogue, links, embeddings, seed=5)
    second = train_similar_ranker(catalogue, links, embeddings, seed=5)

    assert first.featurizer.tfidf_weight == second.featurizer.tfidf_weight
    np.testing.assert_array_equal(_all_scores(first, queries), _all_scores(second, queries))
