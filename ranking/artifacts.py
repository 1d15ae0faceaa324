"""Artifact folders, their manifests and the hashes that tie them together.

Every artifact lives in its own folder under the artifacts root
(``catalogue/``, ``encoder/``, ``index/``, ``ranker/``) with a
``manifest.json`` beside its files. A manifest records the sha256 of each
file it covers and an ``inputs_sha256`` computed from everything the build
step read, so a build step can skip work when its inputs did not change.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ranking.exceptions import ArtifactError

MANIFEST_NAME = "manifest.json"
CATALOGUE_DIR = "catalogue"
ENCODER_DIR = "encoder"
INDEX_DIR = "index"
RANKER_DIR = "ranker"

_CHUNK = 1 << 20


def sha256_file(path: Path) -> str:
    """Return the hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def inputs_sha256(files: Iterable[Path], params: Mapping[str, Any] | None = None) -> str:
    """Hash a build step's input files (by name and content) and parameters.

    The result is stable across machines: file names are taken relative to
    nothing but their own name, and ``params`` is serialised with sorted keys.
    """
    digest = hashlib.sha256()
    for path in sorted(files, key=lambda p: (p.name, str(p))):
        digest.update(path.name.encode())
        digest.update(sha256_file(path).encode())
    digest.update(json.dumps(params or {}, sort_keys=True, default=str).encode())
    return digest.hexdigest()


def write_manifest(folder: Path, manifest: Mapping[str, Any]) -> str:
    """Write ``manifest.json`` into ``folder`` and return the file's sha256."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / MANIFEST_NAME
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True, default=str) + "\n")
    tmp.replace(path)
    return sha256_file(path)


def read_manifest(folder: Path) -> dict[str, Any]:
    """Read ``folder/manifest.json``; raise ArtifactError if it is missing or invalid."""
    path = folder / MANIFEST_NAME
    if not path.is_file():
        raise ArtifactError(f"manifest not found: {path}; build the artifacts with `make artifacts`")
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ArtifactError(f"manifest {path} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ArtifactError(f"manifest {path} must hold a JSON object")
    return data


def manifest_sha256(folder: Path) -> str:
    """Return the sha256 of ``folder/manifest.json``, the artifact's identity."""
    path = folder / MANIFEST_NAME
    if not path.is_file():
        raise ArtifactError(f"manifest not found: {path}; build the artifacts with `make artifacts`")
    return sha256_file(path)


def is_fresh(folder: Path, expected_inputs: str) -> bool:
    """Check whether ``folder`` contains a complete artifact built from ``expected_inputs``.

    Complete means the manifest exists, its ``inputs_sha256`` matches and every
    file listed under ``files`` is present with the recorded sha256.
    """
    try:
        manifest = read_manifest(folder)
    except ArtifactError:
        return False
    if manifest.get("inputs_sha256") != expected_inputs:
        return False
    return verify_files(folder, manifest) == []


def verify_files(folder: Path, manifest: Mapping[str, Any]) -> list[str]:
    """Return one message per file under ``files`` that is missing or altered."""
    problems: list[str] = []
    files = manifest.get("files", {})
    if not isinstance(files, dict) or not files:
        return [f"{folder / MANIFEST_NAME} lists no files"]
    for name, expected in files.items():
        path = folder / name
        if not path.is_file():
            problems.append(f"{path} is missing")
        elif sha256_file(path) != expected:
            problems.append(f"{path} does not match the sha256 in its manifest")
    return problems
