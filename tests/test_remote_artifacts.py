"""Fetching a published model version from S3 at cold start, on moto's in-process S3 and SSM."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from moto import mock_aws

from ranking.exceptions import ArtifactError
from ranking.remote_artifacts import VERIFIED_MARKER, active_version, fetch_version, version_prefix
from tests.asgi import post_json

BUCKET = "models-test"
PREFIX = "models"
VERSION = "abc123def456"
FILES = {
    ("catalogue", "catalogue.csv"): b"id,title\nleetcode:two-sum,Two Sum\n",
    ("catalogue", "manifest.json"): b'{"artifact": "catalogue"}\n',
    ("ranker", "ranker.onnx"): bytes(range(256)) * 8,
    ("ranker", "manifest.json"): b'{"artifact": "ranker"}\n',
}


@pytest.fixture
def aws(fake_aws_env: None) -> Iterator[SimpleNamespace]:
    """Moto's S3 and SSM with fake credentials, and one published version."""
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        ssm = boto3.client("ssm", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        publish(s3)
        yield SimpleNamespace(s3=s3, ssm=ssm)


def publish(s3: Any) -> None:
    base = version_prefix(PREFIX, VERSION)
    components: dict[str, Any] = {}
    for (component, name), body in FILES.items():
        s3.put_object(Bucket=BUCKET, Key=f"{base}/{component}/{name}", Body=body)
        entry = {"sha256": hashlib.sha256(body).hexdigest(), "size": len(body)}
        components.setdefault(component, {"files": {}})["files"][name] = entry
    release = {"version": VERSION, "components": components}
    s3.put_object(Bucket=BUCKET, Key=f"{base}/release.json", Body=json.dumps(release).encode())


def test_fetch_writes_every_file_and_reuses_it(aws: SimpleNamespace, tmp_path: Path) -> None:
    folder = fetch_version(aws.s3, BUCKET, PREFIX, VERSION, tmp_path)
    assert folder == tmp_path / VERSION
    for (component, name), body in FILES.items():
        assert (folder / component / name).read_bytes() == body
    assert (folder / VERIFIED_MARKER).is_file()
    # A second cold start in the same container reads nothing from S3.
    aws.s3.delete_object(Bucket=BUCKET, Key=f"{version_prefix(PREFIX, VERSION)}/release.json")
    assert fetch_version(aws.s3, BUCKET, PREFIX, VERSION, tmp_path) == folder


def test_corrupt_object_is_refused_and_cleaned_up(aws: SimpleNamespace, tmp_path: Path) -> None:
    key = f"{version_prefix(PREFIX, VERSION)}/ranker/ranker.onnx"
    aws.s3.put_object(Bucket=BUCKET, Key=key, Body=b"tampered")
    with pytest.raises(ArtifactError, match=r"ranker/ranker\.onnx does not match the sha256"):
        fetch_version(aws.s3, BUCKET, PREFIX, VERSION, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_missing_object_is_refused(aws: SimpleNamespace, tmp_path: Path) -> None:
    aws.s3.delete_object(Bucket=BUCKET, Key=f"{version_prefix(PREFIX, VERSION)}/catalogue/catalogue.csv")
    with pytest.raises(ArtifactError, match=r"cannot read s3://models-test/.*catalogue\.csv"):
        fetch_version(aws.s3, BUCKET, PREFIX, VERSION, tmp_path)


def test_unknown_version_is_refused(aws: SimpleNamespace, tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match=r"release\.json"):
        fetch_version(aws.s3, BUCKET, PREFIX, "0000deadbeef", tmp_path)


def test_too_little_space_is_refused_before_download(aws: SimpleNamespace, tmp_path: Path) -> None:
    # The real /tmp has room; a stand-in disk_usage reports a nearly full disk.
    def full_disk(path: Path) -> SimpleNamespace:
        return SimpleNamespace(free=1024)

    with pytest.raises(ArtifactError, match="not enough space"):
        fetch_version(aws.s3, BUCKET, PREFIX, VERSION, tmp_path, disk_usage=full_disk)
    assert not (tmp_path / VERSION).exists()


def test_active_version_reads_ssm(aws: SimpleNamespace) -> None:
    aws.ssm.put_parameter(Name="/practice-recommender/active-model-version", Value=VERSION, Type="String")
    assert active_version(aws.ssm, "/practice-recommender/active-model-version") == VERSION
    with pytest.raises(ArtifactError, match="cannot read the active model version"):
        active_version(aws.ssm, "/practice-recommender/missing")


def publish_folder(s3: Any, root: Path, version: str, components: tuple[str, ...]) -> None:
    """Upload real artifact folders the way the registry lays them out."""
    base = version_prefix(PREFIX, version)
    release: dict[str, Any] = {"version": version, "components": {}}
    for component in components:
        files = {}
        for path in sorted((root / component).iterdir()):
            if path.is_file():
                body = path.read_bytes()
                s3.put_object(Bucket=BUCKET, Key=f"{base}/{component}/{path.name}", Body=body)
                files[path.name] = {"sha256": hashlib.sha256(body).hexdigest(), "size": len(body)}
        release["components"][component] = {"files": files}
    s3.put_object(Bucket=BUCKET, Key=f"{base}/release.json", Body=json.dumps(release).encode())


def test_service_cold_starts_from_s3(aws: SimpleNamespace, artifacts_dir: Path, tmp_path: Path) -> None:
    from functions.app import create_app
    from functions.settings import Settings

    components = ("catalogue", "encoder", "index", "ranker")
    publish_folder(aws.s3, artifacts_dir, "feedc0ffee00", components)
    parameter = "/practice-recommender/active-model-version"
    aws.ssm.put_parameter(Name=parameter, Value="feedc0ffee00", Type="String")
    settings = Settings(
        artifacts_bucket=BUCKET,
        artifacts_prefix=PREFIX,
        model_version_parameter=parameter,
        artifacts_cache_dir=tmp_path / "cache",
    )
    response = post_json(create_app(settings=settings), "/recommend", {"k": 3})
    assert response.status_code == 200, response.text
    assert len(response.json()["recommendations"]) == 3
    assert (tmp_path / "cache" / "feedc0ffee00" / "ranker" / "manifest.json").is_file()


def test_missing_active_version_fails_fast(
    aws: SimpleNamespace, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    from functions.app import create_app
    from functions.settings import Settings

    settings = Settings(
        artifacts_bucket=BUCKET,
        model_version_parameter="/practice-recommender/never-promoted",
        artifacts_cache_dir=tmp_path / "cache",
    )
    app = create_app(settings=settings)
    with caplog.at_level(logging.ERROR):
        responses = [post_json(app, "/recommend", {"k": 3}) for _ in range(2)]
    assert [response.status_code for response in responses] == [503, 503]
    assert "MODEL_VERSION_PARAMETER" in responses[0].json()["error"]["message"]
    failures = [record for record in caplog.records if record.message == "recommender failed to load"]
    assert len(failures) == 1
