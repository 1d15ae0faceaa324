"""Assemble the Lambda deployment folder that ``template.yaml`` points at.

Usage::

    python -m infra.package_lambda --artifacts build/artifacts --out build/lambda
    sam build && sam deploy --guided

The folder gets the ``functions`` and ``ranking`` packages, the catalogue,
encoder, index and ranker artifacts under ``artifacts/`` and a
``requirements.txt`` derived from the
``serving`` extra in ``pyproject.toml``, which ``sam build`` installs.
boto3 is left out because the Lambda Python runtime provides it, and uvicorn
because only the local server uses it. The explainer model is left out: its
318 MB would take the package past Lambda's 250 MB limit for unzipped code,
so the deployed functions return the template and give the reason in
``explanation_fallback``.
"""

from __future__ import annotations

import argparse
import shutil
import tomllib
from pathlib import Path

from ranking.artifacts import CATALOGUE_DIR, ENCODER_DIR, INDEX_DIR, RANKER_DIR, read_manifest, verify_files

REPO_ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("functions", "ranking")
LAMBDA_EXCLUDED = frozenset({"boto3", "uvicorn"})
# Lambda's limit for a function's unzipped code and layers.
LAMBDA_UNZIPPED_LIMIT_MB = 250


class PackagingError(RuntimeError):
    """The artifacts are incomplete or the package cannot be assembled."""


def _requirement_name(requirement: str) -> str:
    for separator in ("==", ">=", "<=", "~=", "!=", "<", ">", "[", ";", " "):
        requirement = requirement.split(separator, 1)[0]
    return requirement.strip().lower()


def lambda_requirements(pyproject: Path = REPO_ROOT / "pyproject.toml") -> list[str]:
    """Return the ``serving`` extra's requirements that the Lambda package installs."""
    project = tomllib.loads(pyproject.read_text())["project"]
    serving: list[str] = project["optional-dependencies"]["serving"]
    return [req for req in serving if _requirement_name(req) not in LAMBDA_EXCLUDED]


def _folder_mb(folder: Path) -> float:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file()) / 1e6


def package_lambda(artifacts: Path, out_dir: Path) -> Path:
    """Write the deployment folder and return it; the old folder is replaced."""
    for name in (CATALOGUE_DIR, ENCODER_DIR, INDEX_DIR, RANKER_DIR):
        problems = verify_files(artifacts / name, read_manifest(artifacts / name))
        if problems:
            raise PackagingError(
                f"artifact {name} is incomplete: {'; '.join(problems)}; run `make artifacts`"
            )
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    for package in PACKAGES:
        shutil.copytree(
            REPO_ROOT / package, out_dir / package, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
        )
    for name in (CATALOGUE_DIR, ENCODER_DIR, INDEX_DIR, RANKER_DIR):
        shutil.copytree(artifacts / name, out_dir / "artifacts" / name)
    if (artifacts / "manifest.json").is_file():
        shutil.copy2(artifacts / "manifest.json", out_dir / "artifacts" / "manifest.json")
    (out_dir / "requirements.txt").write_text("\n".join(lambda_requirements()) + "\n")
    return out_dir


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description="Assemble the Lambda deployment folder.")
    parser.add_argument("--artifacts", type=Path, default=Path("build/artifacts"))
    parser.add_argument("--out", type=Path, default=Path("build/lambda"))
    args = parser.parse_args(argv)
    out_dir = package_lambda(args.artifacts, args.out)
    size = _folder_mb(out_dir)
    print(f"lambda package: {out_dir} ({size:.0f} MB before dependencies)")
    print(
        f"the serving dependencies add about 160 MB unzipped; Lambda allows {LAMBDA_UNZIPPED_LIMIT_MB} MB "
        "for code and layers together"
    )


if __name__ == "__main__":
    main()
