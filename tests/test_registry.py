"""Tests for the S3 model registry against moto's in-process S3 and SSM."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from infra import registry
from infra.registry import RegistryError
from ranking.artifacts import sha256_file, write_manifest
from ranking.service import model_version_of

BUCKET = "registry-test"
PREFIX = "models"
PARAMETER = "/practice-recommender/active-model-version"


@pytest.fixture
def aws(fake_aws_env: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, Any]]:
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        ssm = boto3.client("ssm", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        yield s3, ssm


def make_artifacts(root: Path, seed: str = "a", explainer: bool = True) -> Path:
    """Write a tiny artifacts root whose manifests match their files."""
    components = ["catalogue", "encoder", "index", "ranker"] + (["explainer"] if explainer else [])
    for component in components:
        folder = root / component
        folder.mkdir(parents=True)
        files = {}
        for name in ("data.bin", "config.json"):
            path = folder / name
            path.write_text(f"{component} {name} {seed}\n")
            files[name] = sha256_file(path)
        write_manifest(folder, {"files": files, "inputs_sha256": seed})
    return root


def metrics_for(ndcg: float) -> dict[str, Any]:
    return {"key": registry.DEFAULT_METRIC_KEY, "value": ndcg, "evaluated_version": None}


def release_of(s3: Any, version: str) -> dict[str, Any]:
    return registry.read_release(s3, BUCKET, PREFIX, version)


def test_publish_list_promote_rollback(aws: tuple[Any, Any], tmp_path: Path) -> None:
    s3, ssm = aws
    first = registry.publish(s3, BUCKET, PREFIX, make_artifacts(tmp_path / "a", "a"), metrics_for(0.30))
    second = registry.publish(s3, BUCKET, PREFIX, make_artifacts(tmp_path / "b", "b"), metrics_for(0.35))

    assert first == model_version_of(tmp_path / "a")
    release = release_of(s3, first)
    assert set(release["components"]) == {"catalogue", "encoder", "index", "ranker", "explainer"}
    assert "manifest.json" in release["components"]["ranker"]["files"]
    assert release["total_bytes"] == sum(
        info["size"] for entry in release["components"].values() for info in entry["files"].values()
    )
    body = s3.get_object(Bucket=BUCKET, Key=f"{PREFIX}/versions/{first}/ranker/data.bin")["Body"].read()
    assert body == (tmp_path / "a" / "ranker" / "data.bin").read_bytes()

    listed = [r["version"] for r in registry.list_versions(s3, BUCKET, PREFIX)]
    # created_at has one-second resolution, so both versions may share it.
    assert sorted(listed) == sorted([first, second])

    registry.promote(s3, ssm, BUCKET, PREFIX, PARAMETER, first)
    entry = registry.promote(s3, ssm, BUCKET, PREFIX, PARAMETER, second, reason="better ranker")
    assert entry["previous"] == first
    assert registry.active_version(ssm, PARAMETER) == second

    back = registry.rollback(s3, ssm, BUCKET, PREFIX, PARAMETER)
    assert back["version"] == first
    assert back["previous"] == second
    assert registry.active_version(ssm, PARAMETER) == first
    log = registry.read_promotions(s3, BUCKET, PREFIX)
    assert [e["version"] for e in log] == [first, second, first]
    assert log[1]["reason"] == "better ranker"


def test_cli_list_marks_active(
    aws: tuple[Any, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    s3, ssm = aws
    artifacts = make_artifacts(tmp_path / "a")
    base = ["--bucket", BUCKET, "--prefix", PREFIX, "--parameter", PARAMETER]

    assert registry.main([*base, "publish", "--artifacts", str(artifacts)], clients=(s3, ssm)) == 0
    version = capsys.readouterr().out.strip()
    assert registry.main([*base, "promote", version], clients=(s3, ssm)) == 0
    capsys.readouterr()

    assert registry.main([*base, "list"], clients=(s3, ssm)) == 0
    assert capsys.readouterr().out.startswith(f"* {version}")


def test_publish_rejects_corrupt_file(aws: tuple[Any, Any], tmp_path: Path) -> None:
    s3, _ = aws
    artifacts = make_artifacts(tmp_path / "a")
    (artifacts / "index" / "data.bin").write_text("changed\n")

    with pytest.raises(RegistryError, match=r"index/data\.bin"):
        registry.publish(s3, BUCKET, PREFIX, artifacts)
    assert s3.list_objects_v2(Bucket=BUCKET).get("KeyCount", 0) == 0


def test_publish_twice_is_idempotent(aws: tuple[Any, Any], tmp_path: Path) -> None:
    s3, _ = aws
    artifacts = make_artifacts(tmp_path / "a")
    version = registry.publish(s3, BUCKET, PREFIX, artifacts, metrics_for(0.3))
    created = release_of(s3, version)["created_at"]

    assert registry.publish(s3, BUCKET, PREFIX, artifacts, metrics_for(0.3)) == version
    assert release_of(s3, version)["created_at"] == created
    with pytest.raises(RegistryError, match="different"):
        registry.publish(s3, BUCKET, PREFIX, artifacts, metrics_for(0.4))


def test_publish_skip_explainer(aws: tuple[Any, Any], tmp_path: Path) -> None:
    s3, _ = aws
    artifacts = make_artifacts(tmp_path / "a")
    version = registry.publish(s3, BUCKET, PREFIX, artifacts, skip_explainer=True)

    assert "explainer" not in release_of(s3, version)["components"]
    assert version != model_version_of(artifacts)


def test_promote_gates_on_metric(aws: tuple[Any, Any], tmp_path: Path) -> None:
    s3, ssm = aws
    good = registry.publish(s3, BUCKET, PREFIX, make_artifacts(tmp_path / "a", "a"), metrics_for(0.40))
    worse = registry.publish(s3, BUCKET, PREFIX, make_artifacts(tmp_path / "b", "b"), metrics_for(0.20))
    registry.promote(s3, ssm, BUCKET, PREFIX, PARAMETER, good)

    with pytest.raises(RegistryError, match="below active version"):
        registry.promote(s3, ssm, BUCKET, PREFIX, PARAMETER, worse)
    assert registry.active_version(ssm, PARAMETER) == good

    entry = registry.promote(s3, ssm, BUCKET, PREFIX, PARAMETER, worse, force=True, reason="hotfix")
    assert entry["forced"] is True
    assert registry.active_version(ssm, PARAMETER) == worse


def test_promote_rejects_incomplete_version(aws: tuple[Any, Any], tmp_path: Path) -> None:
    s3, ssm = aws
    version = registry.publish(s3, BUCKET, PREFIX, make_artifacts(tmp_path / "a"))
    key = f"{PREFIX}/versions/{version}/encoder/data.bin"
    s3.delete_object(Bucket=BUCKET, Key=key)

    with pytest.raises(RegistryError, match=r"encoder/data\.bin is missing"):
        registry.promote(s3, ssm, BUCKET, PREFIX, PARAMETER, version)
    assert registry.active_version(ssm, PARAMETER) is None


def test_promote_unknown_version(aws: tuple[Any, Any]) -> None:
    s3, ssm = aws
    with pytest.raises(RegistryError, match="version 0123456789ab not found"):
        registry.promote(s3, ssm, BUCKET, PREFIX, PARAMETER, "0123456789ab")


def test_verify_reports_corrupt_object(
    aws: tuple[Any, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    s3, ssm = aws
    version = registry.publish(s3, BUCKET, PREFIX, make_artifacts(tmp_path / "a"))
    assert registry.verify(s3, BUCKET, PREFIX, version) == []

    key = f"{PREFIX}/versions/{version}/ranker/config.json"
    s3.put_object(Bucket=BUCKET, Key=key, Body=b"tampered\n")
    problems = registry.verify(s3, BUCKET, PREFIX, version)
    assert problems == [f"s3://{BUCKET}/{key} does not match the sha256 in release.json"]

    code = registry.main(["--bucket", BUCKET, "verify", version], clients=(s3, ssm))
    assert code == 1
    assert "ranker/config.json" in capsys.readouterr().out


def test_rollback_without_history(
    aws: tuple[Any, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    s3, ssm = aws
    with pytest.raises(RegistryError, match="nothing to roll back"):
        registry.rollback(s3, ssm, BUCKET, PREFIX, PARAMETER)

    version = registry.publish(s3, BUCKET, PREFIX, make_artifacts(tmp_path / "a"))
    registry.promote(s3, ssm, BUCKET, PREFIX, PARAMETER, version)
    code = registry.main(["--bucket", BUCKET, "rollback"], clients=(s3, ssm))
    assert code == 2
    assert "had no previous version" in capsys.readouterr().err


def test_metric_key_lookup(tmp_path: Path) -> None:
    artifacts = make_artifacts(tmp_path / "a")
    data = {
        "tasks": {"codeforces_next": {"ranker": {"ndcg@10": 0.31}}},
        "model_version": model_version_of(artifacts),
    }
    path = tmp_path / "metrics.json"
    path.write_text(json.dumps(data))

    stored = registry.load_metrics(path, registry.DEFAULT_METRIC_KEY, artifacts)
    assert stored["value"] == pytest.approx(0.31)
    with pytest.raises(RegistryError, match="no key 'missing'"):
        registry.load_metrics(path, "tasks.missing.ndcg@10", artifacts)

    data["model_version"] = "000000000000"
    path.write_text(json.dumps(data))
    with pytest.raises(RegistryError, match="rerun"):
        registry.load_metrics(path, registry.DEFAULT_METRIC_KEY, artifacts)


class RecordingS3:
    """Forwards to a real client and records the arguments of every put_object."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.puts: list[dict[str, Any]] = []

    def put_object(self, **kwargs: Any) -> Any:
        self.puts.append(kwargs)
        return self.client.put_object(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)


