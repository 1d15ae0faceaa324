"""Environment configuration of the API layer.

Every environment variable the handlers read is named here, and nowhere
else. ``load_settings`` parses them once per process (at cold start) into a
frozen ``Settings``. A bad value raises ``SettingsError``, which names the variable.
Callers that take an explicit argument (``--artifacts`` on the command line,
``create_app(settings=...)``) use it instead of the environment.
"""

from __future__ import annotations

import functools
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

ARTIFACTS_DIR_VAR = "ARTIFACTS_DIR"
LOG_LEVEL_VAR = "LOG_LEVEL"
ENCODER_THREADS_VAR = "ENCODER_THREADS"
# With a bucket set, the active model version is fetched from S3 at cold start
# into ARTIFACTS_CACHE_DIR instead of being read from ARTIFACTS_DIR.
ARTIFACTS_BUCKET_VAR = "ARTIFACTS_BUCKET"
ARTIFACTS_PREFIX_VAR = "ARTIFACTS_PREFIX"
MODEL_VERSION_PARAMETER_VAR = "MODEL_VERSION_PARAMETER"
ARTIFACTS_CACHE_DIR_VAR = "ARTIFACTS_CACHE_DIR"
# Seconds between checks of MODEL_VERSION_PARAMETER by a running container; 0 turns the check off.
MODEL_REFRESH_SECONDS_VAR = "MODEL_REFRESH_SECONDS"
FEEDBACK_BUCKET_VAR = "FEEDBACK_BUCKET"
FEEDBACK_PREFIX_VAR = "FEEDBACK_PREFIX"
FEEDBACK_DIR_VAR = "FEEDBACK_DIR"
# The salt that hashes learner ids: the value itself, or an SSM SecureString naming it.
LEARNER_ID_SALT_VAR = "LEARNER_ID_SALT"
LEARNER_ID_SALT_PARAMETER_VAR = "LEARNER_ID_SALT_PARAMETER"
DEFAULT_FEEDBACK_PREFIX = "feedback"
DEFAULT_FEEDBACK_DIR = Path("build") / "feedback"
DEFAULT_ARTIFACTS_PREFIX = "models"
DEFAULT_MODEL_VERSION_PARAMETER = "/practice-recommender/active-model-version"
DEFAULT_ARTIFACTS_CACHE_DIR = Path("/tmp") / "artifacts"
DEFAULT_MODEL_REFRESH_SECONDS = 60
MAX_MODEL_REFRESH_SECONDS = 86400
# "true" makes /recommend, /explain and /feedback reject a request whose
# API Gateway event carries no API key id or JWT claims (functions/auth.py).
REQUIRE_API_KEY_VAR = "REQUIRE_API_KEY"
# One origin, or *, that every response allows in Access-Control-Allow-Origin.
CORS_ALLOW_ORIGIN_VAR = "CORS_ALLOW_ORIGIN"
# Read by aws-lambda-powertools itself (functions/observability.py); named
# here so that every variable the template sets is listed in this module.
POWERTOOLS_SERVICE_NAME_VAR = "POWERTOOLS_SERVICE_NAME"
POWERTOOLS_METRICS_NAMESPACE_VAR = "POWERTOOLS_METRICS_NAMESPACE"
# Set by the Lambda runtime itself; its presence means the code runs inside Lambda.
LAMBDA_FUNCTION_NAME_VAR = "AWS_LAMBDA_FUNCTION_NAME"

DEFAULT_ARTIFACTS_DIR = Path("build") / "artifacts"
DEFAULT_LOG_LEVEL = "INFO"
LOG_LEVELS: tuple[str, ...] = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
MAX_ENCODER_THREADS = 64
_TRUE_VALUES = ("1", "true", "yes", "on")
_FALSE_VALUES = ("", "0", "false", "no", "off")
# scheme://host with an optional port, and no path: the form browsers send in Origin.
_ORIGIN = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?")


class SettingsError(ValueError):
    """An environment variable has a value the API layer cannot use."""

    def __init__(self, variable: str, value: str, expected: str) -> None:
        super().__init__(f"environment variable {variable}={value!r} is invalid: expected {expected}")
        self.variable = variable


