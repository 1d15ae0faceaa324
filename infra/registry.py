"""Model registry in S3: publish artifact sets, promote one, roll back, verify.

Usage::

    python -m infra.registry --bucket B publish --artifacts build/artifacts \\
        --metrics build/evaluation/metrics.json
    python -m infra.registry --bucket B list
    python -m infra.registry --bucket B promote VERSION [--force] [--reason TEXT]
    python -m infra.registry --bucket B rollback
    python -m infra.registry --bucket B verify VERSION

Layout under ``s3://{bucket}/{prefix}/`` (the cold-start fetcher reads it):

* ``versions/{version}/{component}/{file}``: every file in each component's
  manifest, plus the component's ``manifest.json``.
* ``versions/{version}/release.json``: version, ``created_at``, each
  component's ``manifest_sha256`` and files (sha256 and size, the manifest
  included), the headline metric and ``total_bytes``. It is written last, so
  a version without it is incomplete and is not listed.
* ``promotions.json``: the list of promotions and rollbacks, oldest first.
  It is written with S3 conditional writes, so a promote or rollback that
  runs at the same time as another fails with a message to run it again.

The active version is the value of an SSM String parameter
(``--parameter``). The promotion gate compares one number: by default the
ranker's NDCG@10 on the Codeforces next-solve task, which is
``tasks.codeforces_next.ranker.ndcg@10`` in the JSON that
``python -m export.evaluate`` writes. ``publish --metric-key`` picks another
dotted path.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ranking.artifacts import (
    CATALOGUE_DIR,
    ENCODER_DIR,
    INDEX_DIR,
    MANIFEST_NAME,
    RANKER_DIR,
    manifest_sha256,
    read_manifest,
    sha256_file,
    verify_files,
)
from ranking.exceptions import ArtifactError

# Same name as ranking.explainer.EXPLAINER_DIR. Importing that module would load the explainer's
# dependencies into a command that only copies files.
EXPLAINER_DIR = "explainer"
REQUIRED_COMPONENTS = (CATALOGUE_DIR, ENCODER_DIR, INDEX_DIR, RANKER_DIR)
DEFAULT_PREFIX = "models"
DEFAULT_PARAMETER = "/practice-recommender/active-model-version"
DEFAULT_METRIC_KEY = "tasks.codeforces_next.ranker.ndcg@10"
RELEASE_NAME = "release.json"
PROMOTIONS_NAME = "promotions.json"


class RegistryError(RuntimeError):
    """A registry command was rejected or a registry object is missing or invalid."""


class PromotionConflictError(RegistryError):
    """Another promote or rollback wrote the promotion log while this one ran."""


# ---------------------------------------------------------------- keys and small S3 helpers


def _base(prefix: str) -> str:
    return prefix.strip("/")


def version_key(prefix: str, version: str, name: str) -> str:
    """Return the S3 key of ``name`` (a relative path) inside a version's folder."""
    return f"{_base(prefix)}/versions/{version}/{name}"


def promotions_key(prefix: str) -> str:
    """Return the S3 key of the promotion log."""
    return f"{_base(prefix)}/{PROMOTIONS_NAME}"


def _is_not_found(error: ClientError) -> bool:
    code = str(error.response.get("Error", {}).get("Code", ""))
    return code in {"404", "NoSuchKey", "NotFound", "ParameterNotFound"}


def _get_json(s3: Any, bucket: str, key: str) -> Any | None:
    """Return the parsed JSON object at ``key``, or None when the key does not exist."""
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as error:
        if _is_not_found(error):
            return None
        raise RegistryError(f"failed to read s3://{bucket}/{key}: {error}") from error
    try:
        return json.loads(body)
    except json.JSONDecodeError as exc:
        raise RegistryError(f"s3://{bucket}/{key} is not valid JSON: {exc}") from exc


def _put_json(s3: Any, bucket: str, key: str, value: Any) -> None:
    body = json.dumps(value, indent=1, sort_keys=True).encode()
    s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json")


def read_release(s3: Any, bucket: str, prefix: str, version: str) -> dict[str, Any]:
    """Return a version's release.json; raise RegistryError if it is missing or not an object."""
    key = version_key(prefix, version, RELEASE_NAME)
    release = _get_json(s3, bucket, key)
    if release is None:
        raise RegistryError(
            f"version {version} not found: s3://{bucket}/{key} is missing "
            "(the version was never published, or its publish did not finish)"
        )
    if not isinstance(release, dict) or not isinstance(release.get("components"), dict):
        raise RegistryError(f"s3://{bucket}/{key} has no 'components' object")
    return release


