"""The separate virtual environment that dequantizes, builds and checks the explainer.

The onnxruntime-genai model builder needs transformers 5, while the project's
venv pins transformers<4.58 for optimum-onnx. The export therefore runs
those steps with ``build/explainer-env/bin/python``, a venv made from
``export/explainer-requirements.txt``. A marker file in the venv records the
requirements file's sha256, so the venv is rebuilt only when that file
changes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from export.exceptions import ExportError
from ranking.artifacts import sha256_file

REPO_ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = Path(__file__).with_name("explainer-requirements.txt")
DEFAULT_ENV_DIR = Path("build/explainer-env")
MARKER_NAME = ".requirements-sha256"
LIBRARIES = (
    "torch",
    "transformers",
    "tokenizers",
    "gguf",
    "accelerate",
    "onnxruntime-genai",
    "onnxruntime",
    "onnx",
    "onnx-ir",
    "numpy",
)
# Every step in the builder environment reads local files only, so a model hub is never contacted.
_OFFLINE = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}


def env_python(env_dir: Path) -> Path:
    """Return the interpreter of the venv in ``env_dir``."""
    return env_dir / "bin" / "python"


def env_is_stale(env_dir: Path, requirements_sha256: str) -> bool:
    """Decide whether the venv in ``env_dir`` must be (re)built for requirements with this sha256.

    The venv is stale when its interpreter is missing, when it has no marker
    (a venv built by hand, or a build that failed half-way) or when the
    marker records another requirements file.
    """
    if not env_python(env_dir).is_file():
        return True
    marker = env_dir / MARKER_NAME
    if not marker.is_file():
        return True
    return marker.read_text().strip() != requirements_sha256


def ensure_builder_env(env_dir: Path = DEFAULT_ENV_DIR, requirements: Path = REQUIREMENTS) -> Path:
    """Create or refresh the builder venv in ``env_dir`` and return its interpreter.

    A venv whose marker matches ``requirements`` is reused as it is. Otherwise
    the folder is cleared, the venv is created with this interpreter's
    ``venv`` module, the pinned packages are installed with pip, and the
    marker is written last, so a failed install is retried on the next run.
    """
    digest = sha256_file(requirements)
    python = env_python(env_dir)
    if not env_is_stale(env_dir, digest):
        return python

    print(f"[explainer] creating the builder environment {env_dir} (a few minutes) …", flush=True)
    (env_dir / MARKER_NAME).unlink(missing_ok=True)
    run_checked([sys.executable, "-m", "venv", "--clear", str(env_dir)], "creating the builder venv")
    run_checked(
        [str(python), "-m", "pip", "install", "--quiet", "--requirement", str(requirements)],
        f"installing {requirements.name} into {env_dir}",
    )
    (env_dir / MARKER_NAME).write_text(digest + "\n")
    return python


def run_checked(
    command: Sequence[str],
    step: str,
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    log_path: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``command`` and capture its output; raise ExportError with the last stderr lines on failure.

    ``step`` names what ran, for the error message. When ``log_path`` is given, the
    full stdout and stderr are written there as well.
    """
    result = subprocess.run(
        list(command), capture_output=True, text=True, check=False, cwd=cwd, env=dict(env) if env else None
    )
    if log_path is not None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log_path.write_text(f"$ {' '.join(command)}\n\n[stdout]\n{result.stdout}\n[stderr]\n{result.stderr}")
    if result.returncode != 0:
        where = f"; full output in {log_path}" if log_path is not None else ""
        raise ExportError(f"{step} failed with exit code {result.returncode}{where}:\n{tail(result.stderr)}")
    return result


def run_in_env(
    python: Path, module: str, args: Sequence[str], step: str, *, log_path: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m module args`` from the repository root, offline, with this repository importable."""
    env = {**os.environ, **_OFFLINE, "PYTHONPATH": str(REPO_ROOT)}
    return run_checked([str(python), "-m", module, *args], step, cwd=REPO_ROOT, env=env, log_path=log_path)


def env_library_versions(python: Path) -> dict[str, str]:
    """Return the installed version of each package in ``LIBRARIES`` inside the venv of ``python``."""
    script = (
        "import json, sys\n"
        "from importlib import metadata\n"
        "print(json.dumps({name: metadata.version(name) for name in sys.argv[1:]}))\n"
    )
    result = run_checked([str(python), "-c", script, *LIBRARIES], "reading the builder venv's versions")
    versions: dict[str, str] = json.loads(result.stdout)
    return versions


def tail(text: str, lines: int = 20) -> str:
    """Return the last ``lines`` lines of ``text``, for error messages."""
    return "\n".join(text.strip().splitlines()[-lines:])