@dataclass(frozen=True)
class Settings:
    """Parsed configuration of one process.

    Attributes
    ----------
    artifacts_dir
        Absolute folder holding the recommender artifacts (catalogue, encoder,
        index, ranker).
    log_level
        Name of the root log level, one of ``LOG_LEVELS``.
    encoder_threads
        ONNX Runtime intra-op threads for the query encoder; ``None`` leaves
        the choice to ONNX Runtime.
    in_lambda
        Whether the process runs inside AWS Lambda.
    artifacts_bucket
        S3 bucket of the model registry; ``None`` reads ``artifacts_dir``.
    artifacts_prefix
        Key prefix of the registry inside the bucket.
    model_version_parameter
        SSM parameter naming the version to serve.
    artifacts_cache_dir
        Local folder the fetched version is written to.
    model_refresh_seconds
        Minimum seconds between two reads of ``model_version_parameter`` by a
        container that has loaded a version; 0 keeps the first version loaded.
    feedback_bucket
        S3 bucket for feedback batches; ``None`` writes to ``feedback_dir``.
    learner_id_salt, learner_id_salt_parameter
        The salt for hashing learner ids, or the SSM parameter holding it.
    require_api_key
        Whether the protected routes reject a request without an API Gateway
        auth context (an API key id or JWT claims).
    cors_allow_origin
        The origin, or ``*``, sent in ``Access-Control-Allow-Origin`` on every
        response; ``None`` sends no CORS headers.
    """

    artifacts_dir: Path = PROJECT_ROOT / DEFAULT_ARTIFACTS_DIR
    log_level: str = DEFAULT_LOG_LEVEL
    encoder_threads: int | None = None
    in_lambda: bool = False
    artifacts_bucket: str | None = None
    artifacts_prefix: str = DEFAULT_ARTIFACTS_PREFIX
    model_version_parameter: str = DEFAULT_MODEL_VERSION_PARAMETER
    artifacts_cache_dir: Path = DEFAULT_ARTIFACTS_CACHE_DIR
    model_refresh_seconds: int = DEFAULT_MODEL_REFRESH_SECONDS
    feedback_bucket: str | None = None
    feedback_prefix: str = DEFAULT_FEEDBACK_PREFIX
    feedback_dir: Path = PROJECT_ROOT / DEFAULT_FEEDBACK_DIR
    # Left out of repr, so that logging the settings never writes the salt.
    learner_id_salt: str | None = field(default=None, repr=False)
    learner_id_salt_parameter: str | None = None
    require_api_key: bool = False
    cors_allow_origin: str | None = None


def resolve_artifacts_dir(value: str | Path, base: Path = PROJECT_ROOT) -> Path:
    """Return ``value`` as an absolute path, taking a relative one from ``base``."""
    path = Path(value).expanduser()
    if not path.is_absolute():
        path = base / path
    return path.resolve()


def _parse_log_level(raw: str) -> str:
    level = raw.strip().upper()
    if level not in LOG_LEVELS:
        raise SettingsError(LOG_LEVEL_VAR, raw, "one of " + ", ".join(LOG_LEVELS))
    return level


def _parse_encoder_threads(raw: str) -> int | None:
    if raw.strip() in ("", "0"):
        return None
    expected = f"an integer from 1 to {MAX_ENCODER_THREADS}, or 0 or empty for the default"
    try:
        threads = int(raw)
    except ValueError as exc:
        raise SettingsError(ENCODER_THREADS_VAR, raw, expected) from exc
    if not 1 <= threads <= MAX_ENCODER_THREADS:
        raise SettingsError(ENCODER_THREADS_VAR, raw, expected)
    return threads


def _parse_whole_number(variable: str, raw: str, default: int, low: int, high: int, expected: str) -> int:
    """Parse ``raw`` as an integer from ``low`` to ``high``; empty gives ``default``."""
    if raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise SettingsError(variable, raw, expected) from exc
    if not low <= value <= high:
        raise SettingsError(variable, raw, expected)
    return value


def _parse_model_refresh_seconds(raw: str) -> int:
    expected = f"a whole number of seconds from 0 to {MAX_MODEL_REFRESH_SECONDS}, where 0 turns refresh off"
    return _parse_whole_number(
        MODEL_REFRESH_SECONDS_VAR, raw, DEFAULT_MODEL_REFRESH_SECONDS, 0, MAX_MODEL_REFRESH_SECONDS, expected
    )


