"""Errors raised by the recommender library."""

from __future__ import annotations


class RecommenderError(Exception):
    """Base class for every error this package raises on purpose."""


class ArtifactError(RecommenderError):
    """An artifact is missing, corrupt or was built for another artifact."""


class ArtifactMismatchError(ArtifactError):
    """Two artifacts disagree, e.g. an index built by another encoder."""


class CatalogueError(RecommenderError):
    """The problem catalogue file is malformed."""


class RequestError(RecommenderError):
    """A recommend or explain request is invalid; ``field`` names the culprit."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
