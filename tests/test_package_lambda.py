"""The Lambda deployment folder: complete, self-contained and free of export-only packages."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from infra.package_lambda import PackagingError, lambda_requirements, package_lambda
from ranking.exceptions import ArtifactError
from tests.conftest import EVENTS_DIR, REPO_ROOT

# Runs inside the package folder, as Lambda would: the handler module is
# imported from there, with ARTIFACTS_DIR set as template.yaml sets it.
HANDLER_SCRIPT = """
import json, sys
import functions, functions.recommend as handler_module
event = json.loads(open(sys.argv[1]).read())

class Context:
    function_name = "recommend"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:recommend"
    memory_limit_in_mb = 2048
    aws_request_id = "c0ffee00-0000-4000-8000-000000000001"
    log_group_name = "/aws/lambda/recommend"
    log_stream_name = "stream"
    identity = None
    client_context = None
    def get_remaining_time_in_millis(self):
        return 29000

response = handler_module.handler(event, Context())
print(json.dumps({
    "functions_file": functions.__file__,
    "status": response["statusCode"],
    "body": json.loads(response["body"]),
    "heavy_modules": sorted(m for m in ("torch", "lightgbm", "transformers", "sklearn") if m in sys.modules),
}))
"""


@pytest.fixture(scope="module")
def package_dir(artifacts_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return package_lambda(artifacts_dir, tmp_path_factory.mktemp("lambda") / "package")


def test_package_contents(package_dir: Path) -> None:
    assert (package_dir / "functions" / "recommend.py").is_file()
    assert (package_dir / "functions" / "explain.py").is_file()
    assert (package_dir / "ranking" / "service.py").is_file()
    assert (package_dir / "artifacts" / "index" / "manifest.json").is_file()
    assert not (package_dir / "export").exists()
    assert not list(package_dir.rglob("__pycache__"))


def test_package_leaves_out_the_explainer_model(artifacts_dir: Path, package_dir: Path) -> None:
    # The explainer alone would pass Lambda's 250 MB limit for unzipped code.
    assert (artifacts_dir / "explainer" / "model.onnx.data").is_file()
    assert not (package_dir / "artifacts" / "explainer").exists()
    size = sum(path.stat().st_size for path in (package_dir / "artifacts").rglob("*") if path.is_file())
    assert size < 150 * 1024 * 1024


def test_requirements_leave_out_runtime_packages(package_dir: Path) -> None:
    requirements = (package_dir / "requirements.txt").read_text().split()
    names = {req.split("=")[0].split(">")[0].split("<")[0] for req in requirements}
    assert {"onnxruntime", "tokenizers", "numpy", "usearch", "mangum", "fastapi"} <= names
    assert not names & {"boto3", "uvicorn", "torch", "lightgbm"}
    assert requirements == lambda_requirements()


def test_handler_runs_from_package(package_dir: Path) -> None:
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    env["ARTIFACTS_DIR"] = "artifacts"
    completed = subprocess.run(
        [sys.executable, "-c", HANDLER_SCRIPT, str(EVENTS_DIR / "apigw_v2_recommend.json")],
        cwd=package_dir,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    assert Path(result["functions_file"]).resolve().is_relative_to(package_dir.resolve())
    assert result["status"] == 200
    assert len(result["body"]["recommendations"]) > 0
    assert result["heavy_modules"] == []


def test_package_rejects_missing_artifacts(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="manifest not found"):
        package_lambda(tmp_path / "missing", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_package_rejects_corrupt_artifact(artifacts_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "artifacts"
    shutil.copytree(artifacts_dir, copy, ignore=shutil.ignore_patterns("explainer"))
    with (copy / "ranker" / "ranker.onnx").open("ab") as handle:
        handle.write(b"0")
    with pytest.raises(PackagingError, match=r"ranker\.onnx does not match the sha256"):
        package_lambda(copy, tmp_path / "out")


def test_smoke_script_passes_in_package(package_dir: Path) -> None:
    # `make lambda-smoke` runs this script on the runtime's Python; here it runs on the test interpreter.
    script = REPO_ROOT / "infra" / "smoke_lambda.py"
    event = EVENTS_DIR / "apigw_v1_recommend.json"
    environment = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}

    result = subprocess.run(
        [sys.executable, str(script), str(event)],
        cwd=package_dir,
        capture_output=True,
        text=True,
        env=environment,
        timeout=300,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "with an API key id: 200, 5 recommendations" in result.stdout
    assert "without one: 403 forbidden" in result.stdout
