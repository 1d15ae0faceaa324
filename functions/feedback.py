"""Lambda entry point of FeedbackFunction: ``POST /feedback``.

It serves the same app as the other functions; the feedback route needs no
model, so a request never waits for the recommender to load.
"""

from __future__ import annotations

from functions.app import get_app
from functions.lambda_entry import LambdaHandler

handler = LambdaHandler(get_app())
