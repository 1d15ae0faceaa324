"""Lambda entry point of FeedbackFunction: ``POST /feedback``.

It serves the same app as the other functions; the feedback route needs no
model, so a request never waits for the recommender to load.
"""

from __future__ import annotations

from mangum import Mangum

from functions.app import get_app

handler = Mangum(get_app(), lifespan="off")