def release_objects(release: dict[str, Any]) -> list[tuple[str, str, int]]:
    """Return (relative path, sha256, size) for every object that a release lists."""
    objects: list[tuple[str, str, int]] = []
    for component, entry in sorted(release["components"].items()):
        for name, info in sorted(entry.get("files", {}).items()):
            objects.append((f"{component}/{name}", str(info["sha256"]), int(info["size"])))
    return objects


# ---------------------------------------------------------------- metrics


def metric_value(metrics: dict[str, Any], key: str) -> float:
    """Return the number at dotted path ``key`` in ``metrics``; raise RegistryError if absent."""
    node: Any = metrics
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            raise RegistryError(f"metric {key!r} not found: no key {part!r}; pass --metric-key")
        node = node[part]
    if isinstance(node, bool) or not isinstance(node, int | float):
        raise RegistryError(f"metric {key!r} is {node!r}, not a number")
    return float(node)


def release_metric(release: dict[str, Any]) -> float | None:
    """Return the headline metric stored in a release, or None when it was published without one."""
    value = release.get("metrics", {}).get("value")
    return None if value is None else float(value)


# ---------------------------------------------------------------- publish


def components_of(artifacts: Path, skip_explainer: bool = False) -> list[str]:
    """Return the component folders to publish: the four required ones and the explainer if built."""
    components = list(REQUIRED_COMPONENTS)
    if not skip_explainer and (artifacts / EXPLAINER_DIR / MANIFEST_NAME).is_file():
        components.append(EXPLAINER_DIR)
    return components


def version_of(artifacts: Path, components: Sequence[str]) -> str:
    """Return the 12-hex version id of ``components``.

    This is the hash that ``ranking.service.model_version_of`` computes, so with
    every built component it equals the version that the service reports.
    """
    return version_from_manifests([manifest_sha256(artifacts / name) for name in components])


def version_from_manifests(manifest_sha256s: Sequence[str]) -> str:
    """Return the 12-hex version id of components with these manifest sha256s, in component order."""
    digest = hashlib.sha256()
    for value in manifest_sha256s:
        digest.update(value.encode())
    return digest.hexdigest()[:12]


def build_release(artifacts: Path, components: Sequence[str], metrics: dict[str, Any]) -> dict[str, Any]:
    """Verify every local file against its manifest and return the release record, less created_at."""
    entries: dict[str, Any] = {}
    total = 0
    for name in components:
        folder = artifacts / name
        try:
            manifest = read_manifest(folder)
        except ArtifactError as exc:
            raise RegistryError(str(exc)) from exc
        problems = verify_files(folder, manifest)
        if problems:
            raise RegistryError(
                "local artifacts do not match their manifests, rebuild with `make artifacts`: "
                + "; ".join(problems)
            )
        files: dict[str, Any] = {}
        for file_name in sorted([*manifest["files"], MANIFEST_NAME]):
            path = folder / file_name
            size = path.stat().st_size
            files[file_name] = {"sha256": sha256_file(path), "size": size}
            total += size
        entries[name] = {"manifest_sha256": manifest_sha256(folder), "files": files}
    return {
        "version": version_of(artifacts, components),
        "components": entries,
        "metrics": metrics,
        "total_bytes": total,
    }


