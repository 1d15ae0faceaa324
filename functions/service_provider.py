"""Create the recommender once per process, keep it current, and report its state.

Loading reads the artifacts and starts ONNX Runtime, which takes seconds, so
it happens once per container: on the first request inside Lambda, or in a
background thread when the local server starts. A failed first load is
stored and logged once. Later requests get a 503 with the stored message and
no retry.

When the artifacts come from the S3 registry (``ARTIFACTS_BUCKET`` set), a
container that has loaded a version reads ``MODEL_VERSION_PARAMETER`` again
when a request arrives at least ``MODEL_REFRESH_SECONDS`` after the last
read. If the parameter names another version, that request fetches and
loads it before it is served, because Lambda freezes background threads
between invocations. A lock lets only one thread load, and other threads keep
the loaded recommender meanwhile. The new recommender replaces the old one in
one assignment, and the old version's folder under ``ARTIFACTS_CACHE_DIR`` is
then removed. A new version that fails to fetch or load is logged once, the
loaded one keeps serving, and the next read after the interval retries.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from functions.settings import Settings
from ranking.exceptions import ArtifactError, CatalogueError
from ranking.service_api import RecommenderService

logger = logging.getLogger(__name__)

ServiceFactory = Callable[[], RecommenderService]
ServiceLoader = Callable[[Path], RecommenderService]
Clock = Callable[[], float]
ServiceState = Literal["idle", "loading", "ready", "failed"]

# Bounded waits, because a refresh runs inside a request and API Gateway gives
# up after 29 s. The read timeout applies to each socket read, not to a whole
# download. The botocore defaults are 60 s each with up to 5 attempts.
_CLIENT_CONFIG: dict[str, Any] = {
    "connect_timeout": 3,
    "read_timeout": 10,
    "retries": {"mode": "standard", "max_attempts": 3},
}


class ServiceUnavailableError(Exception):
    """The recommender is still loading or failed to load."""

    def __init__(self, message: str, *, loading: bool) -> None:
        super().__init__(message)
        self.message = message
        self.loading = loading


class ModelSource(Protocol):
    """A registry that names the version to serve and loads any version by id."""

    def active_version(self) -> str:
        """Return the id of the version to serve; raise ArtifactError when it cannot be read."""
        ...

    def load(self, version: str) -> RecommenderService:
        """Fetch ``version`` if needed and return the recommender loaded from it."""
        ...

    def discard(self, version: str) -> None:
        """Remove the local copy of ``version``, if there is one."""
        ...


def recommender_factory(settings: Settings) -> ServiceFactory:
    """Return a factory that loads ``ranking.service.Recommender`` from ``settings``."""

    def create() -> RecommenderService:
        return _load_recommender(artifacts_root(settings), settings)

    return create


def _load_recommender(root: Path, settings: Settings) -> RecommenderService:
    # Imported here, not at module level, so that a broken or missing serving
    # install becomes a logged 503 instead of an import crash of the Lambda
    # handler, and so that importing the app stays cheap.
    from ranking.service import Recommender

    return Recommender.from_artifacts(root, threads=settings.encoder_threads)


def _aws_client(service: str) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(service, config=Config(**_CLIENT_CONFIG))


def artifacts_root(settings: Settings) -> Path:
    """Return the folder to load: ``artifacts_dir``, or the active S3 version fetched and verified."""
    if settings.artifacts_bucket is None:
        return settings.artifacts_dir
    source = S3ModelSource(settings)
    return source.fetch(source.active_version())


class S3ModelSource:
    """The S3 registry in ``settings``: the SSM parameter names the version, fetched into the cache folder.

    ``s3``, ``ssm``, ``loader`` and ``disk_usage`` replace the boto3 clients,
    ``Recommender.from_artifacts`` and ``shutil.disk_usage`` (tests).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        s3: Any = None,
        ssm: Any = None,
        loader: ServiceLoader | None = None,
        disk_usage: Callable[[Path], Any] = shutil.disk_usage,
    ) -> None:
        if settings.artifacts_bucket is None:
            raise ValueError("S3ModelSource needs settings.artifacts_bucket")
        self.bucket = settings.artifacts_bucket
        self.settings = settings
        self._s3 = s3
        self._ssm = ssm
        self._loader = loader
        self._disk_usage = disk_usage

    def active_version(self) -> str:
        """Return the version that the SSM parameter names; raise ArtifactError when it cannot be read."""
        from ranking.remote_artifacts import active_version

        if self._ssm is None:
            self._ssm = _aws_client("ssm")
        return active_version(self._ssm, self.settings.model_version_parameter)

    def fetch(self, version: str) -> Path:
        """Download and verify ``version`` into the cache folder unless it is there; return its folder."""
        from ranking.remote_artifacts import fetch_version

        if self._s3 is None:
            self._s3 = _aws_client("s3")
        logger.info("fetching model version %s from s3://%s", version, self.bucket)
        return fetch_version(
            self._s3,
            self.bucket,
            self.settings.artifacts_prefix,
            version,
            self.settings.artifacts_cache_dir,
            disk_usage=self._disk_usage,
        )

    def load(self, version: str) -> RecommenderService:
        """Fetch ``version`` and return the recommender loaded from its folder."""
        folder = self.fetch(version)
        if self._loader is not None:
            return self._loader(folder)
        return _load_recommender(folder, self.settings)

    def discard(self, version: str) -> None:
        """Remove the cache folder of ``version``, logging a warning if some of it remains."""
        folder = self.settings.artifacts_cache_dir / version
        shutil.rmtree(folder, ignore_errors=True)
        if folder.exists():
            logger.warning(
                "could not remove the cache folder of an unused model version", extra={"folder": str(folder)}
            )


