"""Lambda entry point of RecommendFunction: ``POST /recommend`` and ``GET /health``.

The app, its settings and the recommender are created once per container,
and the recommender loads on the first request. ``LambdaHandler`` adds the
invocation's log fields, metrics and trace.
"""

from __future__ import annotations

from functions.app import get_app
from functions.lambda_entry import LambdaHandler

handler = LambdaHandler(get_app())
