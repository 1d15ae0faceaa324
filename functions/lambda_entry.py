"""The Lambda handler around the ASGI app: log fields, metrics and tracing per invocation.

Each invocation binds the Lambda request id, function name, cold start and
X-Ray trace id to every log line, records metrics and prints them as one EMF
line when it ends, and runs inside the tracer's ``## handler`` subsegment.
Mangum translates the API Gateway event to ASGI and back.
"""

from __future__ import annotations

import os
from typing import Any

from fastapi import FastAPI
from mangum import Mangum

from functions import logs, observability

# Set by the Lambda runtime for each invocation.
_TRACE_ID_VAR = "_X_AMZN_TRACE_ID"


class LambdaHandler:
    """Serve ``app`` to Lambda; the first call in a process is its cold start."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self._mangum = Mangum(app, lifespan="off")
        self._cold_start = True
        observability.enable_stage_tracing()

        def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
            response: dict[str, Any] = self._mangum(event, context)
            return response

        # The response body stays out of the trace: it is large, and its
        # reasons repeat problems from the learner's history.
        self._traced = observability.tracer.capture_lambda_handler(handler, capture_response=False)

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        cold_start, self._cold_start = self._cold_start, False
        fields = {
            "lambda_request_id": getattr(context, "aws_request_id", None),
            "function_name": getattr(context, "function_name", None),
            "cold_start": cold_start,
            "xray_trace_id": os.environ.get(_TRACE_ID_VAR),
        }
        with logs.bind(**fields), observability.recording():
            response: dict[str, Any] = self._traced(event, context)
            return response
