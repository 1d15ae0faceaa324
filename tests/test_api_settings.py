"""Parsing of the API layer's environment variables."""

from __future__ import annotations

from pathlib import Path

import pytest

from functions.settings import PROJECT_ROOT, Settings, SettingsError, load_retrain_settings, load_settings


def test_defaults_without_environment() -> None:
    settings = load_settings({})

    assert settings == Settings(
        artifacts_dir=PROJECT_ROOT / "build" / "artifacts",
        log_level="INFO",
        encoder_threads=None,
        in_lambda=False,
    )


def test_relative_artifacts_dir_uses_project_root() -> None:
    settings = load_settings({"ARTIFACTS_DIR": "models/current"})

    assert settings.artifacts_dir == PROJECT_ROOT / "models" / "current"


def test_absolute_artifacts_dir_is_kept(tmp_path: Path) -> None:
    settings = load_settings({"ARTIFACTS_DIR": str(tmp_path)})

    assert settings.artifacts_dir == tmp_path.resolve()


def test_values_are_parsed() -> None:
    settings = load_settings(
        {"LOG_LEVEL": "debug", "ENCODER_THREADS": "2", "AWS_LAMBDA_FUNCTION_NAME": "recommend"}
    )

    assert settings.log_level == "DEBUG"
    assert settings.encoder_threads == 2
    assert settings.in_lambda is True


@pytest.mark.parametrize("value", ["", "0", " "])
def test_encoder_threads_default(value: str) -> None:
    assert load_settings({"ENCODER_THREADS": value}).encoder_threads is None


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("LOG_LEVEL", "LOUD"),
        ("ENCODER_THREADS", "two"),
        ("ENCODER_THREADS", "-1"),
        ("ENCODER_THREADS", "65"),
        ("MODEL_REFRESH_SECONDS", "soon"),
        ("MODEL_REFRESH_SECONDS", "-1"),
        ("MODEL_REFRESH_SECONDS", "1.5"),
        ("MODEL_REFRESH_SECONDS", "86401"),
    ],
)
def test_bad_value_names_variable(variable: str, value: str) -> None:
    with pytest.raises(SettingsError, match=f"environment variable {variable}=") as info:
        load_settings({variable: value})

    assert info.value.variable == variable


@pytest.mark.parametrize(
    ("value", "seconds"), [("", 60), (" ", 60), ("0", 0), ("300", 300), ("86400", 86400)]
)
def test_model_refresh_seconds(value: str, seconds: int) -> None:
    assert load_settings({"MODEL_REFRESH_SECONDS": value}).model_refresh_seconds == seconds


def test_model_refresh_seconds_default() -> None:
    assert load_settings({}).model_refresh_seconds == 60


def test_settings_are_frozen() -> None:
    settings = Settings()

    with pytest.raises(AttributeError):
        settings.log_level = "DEBUG"  # type: ignore[misc]


def test_retrain_settings_defaults() -> None:
    settings = load_retrain_settings({})

    assert settings.work_dir == Path("/tmp") / "retrain"
    assert settings.data_dir == PROJECT_ROOT / "data"
    assert settings.auto_promote is False
    assert settings.min_feedback_examples == 20


def test_retrain_settings_parse() -> None:
    settings = load_retrain_settings(
        {
            "RETRAIN_WORK_DIR": "/scratch/retrain",
            "RETRAIN_DATA_DIR": "data",
            "RETRAIN_AUTO_PROMOTE": "true",
            "RETRAIN_MIN_FEEDBACK_EXAMPLES": "500",
        }
    )

    assert settings.work_dir == Path("/scratch/retrain")
    assert settings.data_dir == PROJECT_ROOT / "data"
    assert settings.auto_promote is True
    assert settings.min_feedback_examples == 500


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("RETRAIN_AUTO_PROMOTE", "maybe"),
        ("RETRAIN_MIN_FEEDBACK_EXAMPLES", "0"),
        ("RETRAIN_MIN_FEEDBACK_EXAMPLES", "many"),
        ("RETRAIN_MIN_FEEDBACK_EXAMPLES", "1000001"),
    ],
)
def test_bad_retrain_value_names_variable(variable: str, value: str) -> None:
    with pytest.raises(SettingsError, match=f"environment variable {variable}=") as info:
        load_retrain_settings({variable: value})

    assert info.value.variable == variable
