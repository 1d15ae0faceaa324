"""Lambda entry point of ExplainFunction: ``POST /explain``.

It serves the same app as RecommendFunction, so both functions share models,
errors and logs. API Gateway decides which routes reach each function.
"""

from __future__ import annotations

from mangum import Mangum

from functions.app import get_app

handler = Mangum(get_app(), lifespan="off")
