"""Invoke the packaged recommend handler as Lambda would, with the interpreter that runs this script.

Usage (``make lambda-smoke`` does all three steps)::

    python -m infra.package_lambda --artifacts build/artifacts --out build/lambda
    python3.12 -m venv build/lambda-venv
    build/lambda-venv/bin/pip install -r build/lambda/requirements.txt boto3
    cd build/lambda && ../lambda-venv/bin/python ../../infra/smoke_lambda.py \\
        ../../tests/events/apigw_v1_recommend.json

It checks what ``sam build`` cannot: that the package's code and the
versions in its ``requirements.txt`` import and serve on the runtime's
Python (``python3.12`` in ``template.yaml``). The event is sent twice, with
an API key id in its auth context (expects 200 and recommendations) and
without one (expects 403). The script exits with 1 when either differs.
It reads the artifacts packaged under ``artifacts/`` and reaches no AWS
service, and it must run inside the package folder.
"""

from __future__ import annotations

import copy
import json
import os
import sys
import types
from typing import Any

LAMBDA_ENVIRONMENT = {
    "AWS_LAMBDA_FUNCTION_NAME": "smoke-test",
    "AWS_DEFAULT_REGION": "us-east-1",
    "ARTIFACTS_DIR": "artifacts",
    "REQUIRE_API_KEY": "true",
    "POWERTOOLS_SERVICE_NAME": "practice-recommender",
    "POWERTOOLS_METRICS_NAMESPACE": "PracticeRecommender",
    # X-Ray needs the Lambda daemon, which is not here.
    "POWERTOOLS_TRACE_DISABLED": "true",
}


def invoke(handler: Any, event: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """Call ``handler`` with a Lambda-like context; returns the status code and the JSON body."""
    context = types.SimpleNamespace(
        function_name="smoke-test",
        function_version="1",
        aws_request_id="smoke-request",
        memory_limit_in_mb=2048,
        invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:smoke-test",
    )
    response = handler(event, context)
    return int(response["statusCode"]), json.loads(response["body"])


def main(argv: list[str]) -> int:
    """Run both invocations and print one line each; returns the exit code."""
    if len(argv) != 2:
        print("usage: smoke_lambda.py API_GATEWAY_V1_EVENT.json", file=sys.stderr)
        return 2
    os.environ.update(LAMBDA_ENVIRONMENT)
    sys.path.insert(0, os.getcwd())
    from functions.recommend import handler

    with open(argv[1], encoding="utf-8") as source:
        event = json.load(source)
    keyed = copy.deepcopy(event)
    keyed["requestContext"].setdefault("identity", {})["apiKeyId"] = "smoke-key"
    keyless = copy.deepcopy(event)
    keyless["requestContext"].get("identity", {}).pop("apiKeyId", None)

    status, body = invoke(handler, keyed)
    count = len(body.get("recommendations", []))
    print(f"Python {sys.version.split()[0]}: with an API key id: {status}, {count} recommendations")
    rejected, error = invoke(handler, keyless)
    print(f"Python {sys.version.split()[0]}: without one: {rejected} {error.get('error', {}).get('code')}")
    return 0 if status == 200 and count > 0 and rejected == 403 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
