"""The SAM template lints clean and points at handlers and routes that exist."""

from __future__ import annotations

import importlib
import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import lint_file
from cfnlint.decode import decode

from functions import settings as settings_module
from functions.app import create_app
from functions.settings import Settings
from tests.conftest import REPO_ROOT

TEMPLATE = REPO_ROOT / "template.yaml"


def load_template() -> dict[str, Any]:
    template, matches = decode(str(TEMPLATE))
    assert not matches, [str(match) for match in matches]
    assert template is not None
    return dict(template)


def serverless_functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: resource["Properties"]
        for name, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
    }


def api_functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The functions behind API routes; the scheduled retraining function has none."""
    return {
        name: properties
        for name, properties in serverless_functions(template).items()
        if any(event["Type"] == "Api" for event in properties["Events"].values())
    }


def test_cfn_lint_reports_nothing() -> None:
    matches = lint_file(Path(TEMPLATE))

    assert [str(match) for match in matches] == []


@pytest.fixture
def keep_root_logging() -> Iterator[None]:
    """Undo the JSON log handler that importing a handler module installs."""
    handlers = list(logging.getLogger().handlers)
    yield
    logging.getLogger().handlers[:] = handlers


@pytest.mark.usefixtures("keep_root_logging")
def test_handlers_are_importable() -> None:
    functions = serverless_functions(load_template())

    assert set(functions) == {"RecommendFunction", "ExplainFunction", "FeedbackFunction", "RetrainFunction"}
    for name, properties in functions.items():
        # The retraining function is a container image, which names its handler in ImageConfig.
        handler = properties.get("Handler") or properties["ImageConfig"]["Command"][0]
        module_name, _, attribute = handler.rpartition(".")
        module = importlib.import_module(module_name)
        assert callable(getattr(module, attribute)), name


def test_routes_match_the_app() -> None:
    template = load_template()
    routes = {
        (event["Properties"]["Method"], event["Properties"]["Path"])
        for properties in serverless_functions(template).values()
        for event in properties["Events"].values()
        if event["Type"] == "Api"
    }
    spec = create_app(settings=Settings()).openapi()
    app_routes = {
        (method.upper(), path) for path, operations in spec["paths"].items() for method in operations
    }

    assert routes == app_routes


def settings_variable_names() -> set[str]:
    """Return the values of the ``*_VAR`` constants in ``functions/settings.py``."""
    return {
        value
        for name, value in vars(settings_module).items()
        if name.endswith("_VAR") and isinstance(value, str)
    }


def test_environment_names_match_settings() -> None:
    template = load_template()
    variables = set(template["Globals"]["Function"]["Environment"]["Variables"])
    for properties in serverless_functions(template).values():
        variables |= set(properties.get("Environment", {}).get("Variables", {}))

    assert variables - settings_variable_names() == set()


def test_functions_deploy_through_canary() -> None:
    template = load_template()
    alias = template["Globals"]["Function"]["AutoPublishAlias"]
    alarms = {
        name
        for name, resource in template["Resources"].items()
        if resource["Type"] == "AWS::CloudWatch::Alarm"
    }

    assert alias == "live"
    for name, properties in api_functions(template).items():
        preference = properties["DeploymentPreference"]
        referenced = {alarm["Ref"] for alarm in preference["Alarms"]}
        assert properties.get("AutoPublishAlias", alias) == "live", name
        assert preference["Type"] == "Canary10Percent5Minutes", name
        assert referenced, name
        assert referenced <= alarms, name


def test_api_key_required_except_health() -> None:
    template = load_template()
    api = template["Resources"]["PracticeApi"]["Properties"]
    required = {}
    for properties in api_functions(template).values():
        for event in properties["Events"].values():
            route = event["Properties"]
            override = route.get("Auth", {}).get("ApiKeyRequired")
            required[route["Path"]] = api["Auth"]["ApiKeyRequired"] if override is None else override

    assert api["Auth"]["ApiKeyRequired"] is True
    assert required["/recommend"] is True
    assert required["/explain"] is True
    assert required["/feedback"] is True
    assert required["/health"] is False


def test_globals_enable_auth_cors_and_tracing() -> None:
    template = load_template()
    function_globals = template["Globals"]["Function"]
    variables = function_globals["Environment"]["Variables"]

    assert function_globals["Tracing"] == "Active"
    assert template["Resources"]["PracticeApi"]["Properties"]["TracingEnabled"] is True
    assert variables["REQUIRE_API_KEY"] == "true"
    assert variables["CORS_ALLOW_ORIGIN"] == {"Ref": "CorsAllowOrigins"}
    assert variables["POWERTOOLS_SERVICE_NAME"] == "practice-recommender"
    assert variables["POWERTOOLS_METRICS_NAMESPACE"] == "PracticeRecommender"


def test_template_settings_parse() -> None:
    # The literal values the template sets must be valid for load_settings.
    variables = load_template()["Globals"]["Function"]["Environment"]["Variables"]
    environ = {name: value for name, value in variables.items() if isinstance(value, str)}
    environ[settings_module.CORS_ALLOW_ORIGIN_VAR] = load_template()["Parameters"]["CorsAllowOrigins"][
        "Default"
    ]

    settings = settings_module.load_settings(environ)

    assert settings.require_api_key is True
    assert settings.cors_allow_origin == "http://localhost:3000"


def test_retrain_function_weekly_image() -> None:
    template = load_template()
    resource = template["Resources"]["RetrainFunction"]
    properties = resource["Properties"]
    schedule = properties["Events"]["Weekly"]
    alarm = template["Resources"]["RetrainErrorsAlarm"]["Properties"]

    assert properties["PackageType"] == "Image"
    assert properties["ImageConfig"]["Command"] == ["functions.retrain.handler"]
    assert (REPO_ROOT / resource["Metadata"]["Dockerfile"]).is_file()
    assert properties["Timeout"] == 900
    assert schedule["Type"] == "ScheduleV2"
    assert schedule["Properties"]["ScheduleExpression"] == {"Ref": "RetrainSchedule"}
    assert template["Parameters"]["RetrainSchedule"]["Default"] == "cron(0 3 ? * MON *)"
    assert alarm["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": "RetrainFunction"}}]
    variables = properties["Environment"]["Variables"]
    assert variables["FEEDBACK_BUCKET"] == {"Ref": "FeedbackBucket"}
    assert variables["RETRAIN_AUTO_PROMOTE"] == {"Ref": "RetrainAutoPromote"}


def test_zip_functions_use_python312() -> None:
    # onnxruntime and numpy ship manylinux_2_28 wheels only; python3.11 on Lambda has glibc 2.26.
    for name, properties in api_functions(load_template()).items():
        assert properties["Runtime"] == "python3.12", name
    dockerfile = (REPO_ROOT / "infra" / "retrain.Dockerfile").read_text()
    assert "FROM public.ecr.aws/lambda/python:3.12" in dockerfile


def test_retrain_image_contents() -> None:
    from export import ranker_data

    dockerfile = (REPO_ROOT / "infra" / "retrain.Dockerfile").read_text()
    copied = {line.split()[1] for line in dockerfile.splitlines() if line.startswith("COPY ")}
    for package in ("functions", "ranking", "export", "infra"):
        assert package in copied, package
    for path in (ranker_data.SUBMISSIONS, ranker_data.NEETCODE, ranker_data.A2OJ):
        assert f"data/{path.parts[0]}" in copied, path
    assert '".[serving,retrain]"' in dockerfile
    # The image has no PyTorch, scikit-learn or plotting stack: the job must import without them.
    absent = ("torch", "transformers", "sklearn", "matplotlib", "optimum", "sentence_transformers")
    script = (
        f"import sys; sys.modules.update(dict.fromkeys({absent!r})); "
        "import functions.retrain, export.retrain; print('imported')"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO_ROOT, check=True
    )
    assert result.stdout.strip() == "imported"


def test_model_refresh_seconds_reaches_functions() -> None:
    template = load_template()
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    parameter = template["Parameters"]["ModelRefreshSeconds"]

    assert variables["MODEL_REFRESH_SECONDS"] == {"Ref": "ModelRefreshSeconds"}
    assert parameter["Default"] == 60
    assert parameter["MinValue"] == 0
    assert str(parameter["MaxValue"]) == str(settings_module.MAX_MODEL_REFRESH_SECONDS)
    assert parameter["Default"] == settings_module.DEFAULT_MODEL_REFRESH_SECONDS


def test_deploy_guide_covers_template() -> None:
    template = load_template()
    guide = (REPO_ROOT / "docs" / "deploy.md").read_text()
    alarms = [
        name
        for name, resource in template["Resources"].items()
        if resource["Type"] == "AWS::CloudWatch::Alarm"
    ]
    documented_alarms = ("ErrorsAlarm", "LatencyP95Alarm", "LatencyP99Alarm")

    for name in template["Parameters"]:
        assert f"`{name}`" in guide, f"parameter {name} is not in docs/deploy.md"
    for name in template["Outputs"]:
        assert f"`{name}`" in guide, f"output {name} is not in docs/deploy.md"
    for name in alarms:
        assert f"`{name}`" in guide or name.endswith(documented_alarms), name
    for suffix in documented_alarms:
        assert f"`*{suffix}`" in guide, suffix
