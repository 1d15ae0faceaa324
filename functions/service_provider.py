"""Create the recommender once per process and report its state.

Loading reads the artifacts and starts ONNX Runtime, which takes seconds, so
it happens once per container: on the first request inside Lambda, or in a
background thread when the local server starts. A failed load is stored and
logged once. Later requests get a 503 with the stored message and no retry,
because the artifacts of a running container do not change.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from functions.settings import Settings
from ranking.exceptions import ArtifactError, CatalogueError
from ranking.service_api import RecommenderService

logger = logging.getLogger(__name__)

ServiceFactory = Callable[[], RecommenderService]
ServiceState = Literal["idle", "loading", "ready", "failed"]


class ServiceUnavailableError(Exception):
    """The recommender is still loading or failed to load."""

    def __init__(self, message: str, *, loading: bool) -> None:
        super().__init__(message)
        self.message = message
        self.loading = loading


def recommender_factory(settings: Settings) -> ServiceFactory:
    """Return a factory that loads ``ranking.service.Recommender`` from ``settings``."""

    def create() -> RecommenderService:
        # Imported here, not at module level, so that a broken or missing
        # serving install becomes a logged 503 instead of an import crash of
        # the Lambda handler, and so that importing the app stays cheap.
        from ranking.service import Recommender

        return Recommender.from_artifacts(artifacts_root(settings), threads=settings.encoder_threads)

    return create


def artifacts_root(settings: Settings) -> Path:
    """Return the folder to load: ``artifacts_dir``, or the active S3 version fetched and verified."""
    if settings.artifacts_bucket is None:
        return settings.artifacts_dir
    import boto3

    from ranking.remote_artifacts import active_version, fetch_version

    version = active_version(boto3.client("ssm"), settings.model_version_parameter)
    logger.info("fetching model version %s from s3://%s", version, settings.artifacts_bucket)
    return fetch_version(
        boto3.client("s3"),
        settings.artifacts_bucket,
        settings.artifacts_prefix,
        version,
        settings.artifacts_cache_dir,
    )


def _failure_message(exc: Exception) -> str:
    kind = type(exc).__name__
    if isinstance(exc, ArtifactError | CatalogueError | FileNotFoundError):
        return (
            f"The recommender could not load its artifacts ({kind}). Rebuild them with "
            "`make artifacts`, check the folder set by ARTIFACTS_DIR or --artifacts, or the "
            "version that MODEL_VERSION_PARAMETER names in ARTIFACTS_BUCKET, and restart the "
            "service. The service log has the details."
        )
    if isinstance(exc, ImportError):
        return (
            f"The recommender code could not be imported ({kind}). Install the serving "
            "dependencies and restart the service. The service log has the details."
        )
    return f"The recommender failed to start ({kind}). The service log has the details."


class ServiceProvider:
    """Hold the one recommender of this process, created by ``factory`` on first use."""

    def __init__(self, factory: ServiceFactory) -> None:
        self._factory = factory
        self._lock = threading.Lock()
        self._service: RecommenderService | None = None
        self._failure: Exception | None = None
        self._loading = False
        self.load_seconds: float | None = None

    @property
    def state(self) -> ServiceState:
        """Loading state, read without waiting for a load in progress."""
        if self._service is not None:
            return "ready"
        if self._failure is not None:
            return "failed"
        return "loading" if self._loading else "idle"

    @property
    def model_version(self) -> str | None:
        """Version of the loaded recommender, or None before it has loaded."""
        return self._service.model_version if self._service is not None else None

    @property
    def failure_message(self) -> str | None:
        """Client-facing reason of a failed load, or None."""
        return _failure_message(self._failure) if self._failure is not None else None

    def get(self) -> RecommenderService:
        """Return the recommender, loading it first if no thread has done so.

        Raises
        ------
        ServiceUnavailableError
            If loading failed, now or earlier.
        """
        service = self._service
        if service is not None:
            return service

        with self._lock:
            if self._service is None and self._failure is None:
                self._load()

        if self._service is None:
            raise ServiceUnavailableError(self.failure_message or "not loaded", loading=False)
        return self._service

    def load_in_background(self) -> threading.Thread:
        """Start loading in a daemon thread, so that ``/health`` responds in the meantime."""
        self._loading = True
        thread = threading.Thread(target=self._get_quietly, name="recommender-load", daemon=True)
        thread.start()

        return thread

    def _get_quietly(self) -> None:
        # _load logged the cause, and requests report it as a 503.
        with contextlib.suppress(ServiceUnavailableError):
            self.get()

    def _load(self) -> None:
        self._loading = True
        started = time.perf_counter()
        logger.info("loading the recommender")
        try:
            service = self._factory()
        except Exception as exc:
            self._failure = exc
            logger.exception(
                "recommender failed to load",
                extra={"error_type": type(exc).__name__, "error": str(exc)},
            )
        else:
            self._service = service
            self.load_seconds = round(time.perf_counter() - started, 3)
            logger.info(
                "recommender loaded",
                extra={"model_version": service.model_version, "load_seconds": self.load_seconds},
            )
        finally:
            self._loading = False
