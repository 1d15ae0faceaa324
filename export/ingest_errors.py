"""Errors raised while building the catalogue from the source files."""

from __future__ import annotations

from ranking.exceptions import RecommenderError


class IngestError(RecommenderError):
    """The catalogue could not be built from the data folder."""


class MappingError(IngestError):
    """A mapping file is invalid or does not match the source file it describes."""


class SourceReadError(IngestError):
    """A source file is missing or cannot be parsed in its declared format."""
