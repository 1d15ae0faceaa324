"""A running container follows the active model version, on moto's in-process S3 and SSM.

The provider reads the SSM parameter through a fake clock, so the refresh
interval passes without sleeping. Most tests load a stub recommender from
each fetched folder, because the fetch and the swap are under test, not
ONNX Runtime. The last tests load the real recommender.
"""

from __future__ import annotations

import hashlib
import json
import logging
import socket
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from botocore.config import Config
from moto import mock_aws

from functions.app import create_app
from functions.service_provider import S3ModelSource, ServiceProvider, ServiceUnavailableError
from functions.settings import Settings
from ranking.remote_artifacts import version_prefix
from ranking.types import ExplainerMode, ExplainResult, LearnerProfile, RecommendResult
from tests.asgi import get_json, post_json

BUCKET = "refresh-test"
PREFIX = "models"
PARAMETER = "/practice-recommender/active-model-version"
INTERVAL = 60.0
FIRST = "aaaaaaaaaaaa"
SECOND = "bbbbbbbbbbbb"
REFRESH_FAILED = (
    "model refresh failed, still serving the loaded version; retrying after MODEL_REFRESH_SECONDS"
)


class FakeClock:
    """A monotonic clock that moves only when a test calls ``advance``."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float = INTERVAL) -> None:
        self.now += seconds


class StubService:
    """Stands in for the recommender; its model version is the name of the folder it was loaded from."""

    def __init__(self, folder: Path) -> None:
        self.model_version = folder.name
        self.catalogue = (folder / "catalogue" / "catalogue.csv").read_text()

    def recommend(
        self,
        profile: LearnerProfile,
        k: int = 10,
        platforms: Sequence[str] | None = None,
        explain: bool = True,
        explainer: ExplainerMode = "template",
        budget_s: float = 3.0,
    ) -> RecommendResult:
        raise NotImplementedError("the stub only loads")

    def explain(
        self,
        profile: LearnerProfile,
        problem_id: str,
        explainer: ExplainerMode = "template",
        budget_s: float = 3.0,
    ) -> ExplainResult:
        raise NotImplementedError("the stub only loads")

    def health(self) -> dict[str, Any]:
        return {"model_version": self.model_version}


class SwitchableClient:
    """Forwards every call to ``target``, so a test can cut a client off after the first load."""

    def __init__(self, target: Any) -> None:
        self.target = target

    def __getattr__(self, name: str) -> Any:
        return getattr(self.target, name)


def closed_port() -> int:
    """Return a loopback port that nothing listens on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def unreachable_client(service: str) -> Any:
    """A client whose endpoint is a closed loopback port, so every call fails to connect."""
    config = Config(connect_timeout=1, read_timeout=1, retries={"max_attempts": 1})
    return boto3.client(
        service, region_name="us-east-1", endpoint_url=f"http://127.0.0.1:{closed_port()}", config=config
    )


def files_of(version: str) -> dict[tuple[str, str], bytes]:
    return {
        ("catalogue", "catalogue.csv"): f"id,title\nleetcode:two-sum,Two Sum {version}\n".encode(),
        ("catalogue", "manifest.json"): b'{"artifact": "catalogue"}\n',
        ("ranker", "ranker.onnx"): version.encode() * 100,
    }


def publish(s3: Any, version: str) -> None:
    """Upload a small version with its release.json, as the registry lays it out."""
    base = version_prefix(PREFIX, version)
    components: dict[str, Any] = {}
    for (component, name), body in files_of(version).items():
        s3.put_object(Bucket=BUCKET, Key=f"{base}/{component}/{name}", Body=body)
        entry = {"sha256": hashlib.sha256(body).hexdigest(), "size": len(body)}
        components.setdefault(component, {"files": {}})["files"][name] = entry
    release = {"version": version, "components": components}
    s3.put_object(Bucket=BUCKET, Key=f"{base}/release.json", Body=json.dumps(release).encode())


def publish_serving_components(s3: Any, root: Path, version: str) -> None:
    """Upload the four serving components of a real artifacts root as ``version``."""
    base = version_prefix(PREFIX, version)
    release: dict[str, Any] = {"version": version, "components": {}}
    for component in ("catalogue", "encoder", "index", "ranker"):
        files = {}
        for path in sorted((root / component).iterdir()):
            if path.is_file():
                body = path.read_bytes()
                s3.put_object(Bucket=BUCKET, Key=f"{base}/{component}/{path.name}", Body=body)
                files[path.name] = {"sha256": hashlib.sha256(body).hexdigest(), "size": len(body)}
        release["components"][component] = {"files": files}
    s3.put_object(Bucket=BUCKET, Key=f"{base}/release.json", Body=json.dumps(release).encode())


