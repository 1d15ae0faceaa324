"""Lambda entry point of RecommendFunction: ``POST /recommend`` and ``GET /health``.

The app, its settings and the recommender are created once per container,
and the recommender loads on the first request.
"""

from __future__ import annotations

from mangum import Mangum

from functions.app import get_app

handler = Mangum(get_app(), lifespan="off")