def test_promotion_log_uses_conditional_writes(aws: tuple[Any, Any], tmp_path: Path) -> None:
    s3, ssm = aws
    first = registry.publish(s3, BUCKET, PREFIX, make_artifacts(tmp_path / "a", "a"), metrics_for(0.30))
    second = registry.publish(s3, BUCKET, PREFIX, make_artifacts(tmp_path / "b", "b"), metrics_for(0.35))
    recording = RecordingS3(s3)
    log_key = registry.promotions_key(PREFIX)

    registry.promote(recording, ssm, BUCKET, PREFIX, PARAMETER, first)
    etag = s3.head_object(Bucket=BUCKET, Key=log_key)["ETag"]
    registry.promote(recording, ssm, BUCKET, PREFIX, PARAMETER, second)

    log_puts = [put for put in recording.puts if put["Key"] == log_key]
    assert log_puts[0]["IfNoneMatch"] == "*"
    assert "IfMatch" not in log_puts[0]
    assert log_puts[1]["IfMatch"] == etag
    assert "IfNoneMatch" not in log_puts[1]
    assert [entry["version"] for entry in registry.read_promotions(s3, BUCKET, PREFIX)] == [first, second]


class RacingS3(RecordingS3):
    """Runs ``race`` once, just before the first write of the promotion log, as a concurrent command would."""

    def __init__(self, client: Any, race: Any) -> None:
        super().__init__(client)
        self.race = race

    def put_object(self, **kwargs: Any) -> Any:
        if kwargs["Key"] == registry.promotions_key(PREFIX) and self.race is not None:
            race, self.race = self.race, None
            race()
        return super().put_object(**kwargs)