def build_provider(settings: Settings, service_factory: ServiceFactory | None = None) -> ServiceProvider:
    """Return the provider for ``settings``, which refreshes from S3 when a bucket is set.

    A ``service_factory`` replaces the artifacts and turns refresh off.
    """
    if service_factory is not None:
        return ServiceProvider(service_factory)
    if settings.artifacts_bucket is not None:
        return ServiceProvider(source=S3ModelSource(settings), refresh_seconds=settings.model_refresh_seconds)
    return ServiceProvider(recommender_factory(settings))


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


@dataclass(frozen=True)
class _Loaded:
    """A loaded recommender with the registry version it came from (None outside the registry)."""

    service: RecommenderService
    version: str | None
    load_seconds: float


class ServiceProvider:
    """Hold the one recommender of this process, created on first use.

    Pass either ``factory``, which creates the recommender once, or
    ``source``, which names and loads registry versions. With a source and
    ``refresh_seconds`` above 0, ``get`` reads the active version again at most
    once per ``refresh_seconds`` of ``clock`` and loads a new one in place of
    the old.
    """

    def __init__(
        self,
        factory: ServiceFactory | None = None,
        *,
        source: ModelSource | None = None,
        refresh_seconds: float = 0,
        clock: Clock = time.monotonic,
    ) -> None:
        if (factory is None) == (source is None):
            raise ValueError("ServiceProvider needs exactly one of factory and source")
        self._factory = factory
        self._source = source
        self._refresh_seconds = refresh_seconds
        self._clock = clock
        self._lock = threading.Lock()
        # Replaced in one assignment, so a reader never sees a service with another version's id.
        self._loaded: _Loaded | None = None
        self._failure: Exception | None = None
        self._loading = False
        self._next_check = 0.0
        self._refresh_error: str | None = None
        # Versions (or "" for the parameter) whose refresh failure was logged since the last success.
        self._logged_failures: set[str] = set()

    @property
    def state(self) -> ServiceState:
        """Loading state, read without waiting for a load in progress."""
        if self._loaded is not None:
            return "ready"
        if self._failure is not None:
            return "failed"
        return "loading" if self._loading else "idle"

    @property
    def model_version(self) -> str | None:
        """Version of the loaded recommender, or None before it has loaded."""
        loaded = self._loaded
        return loaded.service.model_version if loaded is not None else None

    @property
    def load_seconds(self) -> float | None:
        """Seconds the loaded recommender took to fetch and load, or None before it has loaded."""
        loaded = self._loaded
        return loaded.load_seconds if loaded is not None else None

    @property
    def registry_version(self) -> str | None:
        """Registry version id of the loaded recommender; None before loading or outside the registry."""
        loaded = self._loaded
        return loaded.version if loaded is not None else None

    @property
    def refresh_error(self) -> str | None:
        """Short reason why the last refresh failed, or None when it succeeded or none ran."""
        return self._refresh_error

    @property
    def failure_message(self) -> str | None:
        """Client-facing reason of a failed load, or None."""
        return _failure_message(self._failure) if self._failure is not None else None

    def details(self) -> dict[str, Any]:
        """Return the provider's part of ``GET /health``: load time, registry version, refresh error."""
        details: dict[str, Any] = {"load_seconds": self.load_seconds}
        if self.registry_version is not None:
            details["registry_version"] = self.registry_version
        if self._refresh_error is not None:
            details["refresh_error"] = self._refresh_error
        return details

    def get(self) -> RecommenderService:
        """Return the recommender, loading it first if no thread has done so.

        When a refresh is due, this call reads the active version and, if it
        changed, loads it before returning. A failed refresh returns the
        loaded recommender.

        Raises
        ------
        ServiceUnavailableError
            If the first load failed, now or earlier.
        """
        loaded = self._loaded
        if loaded is not None:
            return self._refresh_if_due(loaded).service

        with self._lock:
            if self._loaded is None and self._failure is None:
                self._load()

        loaded = self._loaded
        if loaded is None:
            raise ServiceUnavailableError(self.failure_message or "not loaded", loading=False)
        return loaded.service

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
            version: str | None = None
            if self._source is not None:
                version = self._source.active_version()
                service = self._source.load(version)
            else:
                assert self._factory is not None
                service = self._factory()
        except Exception as exc:
            self._failure = exc
            logger.exception(
                "recommender failed to load",
                extra={"error_type": type(exc).__name__, "error": str(exc)},
            )
        else:
            self._loaded = _Loaded(service, version, round(time.perf_counter() - started, 3))
            self._next_check = self._clock() + self._refresh_seconds
            logger.info(
                "recommender loaded",
                extra={
                    "model_version": service.model_version,
                    "registry_version": version,
                    "load_seconds": self._loaded.load_seconds,
                },
            )
        finally:
            self._loading = False

    def _refresh_if_due(self, loaded: _Loaded) -> _Loaded:
        if self._source is None or self._refresh_seconds <= 0 or self._clock() < self._next_check:
            return loaded
        # Another thread is already checking or loading, so serve what is loaded.
        if not self._lock.acquire(blocking=False):
            return loaded
        try:
            if self._clock() >= self._next_check:
                self._refresh(self._source, loaded)
        finally:
            self._lock.release()
        return self._loaded or loaded

    def _refresh(self, source: ModelSource, loaded: _Loaded) -> None:
        # Set first, so that a failure is retried only after the next interval.
        self._next_check = self._clock() + self._refresh_seconds
        try:
            version = source.active_version()
        except Exception as exc:
            self._record_refresh_failure(loaded, None, exc)
            return
        if version == loaded.version:
            self._refresh_error = None
            self._logged_failures.clear()
            return

        started = time.perf_counter()
        logger.info(
            "model version changed, loading it",
            extra={"registry_version": version, "previous_registry_version": loaded.version},
        )
        try:
            service = source.load(version)
        except Exception as exc:
            # A version that was fetched but does not load would otherwise fill the cache folder.
            source.discard(version)
            self._record_refresh_failure(loaded, version, exc)
            return

        self._loaded = _Loaded(service, version, round(time.perf_counter() - started, 3))
        self._refresh_error = None
        self._logged_failures.clear()
        logger.info(
            "recommender replaced by a new model version",
            extra={
                "model_version": service.model_version,
                "registry_version": version,
                "previous_registry_version": loaded.version,
                "load_seconds": self._loaded.load_seconds,
            },
        )
        if loaded.version is not None:
            source.discard(loaded.version)

    def _record_refresh_failure(self, loaded: _Loaded, version: str | None, exc: Exception) -> None:
        kind = type(exc).__name__
        if version is None:
            self._refresh_error = (
                f"The active version could not be read from MODEL_VERSION_PARAMETER ({kind}); "
                f"still serving {loaded.version}."
            )
        else:
            self._refresh_error = (
                f"Version {version} failed to load ({kind}); still serving {loaded.version}."
            )
        key = version or ""
        if key in self._logged_failures:
            return
        self._logged_failures.add(key)
        logger.error(
            "model refresh failed, still serving the loaded version; retrying after MODEL_REFRESH_SECONDS",
            extra={
                "registry_version": version,
                "loaded_registry_version": loaded.version,
                "error_type": kind,
                "error": str(exc),
            },
        )
