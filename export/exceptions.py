"""Errors raised by the export steps that turn models into serving artifacts."""

from __future__ import annotations

from ranking.exceptions import RecommenderError


class ExportError(RecommenderError):
    """A model could not be exported, converted or quantized."""


class ParityError(ExportError):
    """An exported model's outputs drift too far from the reference model's."""