@pytest.mark.parametrize("promoted_before", [False, True])
def test_concurrent_promotion_keeps_both_entries(
    aws: tuple[Any, Any], tmp_path: Path, promoted_before: bool
) -> None:
    s3, ssm = aws
    base = registry.publish(s3, BUCKET, PREFIX, make_artifacts(tmp_path / "a", "a"), metrics_for(0.30))
    mine = registry.publish(s3, BUCKET, PREFIX, make_artifacts(tmp_path / "b", "b"), metrics_for(0.40))
    theirs = registry.publish(s3, BUCKET, PREFIX, make_artifacts(tmp_path / "c", "c"), metrics_for(0.50))
    if promoted_before:
        registry.promote(s3, ssm, BUCKET, PREFIX, PARAMETER, base)

    def other_operator() -> None:
        registry.promote(s3, ssm, BUCKET, PREFIX, PARAMETER, theirs, reason="other operator")

    racing = RacingS3(s3, other_operator)
    with pytest.raises(registry.PromotionConflictError, match="run the command again"):
        registry.promote(racing, ssm, BUCKET, PREFIX, PARAMETER, mine)

    # The other promotion is logged and active; this one changed nothing.
    log = registry.read_promotions(s3, BUCKET, PREFIX)
    expected = [base, theirs] if promoted_before else [theirs]
    assert [entry["version"] for entry in log] == expected
    assert log[-1]["reason"] == "other operator"
    assert registry.active_version(ssm, PARAMETER) == theirs

    # Run again, the promotion goes through and both entries remain.
    registry.promote(s3, ssm, BUCKET, PREFIX, PARAMETER, mine, force=True)
    log = registry.read_promotions(s3, BUCKET, PREFIX)
    assert [entry["version"] for entry in log] == [*expected, mine]
    assert registry.active_version(ssm, PARAMETER) == mine


