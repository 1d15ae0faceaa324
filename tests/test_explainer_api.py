"""The explainer behind the endpoints: the real exported model, the fallback and the budgets.

The real int4 explainer is built by the session fixture ``artifacts_dir``
(cached by its manifest). The fallback tests swap in the tiny random decoder
from ``tests/tiny_decoder.py``, whose output is nonsense by construction, so
the grounding check must reject it and the template must stand in.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest
from tokenizers import Tokenizer

from functions import examples
from functions.app import create_app
from functions.convert import to_profile
from functions.schemas import ExplainRequest
from functions.settings import Settings
from ranking.artifacts import read_manifest, sha256_file, write_manifest
from ranking.exceptions import ArtifactError
from ranking.explainer import EXPLAINER_DIR, Explainer
from ranking.explainer_prompt import facts_from
from ranking.generate import OnnxDecoder
from ranking.grounding import check_explanation
from ranking.service import NO_EXPLAINER, Recommender, vocabulary_of
from ranking.types import LearnerProfile
from tests.asgi import post_json
from tests.tiny_decoder import SPEC, build_tiny_decoder


def post(recommender: Recommender, path: str, body: dict[str, Any]) -> httpx.Response:
    """POST ``body`` to the app serving ``recommender``, in process."""
    return post_json(create_app(lambda: recommender, settings=Settings()), path, body)


def profile_and_id(body: dict[str, Any]) -> tuple[LearnerProfile, str]:
    request = ExplainRequest(**body)
    return to_profile(request), request.problem_id


def template_for(recommender: Recommender, body: dict[str, Any]) -> str:
    profile, problem_id = profile_and_id(body)
    return recommender.explain(profile, problem_id, explainer="template").explanation


@pytest.fixture(scope="module")
def tiny_recommender(recommender: Recommender) -> Recommender:
    """The real recommender with the tiny random decoder as its explainer."""
    folder = build_tiny_decoder()
    decoder = OnnxDecoder.from_file(str(folder / "model.onnx"), SPEC, threads=1)
    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    assert recommender.explainer is not None
    explainer = Explainer(
        decoder,
        tokenizer,
        frozenset({tokenizer.token_to_id("<|im_end|>")}),
        recommender.explainer.vocabulary,
        max_new_tokens=20,
    )
    return Recommender(
        recommender.pipeline, recommender.encoder, recommender.ranker, recommender.model_version, explainer
    )


def test_real_explainer_is_loaded_from_the_artifacts(recommender: Recommender) -> None:
    explainer = recommender.explainer
    assert explainer is not None
    manifest = explainer.manifest
    assert (
        manifest["source"]["gguf_sha256"]
        == "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
    )
    assert manifest["quantization"]["precision"] in ("int4", "int8")
    assert 0.0 <= manifest["agreement"]["top1_agreement"] <= 1.0


def test_explain_endpoint_writes_grounded_model_text(recommender: Recommender) -> None:
    response = post(
        recommender, "/explain", {**examples.EXPLAIN_REQUEST_EXAMPLE, "explanation_budget_ms": 20000}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["explanation_source"] == "model", body.get("explanation_fallback")
    assert body["explanation_fallback"] is None
    assert body["explanation"] != template_for(recommender, examples.EXPLAIN_REQUEST_EXAMPLE)
    # The text passed the checker inside the service; check it again from the response's own reasons.
    profile, problem_id = profile_and_id(examples.EXPLAIN_REQUEST_EXAMPLE)
    result = recommender.explain(profile, problem_id, explainer="template")
    state = recommender.pipeline.state(profile, encode=recommender.encoder.encode)
    facts = facts_from(result.problem, result.reasons, state.company_names)
    assert recommender.explainer is not None
    assert check_explanation(body["explanation"], facts, recommender.explainer.vocabulary) == []
    assert len(body["explanation"].split()) <= 60


def test_explain_template_mode_skips_the_model(recommender: Recommender) -> None:
    body = {**examples.EXPLAIN_REQUEST_EXAMPLE, "explainer": "template"}
    response = post(recommender, "/explain", body)
    assert response.status_code == 200
    assert response.json()["explanation_source"] == "template"
    assert response.json()["explanation_fallback"] is None
    assert response.json()["explanation"] == template_for(recommender, body)


def test_recommend_with_model_explanations(recommender: Recommender) -> None:
    body = {
        **examples.RECOMMEND_REQUEST_EXAMPLE,
        "k": 3,
        "explainer": "model",
        "explanation_budget_ms": 20000,
    }
    response = post(recommender, "/recommend", body)
    assert response.status_code == 200
    items = response.json()["recommendations"]
    assert len(items) == 3
    sources = [item["explanation_source"] for item in items]
    assert "model" in sources
    for item in items:
        # A template item always gives the reason the model's text was not used.
        assert (item["explanation_source"] == "model") == (item["explanation_fallback"] is None)


def test_recommend_tiny_budget_keeps_templates(recommender: Recommender) -> None:
    body = {**examples.RECOMMEND_REQUEST_EXAMPLE, "k": 3, "explainer": "model", "explanation_budget_ms": 100}
    response = post(recommender, "/recommend", body)
    assert response.status_code == 200
    for item in response.json()["recommendations"]:
        assert item["explanation_source"] == "template"
        assert item["explanation_fallback"] == "the request's explanation time budget was spent"


def test_recommend_defaults_to_templates(recommender: Recommender) -> None:
    response = post(recommender, "/recommend", {**examples.RECOMMEND_REQUEST_EXAMPLE, "k": 2})
    assert response.status_code == 200
    for item in response.json()["recommendations"]:
        assert item["explanation_source"] == "template"
        assert item["explanation_fallback"] is None


def test_rejected_model_text_falls_back_to_the_template(tiny_recommender: Recommender) -> None:
    response = post(tiny_recommender, "/explain", examples.EXPLAIN_REQUEST_EXAMPLE)
    assert response.status_code == 200
    body = response.json()
    assert body["explanation_source"] == "template"
    assert body["explanation_fallback"]
    assert body["explanation"] == template_for(tiny_recommender, examples.EXPLAIN_REQUEST_EXAMPLE)


def test_missing_explainer_falls_back_with_a_reason(recommender: Recommender) -> None:
    without = Recommender(
        recommender.pipeline, recommender.encoder, recommender.ranker, recommender.model_version
    )
    response = post(without, "/explain", examples.EXPLAIN_REQUEST_EXAMPLE)
    assert response.status_code == 200
    assert response.json()["explanation_source"] == "template"
    assert response.json()["explanation_fallback"] == NO_EXPLAINER


@pytest.mark.parametrize(
    ("field", "value", "allowed"),
    [
        ("explanation_budget_ms", 50, "100"),
        ("explanation_budget_ms", 60000, "20000"),
        ("explainer", "gpt", "template"),
    ],
)
def test_bad_explainer_fields_are_named(
    recommender: Recommender, field: str, value: Any, allowed: str
) -> None:
    for path, body in (
        ("/explain", examples.EXPLAIN_REQUEST_EXAMPLE),
        ("/recommend", examples.RECOMMEND_REQUEST_EXAMPLE),
    ):
        response = post(recommender, path, {**body, field: value})
        assert response.status_code == 422, response.text
        errors = response.json()["error"]["fields"]
        assert any(error["field"] == field for error in errors), errors
        assert allowed in json.dumps(errors)


def test_altered_explainer_file_is_refused(tmp_path: Path, recommender: Recommender) -> None:
    folder = build_tiny_decoder()
    target = tmp_path / EXPLAINER_DIR
    shutil.copytree(folder, target)
    files = {name: sha256_file(target / name) for name in ("model.onnx", "tokenizer.json")}
    write_manifest(
        target,
        {
            "artifact": "explainer",
            "files": files,
            "decoder": {"layers": SPEC.layers, "kv_heads": SPEC.kv_heads, "head_size": SPEC.head_size},
            "stop_token_ids": [2],
            "max_new_tokens": 8,
        },
    )
    vocabulary = vocabulary_of(recommender.pipeline.catalogue)
    assert Explainer.from_folder(target, vocabulary).max_new_tokens == 8
    with (target / "tokenizer.json").open("a") as handle:
        handle.write(" ")
    with pytest.raises(ArtifactError, match=r"tokenizer\.json does not match the sha256"):
        Explainer.from_folder(target, vocabulary)
    manifest = read_manifest(target)
    del manifest["decoder"]
    manifest["files"]["tokenizer.json"] = sha256_file(target / "tokenizer.json")
    write_manifest(target, manifest)
    with pytest.raises(ArtifactError, match="lacks decoder details"):
        Explainer.from_folder(target, vocabulary)