def _parse_bool(variable: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in _TRUE_VALUES:
        return True
    if value in _FALSE_VALUES:
        return False
    raise SettingsError(variable, raw, "true or false (also 1/0, yes/no, on/off), or empty for false")


def _parse_cors_origin(raw: str) -> str | None:
    origin = raw.strip()
    if not origin:
        return None
    if origin != "*" and not _ORIGIN.fullmatch(origin):
        raise SettingsError(
            CORS_ALLOW_ORIGIN_VAR, raw, "* or one origin such as https://app.example.com, with no path"
        )
    return origin


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Parse the settings from ``environ`` (default: ``os.environ``).

    A relative ``ARTIFACTS_DIR`` is taken from the project root, which is
    ``/var/task`` inside Lambda, so the value does not depend on the working
    directory.

    Raises
    ------
    SettingsError
        If a variable is set to a value that cannot be used.
    """
    env = os.environ if environ is None else environ

    raw_artifacts = env.get(ARTIFACTS_DIR_VAR, "").strip()
    artifacts_dir = resolve_artifacts_dir(raw_artifacts or DEFAULT_ARTIFACTS_DIR)

    return Settings(
        artifacts_dir=artifacts_dir,
        log_level=_parse_log_level(env.get(LOG_LEVEL_VAR, DEFAULT_LOG_LEVEL)),
        encoder_threads=_parse_encoder_threads(env.get(ENCODER_THREADS_VAR, "")),
        in_lambda=bool(env.get(LAMBDA_FUNCTION_NAME_VAR)),
        artifacts_bucket=env.get(ARTIFACTS_BUCKET_VAR, "").strip() or None,
        artifacts_prefix=env.get(ARTIFACTS_PREFIX_VAR, DEFAULT_ARTIFACTS_PREFIX).strip(),
        model_version_parameter=env.get(MODEL_VERSION_PARAMETER_VAR, "").strip()
        or DEFAULT_MODEL_VERSION_PARAMETER,
        artifacts_cache_dir=Path(env.get(ARTIFACTS_CACHE_DIR_VAR, "").strip() or DEFAULT_ARTIFACTS_CACHE_DIR),
        model_refresh_seconds=_parse_model_refresh_seconds(env.get(MODEL_REFRESH_SECONDS_VAR, "")),
        feedback_bucket=env.get(FEEDBACK_BUCKET_VAR, "").strip() or None,
        feedback_prefix=env.get(FEEDBACK_PREFIX_VAR, DEFAULT_FEEDBACK_PREFIX).strip(),
        feedback_dir=resolve_artifacts_dir(env.get(FEEDBACK_DIR_VAR, "").strip() or DEFAULT_FEEDBACK_DIR),
        learner_id_salt=env.get(LEARNER_ID_SALT_VAR) or None,
        learner_id_salt_parameter=env.get(LEARNER_ID_SALT_PARAMETER_VAR, "").strip() or None,
        require_api_key=_parse_bool(REQUIRE_API_KEY_VAR, env.get(REQUIRE_API_KEY_VAR, "")),
        cors_allow_origin=_parse_cors_origin(env.get(CORS_ALLOW_ORIGIN_VAR, "")),
    )


@functools.cache
def get_settings() -> Settings:
    """Return the settings of this process, parsed from the environment on first use."""
    settings = load_settings()
    logging.getLogger(__name__).debug("settings loaded", extra={"settings": repr(settings)})

    return settings


# The weekly retraining function reads the registry and feedback settings
# above, plus these.
RETRAIN_WORK_DIR_VAR = "RETRAIN_WORK_DIR"
RETRAIN_DATA_DIR_VAR = "RETRAIN_DATA_DIR"
RETRAIN_AUTO_PROMOTE_VAR = "RETRAIN_AUTO_PROMOTE"
RETRAIN_MIN_FEEDBACK_EXAMPLES_VAR = "RETRAIN_MIN_FEEDBACK_EXAMPLES"
DEFAULT_RETRAIN_WORK_DIR = Path("/tmp") / "retrain"
DEFAULT_RETRAIN_DATA_DIR = Path("data")
DEFAULT_RETRAIN_MIN_FEEDBACK_EXAMPLES = 20
MAX_RETRAIN_MIN_FEEDBACK_EXAMPLES = 1_000_000


@dataclass(frozen=True)
class RetrainSettings:
    """Configuration of the retraining function, on top of ``Settings``.

    Attributes
    ----------
    work_dir
        Scratch folder for the fetched version and the candidate.
    data_dir
        The bundled base data (Codeforces sequences, study lists).
    auto_promote
        Promote the candidate when it passes the registry's metric gate.
    min_feedback_examples
        Fewer training examples from feedback than this publishes nothing.
    """

    work_dir: Path = DEFAULT_RETRAIN_WORK_DIR
    data_dir: Path = PROJECT_ROOT / DEFAULT_RETRAIN_DATA_DIR
    auto_promote: bool = False
    min_feedback_examples: int = DEFAULT_RETRAIN_MIN_FEEDBACK_EXAMPLES


def _parse_min_feedback_examples(raw: str) -> int:
    expected = f"a whole number from 1 to {MAX_RETRAIN_MIN_FEEDBACK_EXAMPLES}"
    return _parse_whole_number(
        RETRAIN_MIN_FEEDBACK_EXAMPLES_VAR,
        raw,
        DEFAULT_RETRAIN_MIN_FEEDBACK_EXAMPLES,
        1,
        MAX_RETRAIN_MIN_FEEDBACK_EXAMPLES,
        expected,
    )


def load_retrain_settings(environ: Mapping[str, str] | None = None) -> RetrainSettings:
    """Parse the retraining settings from ``environ`` (default: ``os.environ``); raises SettingsError."""
    env = os.environ if environ is None else environ
    return RetrainSettings(
        work_dir=Path(env.get(RETRAIN_WORK_DIR_VAR, "").strip() or DEFAULT_RETRAIN_WORK_DIR),
        data_dir=resolve_artifacts_dir(env.get(RETRAIN_DATA_DIR_VAR, "").strip() or DEFAULT_RETRAIN_DATA_DIR),
        auto_promote=_parse_bool(RETRAIN_AUTO_PROMOTE_VAR, env.get(RETRAIN_AUTO_PROMOTE_VAR, "")),
        min_feedback_examples=_parse_min_feedback_examples(env.get(RETRAIN_MIN_FEEDBACK_EXAMPLES_VAR, "")),
    )