def test_concurrent_rollback_is_rejected(
    aws: tuple[Any, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    s3, ssm = aws
    first = registry.publish(s3, BUCKET, PREFIX, make_artifacts(tmp_path / "a", "a"), metrics_for(0.30))
    second = registry.publish(s3, BUCKET, PREFIX, make_artifacts(tmp_path / "b", "b"), metrics_for(0.35))
    registry.promote(s3, ssm, BUCKET, PREFIX, PARAMETER, first)
    registry.promote(s3, ssm, BUCKET, PREFIX, PARAMETER, second)

    def other_operator() -> None:
        registry.rollback(s3, ssm, BUCKET, PREFIX, PARAMETER, reason="other operator")

    racing = RacingS3(s3, other_operator)
    code = registry.main(["--bucket", BUCKET, "rollback"], clients=(racing, ssm))

    assert code == 2
    assert "changed while this command ran" in capsys.readouterr().err
    log = registry.read_promotions(s3, BUCKET, PREFIX)
    assert [entry["version"] for entry in log] == [first, second, first]
    assert registry.active_version(ssm, PARAMETER) == first


class FailingSsm:
    """Reads through to a real client; every put_parameter fails as an SSM outage would."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def put_parameter(self, **kwargs: Any) -> Any:
        error = {"Error": {"Code": "InternalServerError", "Message": "SSM is unavailable"}}
        raise ClientError(error, "PutParameter")

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)


def test_failed_ssm_write_restores_log(aws: tuple[Any, Any], tmp_path: Path) -> None:
    s3, ssm = aws
    first = registry.publish(s3, BUCKET, PREFIX, make_artifacts(tmp_path / "a", "a"), metrics_for(0.30))
    second = registry.publish(s3, BUCKET, PREFIX, make_artifacts(tmp_path / "b", "b"), metrics_for(0.35))
    registry.promote(s3, ssm, BUCKET, PREFIX, PARAMETER, first)

    with pytest.raises(RegistryError, match="promotion log was restored"):
        registry.promote(s3, FailingSsm(ssm), BUCKET, PREFIX, PARAMETER, second)

    assert [entry["version"] for entry in registry.read_promotions(s3, BUCKET, PREFIX)] == [first]
    assert registry.active_version(ssm, PARAMETER) == first