def load_metrics(path: Path, key: str, artifacts: Path) -> dict[str, Any]:
    """Read the evaluation JSON and return the headline metric to store in release.json."""
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise RegistryError(f"failed to read metrics {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise RegistryError(f"metrics {path} must contain a JSON object")
    value = metric_value(data, key)
    evaluated = data.get("model_version")
    # The evaluation loads every built component, the explainer included, so compare with that version.
    built = version_of(artifacts, components_of(artifacts))
    if evaluated is not None and evaluated != built:
        raise RegistryError(
            f"metrics {path} are for model version {evaluated}, but {artifacts} is version {built}; "
            "rerun `python -m export.evaluate`"
        )
    record: dict[str, Any] = {"key": key, "value": value, "evaluated_version": evaluated}
    if isinstance(data.get("codeforces_test_per_user"), int):
        # Compared by the promotion gate: scores from different held-out cuts are not comparable.
        record["evaluation"] = {"codeforces_test_per_user": data["codeforces_test_per_user"]}
    return record


def publish(
    s3: Any,
    bucket: str,
    prefix: str,
    artifacts: Path,
    metrics: dict[str, Any] | None = None,
    *,
    skip_explainer: bool = False,
) -> str:
    """Upload a verified artifact set as a new version and return its version id.

    ``metrics`` is the headline record from ``load_metrics`` (or None). Publishing a
    version that already has the same release.json does nothing; a different one
    raises RegistryError, because a version's objects must never change.
    """
    components = components_of(artifacts, skip_explainer)
    release = build_release(artifacts, components, metrics or {})
    version = release["version"]
    release_key = version_key(prefix, version, RELEASE_NAME)

    existing = _get_json(s3, bucket, release_key)
    if existing is not None:
        stored = {name: existing.get(name) for name in release}
        if stored == release:
            return version
        raise RegistryError(
            f"version {version} already exists at s3://{bucket}/{release_key} with different "
            "contents (components or metrics); published versions are immutable"
        )

    for component in components:
        for file_name in release["components"][component]["files"]:
            key = version_key(prefix, version, f"{component}/{file_name}")
            s3.upload_file(str(artifacts / component / file_name), bucket, key)

    release["created_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    _put_json(s3, bucket, release_key, release)
    return version


def publish_derived(
    s3: Any,
    bucket: str,
    prefix: str,
    base_version: str,
    artifacts: Path,
    replaced: Sequence[str],
    metrics: dict[str, Any],
    source: dict[str, Any],
) -> str:
    """Publish ``replaced`` components from ``artifacts`` with the other components of ``base_version``.

    The retraining job uses it to publish a new ranker next to the active
    version's catalogue, encoder, index and explainer: those objects are
    copied inside S3, not downloaded and uploaded again. ``source`` is stored
    in release.json (what the version was derived from). Returns the new
    version id; publishing the same candidate twice does nothing.
    """
    base = check_complete(s3, bucket, prefix, base_version)
    local = build_release(artifacts, replaced, metrics)
    components: dict[str, Any] = {**base["components"], **local["components"]}
    order = [name for name in (*REQUIRED_COMPONENTS, EXPLAINER_DIR) if name in components]
    order += sorted(set(components) - set(order))
    version = version_from_manifests([components[name]["manifest_sha256"] for name in order])
    release: dict[str, Any] = {
        "version": version,
        "components": components,
        "metrics": metrics,
        "total_bytes": sum(
            int(info["size"]) for entry in components.values() for info in entry["files"].values()
        ),
        "source": source,
    }
    release_key = version_key(prefix, version, RELEASE_NAME)
    if _get_json(s3, bucket, release_key) is not None:
        return version
    for component in order:
        for file_name in components[component]["files"]:
            key = version_key(prefix, version, f"{component}/{file_name}")
            if component in replaced:
                s3.upload_file(str(artifacts / component / file_name), bucket, key)
            else:
                base_key = version_key(prefix, base_version, f"{component}/{file_name}")
                s3.copy({"Bucket": bucket, "Key": base_key}, bucket, key)
    release["created_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    _put_json(s3, bucket, release_key, release)
    return version


# ---------------------------------------------------------------- list, verify


def list_versions(s3: Any, bucket: str, prefix: str) -> list[dict[str, Any]]:
    """Return the release.json of every complete version, oldest first."""
    releases: list[dict[str, Any]] = []
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=f"{_base(prefix)}/versions/", Delimiter="/"):
        for common in page.get("CommonPrefixes", []):
            version = common["Prefix"].rstrip("/").rsplit("/", 1)[-1]
            release = _get_json(s3, bucket, version_key(prefix, version, RELEASE_NAME))
            if isinstance(release, dict):
                releases.append(release)
    return sorted(releases, key=lambda r: (str(r.get("created_at", "")), str(r.get("version", ""))))


def check_complete(s3: Any, bucket: str, prefix: str, version: str) -> dict[str, Any]:
    """Return the version's release after checking that every object exists with its size."""
    release = read_release(s3, bucket, prefix, version)
    problems: list[str] = []
    for name, _, size in release_objects(release):
        key = version_key(prefix, version, name)
        try:
            head = s3.head_object(Bucket=bucket, Key=key)
        except ClientError as error:
            if not _is_not_found(error):
                raise RegistryError(f"failed to read s3://{bucket}/{key}: {error}") from error
            problems.append(f"s3://{bucket}/{key} is missing")
            continue
        if int(head["ContentLength"]) != size:
            problems.append(f"s3://{bucket}/{key} has {head['ContentLength']} bytes, expected {size}")
    if problems:
        raise RegistryError(f"version {version} is incomplete: " + "; ".join(problems))
    return release


def verify(s3: Any, bucket: str, prefix: str, version: str) -> list[str]:
    """Download every object of a version and return one message per missing or altered object."""
    release = read_release(s3, bucket, prefix, version)
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="registry-verify-") as tmp:
        target = Path(tmp) / "object"
        for name, expected, _ in release_objects(release):
            key = version_key(prefix, version, name)
            try:
                s3.download_file(bucket, key, str(target))
            except ClientError as error:
                if not _is_not_found(error):
                    raise RegistryError(f"failed to download s3://{bucket}/{key}: {error}") from error
                problems.append(f"s3://{bucket}/{key} is missing")
                continue
            if sha256_file(target) != expected:
                problems.append(f"s3://{bucket}/{key} does not match the sha256 in {RELEASE_NAME}")
    return problems


# ---------------------------------------------------------------- promote, rollback


def active_version(ssm: Any, parameter: str) -> str | None:
    """Return the active version from the SSM parameter, or None when the parameter does not exist."""
    try:
        return str(ssm.get_parameter(Name=parameter)["Parameter"]["Value"])
    except ClientError as error:
        if _is_not_found(error):
            return None
        raise RegistryError(f"failed to read SSM parameter {parameter}: {error}") from error


def read_promotions(s3: Any, bucket: str, prefix: str) -> list[dict[str, Any]]:
    """Return the promotion log, oldest first; empty when nothing was promoted yet."""
    return _read_promotions_with_etag(s3, bucket, prefix)[0]


def _read_promotions_with_etag(s3: Any, bucket: str, prefix: str) -> tuple[list[dict[str, Any]], str | None]:
    """Return the promotion log and its ETag, which is None when the log does not exist yet."""
    key = promotions_key(prefix)
    try:
        response = s3.get_object(Bucket=bucket, Key=key)
    except ClientError as error:
        if _is_not_found(error):
            return [], None
        raise RegistryError(f"failed to read s3://{bucket}/{key}: {error}") from error
    try:
        log = json.loads(response["Body"].read())
    except json.JSONDecodeError as exc:
        raise RegistryError(f"s3://{bucket}/{key} is not valid JSON: {exc}") from exc
    if not isinstance(log, list):
        raise RegistryError(f"s3://{bucket}/{key} must contain a JSON list")
    return log, str(response["ETag"])


def _write_promotions(s3: Any, bucket: str, prefix: str, log: list[dict[str, Any]], etag: str | None) -> str:
    """Write the log only if it is unchanged since it was read (``etag``) and return the new ETag.

    The condition is an S3 conditional write: If-Match on the ETag read, or
    If-None-Match: * when the log did not exist. S3 rejects the write with 412
    (or 409 for a write racing another conditional write) when another command
    wrote the log in between, so no entry is lost.
    """
    key = promotions_key(prefix)
    body = json.dumps(log, indent=1, sort_keys=True).encode()
    condition = {"IfNoneMatch": "*"} if etag is None else {"IfMatch": etag}
    try:
        response = s3.put_object(
            Bucket=bucket, Key=key, Body=body, ContentType="application/json", **condition
        )
    except ClientError as error:
        code = str(error.response.get("Error", {}).get("Code", ""))
        # With If-Match, a log deleted since it was read is reported as NoSuchKey.
        if code in {"PreconditionFailed", "ConditionalRequestConflict"} or (etag and _is_not_found(error)):
            raise PromotionConflictError(
                f"s3://{bucket}/{key} changed while this command ran, because another promote or "
                "rollback wrote it; nothing was changed by this command. Check `list` and run the "
                "command again."
            ) from error
        raise RegistryError(f"failed to write s3://{bucket}/{key}: {error}") from error
    return str(response["ETag"])


def _activate(
    s3: Any,
    ssm: Any,
    bucket: str,
    prefix: str,
    parameter: str,
    entry: dict[str, Any],
    log_read: tuple[list[dict[str, Any]], str | None] | None = None,
) -> dict[str, Any]:
    """Append ``entry`` to the promotion log, then point the SSM parameter at its version.

    ``log_read`` is the log and ETag that the caller based its decision on; by
    default the log is read here. The log is written first, with a conditional
    write, so a concurrent promotion fails before it changes SSM, and every
    change of the parameter has its log entry. When the SSM write then fails,
    the entry is removed again (also conditionally).

    NOTE: the condition covers the log, not SSM. A promotion that reads the
    log after another one wrote it, but before that one set SSM, succeeds.
    Both entries are kept, but the second one's ``previous`` names the version
    that was active before the first one.
    """
    log, etag = log_read if log_read is not None else _read_promotions_with_etag(s3, bucket, prefix)
    entry["promoted_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    written = _write_promotions(s3, bucket, prefix, [*log, entry], etag)
    try:
        ssm.put_parameter(Name=parameter, Value=entry["version"], Type="String", Overwrite=True)
    except (ClientError, BotoCoreError) as error:
        try:
            _write_promotions(s3, bucket, prefix, log, written)
        except RegistryError as restore_error:
            raise RegistryError(
                f"failed to set SSM parameter {parameter} to {entry['version']} ({error}), and the "
                f"log entry for it could not be removed ({restore_error}); remove the last entry of "
                f"s3://{bucket}/{promotions_key(prefix)} by hand before the next promote or rollback"
            ) from error
        raise RegistryError(
            f"failed to set SSM parameter {parameter} to {entry['version']}: {error}; the "
            "promotion log was restored and nothing changed"
        ) from error
    return entry


def promote(
    s3: Any,
    ssm: Any,
    bucket: str,
    prefix: str,
    parameter: str,
    version: str,
    *,
    force: bool = False,
    reason: str = "",
) -> dict[str, Any]:
    """Make ``version`` active and return the log entry.

    Raises RegistryError when the version is incomplete, already active, or
    (unless ``force``) scores lower than the active version or has no metric
    while the active version has one.
    """
    release = check_complete(s3, bucket, prefix, version)
    current = active_version(ssm, parameter)
    if current == version:
        raise RegistryError(f"version {version} is already active in SSM parameter {parameter}")

    if current is not None and not force:
        current_release = read_release(s3, bucket, prefix, current)
        current_metric = release_metric(current_release)
        candidate_metric = release_metric(release)
        key = release.get("metrics", {}).get("key", DEFAULT_METRIC_KEY)
        settings = [r.get("metrics", {}).get("evaluation") for r in (current_release, release)]
        if None not in settings and settings[0] != settings[1]:
            raise RegistryError(
                f"version {version} was evaluated with {settings[1]} and active version {current} "
                f"with {settings[0]}, so their {key} cannot be compared; evaluate both the same way "
                "or promote with --force"
            )
        if current_metric is not None and candidate_metric is None:
            raise RegistryError(
                f"version {version} has no metric but active version {current} has "
                f"{key} = {current_metric:.4f}; publish with --metrics or promote with --force"
            )
        if current_metric is not None and candidate_metric is not None and candidate_metric < current_metric:
            raise RegistryError(
                f"version {version} has {key} = {candidate_metric:.4f}, below active version "
                f"{current} at {current_metric:.4f}; promote with --force to override"
            )

    entry = {"version": version, "previous": current, "forced": force, "reason": reason}
    return _activate(s3, ssm, bucket, prefix, parameter, entry)


def rollback(
    s3: Any,
    ssm: Any,
    bucket: str,
    prefix: str,
    parameter: str,
    *,
    reason: str = "",
) -> dict[str, Any]:
    """Make the ``previous`` of the last log entry active again and return the new log entry.

    A rollback is logged like a promotion, so a second rollback undoes the first.
    """
    log, etag = _read_promotions_with_etag(s3, bucket, prefix)
    log_key = promotions_key(prefix)
    if not log:
        raise RegistryError(f"nothing to roll back: s3://{bucket}/{log_key} has no promotions")
    last = log[-1]
    target = last.get("previous")
    if not target:
        raise RegistryError(
            f"nothing to roll back to: the last promotion in s3://{bucket}/{log_key} "
            f"(version {last.get('version')}) had no previous version"
        )
    current = active_version(ssm, parameter)
    if current != last.get("version"):
        raise RegistryError(
            f"SSM parameter {parameter} is {current}, but the last entry in s3://{bucket}/{log_key} "
            f"promoted {last.get('version')}; set the version with `promote` instead"
        )
    check_complete(s3, bucket, prefix, target)
    entry = {
        "version": target,
        "previous": current,
        "forced": False,
        "reason": reason or f"rollback from {current}",
    }
    return _activate(s3, ssm, bucket, prefix, parameter, entry, (log, etag))


# ---------------------------------------------------------------- command line


def _format_size(size: int) -> str:
    return f"{size / 1e6:.1f} MB"


def _print_list(releases: list[dict[str, Any]], active: str | None) -> None:
    if not releases:
        print("no published versions")
        return
    for release in releases:
        marker = "*" if release.get("version") == active else " "
        metric = release_metric(release)
        metric_text = "metric -" if metric is None else f"{release['metrics'].get('key')} {metric:.4f}"
        print(
            f"{marker} {release.get('version')}  {release.get('created_at')}  {metric_text}  "
            f"{_format_size(int(release.get('total_bytes', 0)))}"
        )


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of ``python -m infra.registry``."""
    parser = argparse.ArgumentParser(prog="python -m infra.registry", description=__doc__.splitlines()[0])
    parser.add_argument("--bucket", required=True, help="S3 bucket of the registry")
    parser.add_argument("--prefix", default=DEFAULT_PREFIX, help=f"key prefix (default: {DEFAULT_PREFIX})")
    parser.add_argument(
        "--parameter",
        default=DEFAULT_PARAMETER,
        help=f"SSM parameter that stores the active version (default: {DEFAULT_PARAMETER})",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    publish_parser = commands.add_parser("publish", help="upload an artifact set as a version")
    publish_parser.add_argument(
        "--artifacts",
        type=Path,
        default=Path("build/artifacts"),
        help="artifacts root (default: build/artifacts)",
    )
    publish_parser.add_argument("--metrics", type=Path, help="metrics JSON from `python -m export.evaluate`")
    publish_parser.add_argument(
        "--metric-key",
        default=DEFAULT_METRIC_KEY,
        help=f"dotted path of the promotion metric in --metrics (default: {DEFAULT_METRIC_KEY})",
    )
    publish_parser.add_argument("--skip-explainer", action="store_true", help="leave the explainer out")

    commands.add_parser("list", help="list complete versions; * marks the active one")

    promote_parser = commands.add_parser("promote", help="make a version active")
    promote_parser.add_argument("version")
    promote_parser.add_argument("--force", action="store_true", help="promote even if the metric is lower")
    promote_parser.add_argument("--reason", default="", help="text stored in the promotion log")

    rollback_parser = commands.add_parser("rollback", help="make the previously active version active")
    rollback_parser.add_argument("--reason", default="", help="text stored in the promotion log")

    verify_parser = commands.add_parser("verify", help="download a version and check every sha256")
    verify_parser.add_argument("version")
    return parser


def _clients() -> tuple[Any, Any]:
    import boto3

    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    session = boto3.session.Session(region_name=region)
    return session.client("s3"), session.client("ssm")


def run(args: argparse.Namespace, s3: Any, ssm: Any) -> int:
    """Run one parsed command and return the exit code; RegistryError propagates."""
    if args.command == "publish":
        metrics = load_metrics(args.metrics, args.metric_key, args.artifacts) if args.metrics else None
        print(
            publish(s3, args.bucket, args.prefix, args.artifacts, metrics, skip_explainer=args.skip_explainer)
        )
    elif args.command == "list":
        _print_list(list_versions(s3, args.bucket, args.prefix), active_version(ssm, args.parameter))
    elif args.command == "promote":
        entry = promote(
            s3,
            ssm,
            args.bucket,
            args.prefix,
            args.parameter,
            args.version,
            force=args.force,
            reason=args.reason,
        )
        print(f"active version: {entry['version']} (previous: {entry['previous']})")
    elif args.command == "rollback":
        entry = rollback(s3, ssm, args.bucket, args.prefix, args.parameter, reason=args.reason)
        print(f"active version: {entry['version']} (rolled back from {entry['previous']})")
    elif args.command == "verify":
        problems = verify(s3, args.bucket, args.prefix, args.version)
        for problem in problems:
            print(problem)
        if problems:
            return 1
        print(f"version {args.version}: every object matches release.json")
    return 0


def main(argv: list[str] | None = None, clients: tuple[Any, Any] | None = None) -> int:
    """Parse the command line, run the command and return 0, 1 (verify failed) or 2 (rejected)."""
    args = build_parser().parse_args(argv)
    s3, ssm = clients or _clients()
    try:
        return run(args, s3, ssm)
    except RegistryError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
