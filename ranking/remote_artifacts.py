"""Fetch a published model version from S3 into a local folder, checking every file.

A version published by ``infra/registry.py`` lives under
``s3://{bucket}/{prefix}/versions/{version}/`` with a ``release.json`` that
lists every component file with its sha256 and size. ``fetch_version``
checks the free space first, downloads into a temporary folder, verifies
each file and only then renames the folder into place, so a half-fetched or
corrupt version is never loaded. ``active_version`` reads the SSM parameter
that names the version to serve.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ranking.exceptions import ArtifactError

RELEASE_FILE = "release.json"
# Room left on the disk after the download, for logs and temporary files.
FREE_SPACE_MARGIN = 64 * 1024 * 1024
VERIFIED_MARKER = ".verified"
_CHUNK = 1 << 20

DiskUsage = Callable[[Path], Any]


def version_prefix(prefix: str, version: str) -> str:
    """Return the S3 key prefix of one version, without a trailing slash."""
    return f"{prefix.strip('/')}/versions/{version}" if prefix.strip("/") else f"versions/{version}"


def active_version(ssm: Any, parameter: str) -> str:
    """Read the version id the SSM parameter names; raise ArtifactError when it is missing."""
    try:
        value = ssm.get_parameter(Name=parameter)["Parameter"]["Value"]
    except Exception as exc:  # botocore raises a family of client errors; all mean "unreadable".
        raise ArtifactError(
            f"cannot read the active model version from SSM parameter {parameter}: {exc}"
        ) from exc
    version = str(value).strip()
    if not version:
        raise ArtifactError(f"SSM parameter {parameter} is empty; promote a version first")
    return version


def read_release(s3: Any, bucket: str, prefix: str, version: str) -> dict[str, Any]:
    """Read and check the release.json of ``version``."""
    key = f"{version_prefix(prefix, version)}/{RELEASE_FILE}"
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except Exception as exc:
        raise ArtifactError(f"cannot read s3://{bucket}/{key}: {exc}") from exc
    try:
        release = json.loads(body)
    except json.JSONDecodeError as exc:
        raise ArtifactError(f"s3://{bucket}/{key} is not valid JSON: {exc}") from exc
    if not isinstance(release, dict) or not isinstance(release.get("components"), dict):
        raise ArtifactError(f"s3://{bucket}/{key} has no components")
    return release


def _release_files(
    release: dict[str, Any], components: Sequence[str] | None = None
) -> list[tuple[str, str, str, int]]:
    """List (component, file, sha256, size) for every file of the release, or of ``components``."""
    files = []
    for component, details in sorted(release["components"].items()):
        if components is not None and component not in components:
            continue
        for name, entry in sorted(details.get("files", {}).items()):
            files.append((component, name, str(entry["sha256"]), int(entry["size"])))
    if not files:
        raise ArtifactError("the release lists no files")
    return files


def _download(s3: Any, bucket: str, key: str, target: Path) -> str:
    """Stream one object to ``target`` and return its sha256."""
    digest = hashlib.sha256()
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"]
    except Exception as exc:
        raise ArtifactError(f"cannot read s3://{bucket}/{key}: {exc}") from exc
    with target.open("wb") as handle:
        for chunk in iter(lambda: body.read(_CHUNK), b""):
            digest.update(chunk)
            handle.write(chunk)
    return digest.hexdigest()


def _verified_components(folder: Path) -> list[str] | str | None:
    """Return the components that a verified fetch of ``folder`` contains ("all" or a list), or None."""
    try:
        marker = json.loads((folder / VERIFIED_MARKER).read_text())
    except (OSError, json.JSONDecodeError):
        return None
    value = marker.get("components", "all") if isinstance(marker, dict) else None
    return value if isinstance(value, str | list) else None


def fetch_version(
    s3: Any,
    bucket: str,
    prefix: str,
    version: str,
    dest_root: Path,
    *,
    disk_usage: DiskUsage = shutil.disk_usage,
    components: Sequence[str] | None = None,
) -> Path:
    """Download ``version`` into ``dest_root/version`` and return that folder.

    ``components`` limits the download to those component folders (the
    retraining job needs no explainer). A folder fetched and verified before
    with the same components is reused. Raises ArtifactError when the release
    is unreadable, lacks a requested component, the disk lacks space, or any
    file is missing or differs from its sha256 or size; the partial download
    is removed.
    """
    target = dest_root / version
    requested = None if components is None else sorted(components)
    if _verified_components(target) == (requested or "all"):
        return target
    release = read_release(s3, bucket, prefix, version)
    missing = sorted(set(requested or ()) - set(release["components"]))
    if missing:
        raise ArtifactError(f"model version {version} has no {', '.join(missing)} component")
    files = _release_files(release, requested)
    needed = sum(size for *_, size in files)
    dest_root.mkdir(parents=True, exist_ok=True)
    free = int(disk_usage(dest_root).free)
    if free < needed + FREE_SPACE_MARGIN:
        raise ArtifactError(
            f"not enough space in {dest_root} for model version {version}: it needs "
            f"{needed / 1e6:.0f} MB plus {FREE_SPACE_MARGIN / 1e6:.0f} MB to spare, "
            f"{free / 1e6:.0f} MB is free"
        )
    partial = dest_root / f".{version}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    base = version_prefix(prefix, version)
    try:
        for component, name, expected, size in files:
            key = f"{base}/{component}/{name}"
            path = partial / component / name
            actual = _download(s3, bucket, key, path)
            if path.stat().st_size != size or actual != expected:
                raise ArtifactError(
                    f"s3://{bucket}/{key} does not match the sha256 or size in its release.json"
                )
        marker = {"version": version, "files": len(files), "components": requested or "all"}
        (partial / VERIFIED_MARKER).write_text(json.dumps(marker) + "\n")
        shutil.rmtree(target, ignore_errors=True)
        partial.rename(target)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return target