@pytest.fixture
def aws(fake_aws_env: None, tmp_path: Path) -> Iterator[SimpleNamespace]:
    """Moto's S3 and SSM with two published versions, the first one active."""
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        ssm = boto3.client("ssm", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        publish(s3, FIRST)
        publish(s3, SECOND)
        ssm.put_parameter(Name=PARAMETER, Value=FIRST, Type="String")
        yield SimpleNamespace(s3=SwitchableClient(s3), ssm=SwitchableClient(ssm), cache=tmp_path / "cache")


def settings_for(aws: SimpleNamespace) -> Settings:
    return Settings(
        artifacts_bucket=BUCKET,
        artifacts_prefix=PREFIX,
        model_version_parameter=PARAMETER,
        artifacts_cache_dir=aws.cache,
        model_refresh_seconds=int(INTERVAL),
    )


def stub_provider(aws: SimpleNamespace, clock: FakeClock) -> ServiceProvider:
    source = S3ModelSource(settings_for(aws), s3=aws.s3, ssm=aws.ssm, loader=StubService)
    return ServiceProvider(source=source, refresh_seconds=INTERVAL, clock=clock)


def activate(aws: SimpleNamespace, version: str) -> None:
    aws.ssm.put_parameter(Name=PARAMETER, Value=version, Type="String", Overwrite=True)


def cached_versions(aws: SimpleNamespace) -> list[str]:
    return sorted(path.name for path in aws.cache.iterdir())


def field_of(record: logging.LogRecord, name: str) -> Any:
    """Return a field that the log call passed in ``extra``."""
    return record.__dict__[name]


def refresh_failures(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.message == REFRESH_FAILED]


def test_new_version_loads_after_interval(aws: SimpleNamespace) -> None:
    clock = FakeClock()
    provider = stub_provider(aws, clock)
    first = provider.get()
    assert first.model_version == FIRST

    activate(aws, SECOND)
    clock.advance(INTERVAL - 1)
    assert provider.get() is first

    clock.advance(1)
    second = provider.get()
    assert second.model_version == SECOND
    assert provider.registry_version == SECOND
    assert provider.refresh_error is None
    assert provider.get() is second
    assert cached_versions(aws) == [SECOND]


def test_rollback_loads_previous_version(aws: SimpleNamespace) -> None:
    clock = FakeClock()
    provider = stub_provider(aws, clock)
    provider.get()
    activate(aws, SECOND)
    clock.advance()
    assert provider.get().model_version == SECOND

    activate(aws, FIRST)
    clock.advance()
    assert provider.get().model_version == FIRST
    assert provider.registry_version == FIRST
    assert cached_versions(aws) == [FIRST]


def test_zero_interval_never_rereads(aws: SimpleNamespace) -> None:
    source = S3ModelSource(settings_for(aws), s3=aws.s3, ssm=aws.ssm, loader=StubService)
    clock = FakeClock()
    provider = ServiceProvider(source=source, refresh_seconds=0, clock=clock)
    provider.get()
    activate(aws, SECOND)
    clock.advance(10 * INTERVAL)

    assert provider.get().model_version == FIRST


def test_corrupt_new_version_keeps_serving(aws: SimpleNamespace, caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    provider = stub_provider(aws, clock)
    first = provider.get()
    key = f"{version_prefix(PREFIX, SECOND)}/ranker/ranker.onnx"
    aws.s3.put_object(Bucket=BUCKET, Key=key, Body=b"tampered")
    activate(aws, SECOND)

    with caplog.at_level(logging.INFO):
        for _ in range(3):
            clock.advance()
            assert provider.get() is first
            assert provider.get() is first
    assert len(refresh_failures(caplog)) == 1
    failure = refresh_failures(caplog)[0]
    assert failure.levelno == logging.ERROR
    assert field_of(failure, "registry_version") == SECOND
    assert "does not match the sha256" in field_of(failure, "error")
    assert provider.refresh_error is not None
    assert f"Version {SECOND} failed to load (ArtifactError)" in provider.refresh_error
    assert f"still serving {FIRST}" in provider.refresh_error
    assert cached_versions(aws) == [FIRST]

    # Repaired (as a retried upload would), the version loads at the next check and not before.
    aws.s3.put_object(Bucket=BUCKET, Key=key, Body=files_of(SECOND)[("ranker", "ranker.onnx")])
    assert provider.get() is first
    clock.advance()
    assert provider.get().model_version == SECOND
    assert provider.refresh_error is None
    assert cached_versions(aws) == [SECOND]


def test_missing_release_keeps_serving(aws: SimpleNamespace, caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    provider = stub_provider(aws, clock)
    first = provider.get()
    aws.s3.delete_object(Bucket=BUCKET, Key=f"{version_prefix(PREFIX, SECOND)}/release.json")
    activate(aws, SECOND)

    with caplog.at_level(logging.INFO):
        clock.advance()
        assert provider.get() is first
        clock.advance()
        assert provider.get() is first
    assert len(refresh_failures(caplog)) == 1
    assert "release.json" in field_of(refresh_failures(caplog)[0], "error")
    assert provider.registry_version == FIRST
    assert cached_versions(aws) == [FIRST]


def test_each_failed_version_logs_once(aws: SimpleNamespace, caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    provider = stub_provider(aws, clock)
    first = provider.get()

    with caplog.at_level(logging.INFO):
        for version in ("cccccccccccc", "dddddddddddd", "cccccccccccc"):
            activate(aws, version)
            clock.advance()
            assert provider.get() is first
    logged = [field_of(record, "registry_version") for record in refresh_failures(caplog)]
    assert logged == ["cccccccccccc", "dddddddddddd"]


def test_ssm_unreachable_keeps_serving(aws: SimpleNamespace, caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    provider = stub_provider(aws, clock)
    first = provider.get()
    working_ssm = aws.ssm.target
    aws.ssm.target = unreachable_client("ssm")

    with caplog.at_level(logging.INFO):
        clock.advance()
        assert provider.get() is first
        clock.advance()
        assert provider.get() is first
    assert len(refresh_failures(caplog)) == 1
    assert field_of(refresh_failures(caplog)[0], "registry_version") is None
    assert "Could not connect to the endpoint URL" in field_of(refresh_failures(caplog)[0], "error")
    assert provider.refresh_error is not None
    assert "MODEL_VERSION_PARAMETER" in provider.refresh_error

    # Reachable again with an unchanged version: the error clears without a reload.
    aws.ssm.target = working_ssm
    clock.advance()
    assert provider.get() is first
    assert provider.refresh_error is None


def test_s3_unreachable_keeps_serving(aws: SimpleNamespace, caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    provider = stub_provider(aws, clock)
    first = provider.get()
    aws.s3.target = unreachable_client("s3")
    activate(aws, SECOND)

    with caplog.at_level(logging.INFO):
        clock.advance()
        assert provider.get() is first
    assert len(refresh_failures(caplog)) == 1
    assert "Could not connect to the endpoint URL" in field_of(refresh_failures(caplog)[0], "error")
    assert cached_versions(aws) == [FIRST]


def test_deleted_bucket_keeps_serving(aws: SimpleNamespace, caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    provider = stub_provider(aws, clock)
    first = provider.get()
    for item in aws.s3.list_objects_v2(Bucket=BUCKET)["Contents"]:
        aws.s3.delete_object(Bucket=BUCKET, Key=item["Key"])
    aws.s3.delete_bucket(Bucket=BUCKET)
    activate(aws, SECOND)

    with caplog.at_level(logging.INFO):
        clock.advance()
        assert provider.get() is first
    assert len(refresh_failures(caplog)) == 1
    assert "NoSuchBucket" in field_of(refresh_failures(caplog)[0], "error")


def test_full_disk_keeps_serving(aws: SimpleNamespace) -> None:
    disk = SimpleNamespace(free=10**12)

    def disk_usage(path: Path) -> SimpleNamespace:
        return disk

    clock = FakeClock()
    source = S3ModelSource(
        settings_for(aws), s3=aws.s3, ssm=aws.ssm, loader=StubService, disk_usage=disk_usage
    )
    provider = ServiceProvider(source=source, refresh_seconds=INTERVAL, clock=clock)
    first = provider.get()
    disk.free = 1024
    activate(aws, SECOND)
    clock.advance()

    assert provider.get() is first
    assert provider.refresh_error is not None
    assert "ArtifactError" in provider.refresh_error
    assert cached_versions(aws) == [FIRST]


def test_failed_load_of_new_version_removes_its_folder(aws: SimpleNamespace) -> None:
    def loader(folder: Path) -> StubService:
        if folder.name == SECOND:
            raise RuntimeError("onnxruntime rejected the model")
        return StubService(folder)

    clock = FakeClock()
    source = S3ModelSource(settings_for(aws), s3=aws.s3, ssm=aws.ssm, loader=loader)
    provider = ServiceProvider(source=source, refresh_seconds=INTERVAL, clock=clock)
    first = provider.get()
    activate(aws, SECOND)
    clock.advance()

    assert provider.get() is first
    assert provider.refresh_error is not None
    assert "RuntimeError" in provider.refresh_error
    assert cached_versions(aws) == [FIRST]


def test_other_threads_serve_during_load(aws: SimpleNamespace) -> None:
    started = threading.Event()
    release = threading.Event()
    loads: list[str] = []

    def slow_loader(folder: Path) -> StubService:
        loads.append(folder.name)
        if folder.name == SECOND:
            started.set()
            assert release.wait(timeout=30)
        return StubService(folder)

    clock = FakeClock()
    source = S3ModelSource(settings_for(aws), s3=aws.s3, ssm=aws.ssm, loader=slow_loader)
    provider = ServiceProvider(source=source, refresh_seconds=INTERVAL, clock=clock)
    first = provider.get()
    activate(aws, SECOND)
    clock.advance()

    results: list[str] = []
    loading = threading.Thread(target=lambda: results.append(provider.get().model_version))
    loading.start()
    assert started.wait(timeout=30)
    # Due as well, but the lock is taken, so these return the loaded recommender at once.
    assert provider.get() is first
    assert provider.get() is first
    release.set()
    loading.join(timeout=30)

    assert results == [SECOND]
    assert loads == [FIRST, SECOND]
    assert provider.get().model_version == SECOND


def test_health_shows_refresh_error(aws: SimpleNamespace) -> None:
    clock = FakeClock()
    provider = stub_provider(aws, clock)
    app = create_app(settings=settings_for(aws), provider=provider)
    healthy = get_json(app, "/health")
    assert healthy.status_code == 200, healthy.text
    assert healthy.json()["model_version"] == FIRST
    assert healthy.json()["details"]["registry_version"] == FIRST
    assert "refresh_error" not in healthy.json()["details"]

    aws.s3.delete_object(Bucket=BUCKET, Key=f"{version_prefix(PREFIX, SECOND)}/release.json")
    activate(aws, SECOND)
    clock.advance()
    degraded = get_json(app, "/health")
    assert degraded.status_code == 200
    assert degraded.json()["model_version"] == FIRST
    reason = degraded.json()["details"]["refresh_error"]
    assert reason == f"Version {SECOND} failed to load (ArtifactError); still serving {FIRST}."
    # The public /health keeps bucket names and keys to the log.
    assert BUCKET not in reason


def test_cold_start_s3_unreachable_fails_fast(aws: SimpleNamespace, caplog: pytest.LogCaptureFixture) -> None:
    source = S3ModelSource(settings_for(aws), s3=unreachable_client("s3"), ssm=aws.ssm)
    provider = ServiceProvider(source=source, refresh_seconds=INTERVAL, clock=FakeClock())
    app = create_app(settings=settings_for(aws), provider=provider)

    with caplog.at_level(logging.INFO):
        responses = [post_json(app, "/recommend", {"k": 3}) for _ in range(2)]
    assert [response.status_code for response in responses] == [503, 503]
    message = responses[0].json()["error"]["message"]
    assert "MODEL_VERSION_PARAMETER" in message
    assert "ARTIFACTS_BUCKET" in message
    errors = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert [record.message for record in errors] == ["recommender failed to load"]
    with pytest.raises(ServiceUnavailableError):
        provider.get()


def test_real_recommender_follows_promotion(
    aws: SimpleNamespace, artifacts_dir: Path, tmp_path: Path
) -> None:
    publish_serving_components(aws.s3, artifacts_dir, "feedc0ffee01")
    publish_serving_components(aws.s3, artifacts_dir, "feedc0ffee02")
    activate(aws, "feedc0ffee01")
    clock = FakeClock()
    source = S3ModelSource(settings_for(aws), s3=aws.s3, ssm=aws.ssm)
    provider = ServiceProvider(source=source, refresh_seconds=INTERVAL, clock=clock)
    app = create_app(settings=settings_for(aws), provider=provider)

    before = post_json(app, "/recommend", {"k": 3})
    assert before.status_code == 200, before.text
    activate(aws, "feedc0ffee02")
    clock.advance()
    after = post_json(app, "/recommend", {"k": 3})
    assert after.status_code == 200, after.text
    assert provider.registry_version == "feedc0ffee02"
    assert after.json()["recommendations"] == before.json()["recommendations"]
    assert cached_versions(aws) == ["feedc0ffee02"]
