"""The OpenAPI examples are valid instances of the models they illustrate."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from functions import examples, schemas

CASES: list[tuple[str, type[BaseModel], dict[str, Any]]] = [
    ("recommend request", schemas.RecommendRequest, examples.RECOMMEND_REQUEST_EXAMPLE),
    ("cold start request", schemas.RecommendRequest, examples.COLD_START_REQUEST_EXAMPLE),
    ("explain request", schemas.ExplainRequest, examples.EXPLAIN_REQUEST_EXAMPLE),
    ("recommend response", schemas.RecommendResponse, examples.RECOMMEND_RESPONSE_EXAMPLE),
    ("explain response", schemas.ExplainResponse, examples.EXPLAIN_RESPONSE_EXAMPLE),
    ("validation error", schemas.ErrorResponse, examples.VALIDATION_ERROR_EXAMPLE),
]


@pytest.mark.parametrize(("name", "model", "example"), CASES, ids=[case[0] for case in CASES])
def test_example_matches_model(name: str, model: type[BaseModel], example: dict[str, Any]) -> None:
    parsed = model.model_validate(example)
    assert parsed.model_dump(mode="json", exclude_unset=True) == example, name
