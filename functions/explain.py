"""Lambda entry point of ExplainFunction: ``POST /explain``.

It serves the same app as RecommendFunction, so both functions share models,
errors and logs. API Gateway decides which routes reach each function.
"""

from __future__ import annotations

from functions.app import get_app
from functions.lambda_entry import LambdaHandler

handler = LambdaHandler(get_app())
