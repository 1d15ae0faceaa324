"""The LightGBM lambdarank model, served as ONNX with onnxruntime.

The booster is trained by ``export/train_ranker.py`` and converted with
onnxmltools, so serving needs neither lightgbm nor scipy. The manifest lists
the feature names the model was trained on; columns are matched by name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from ranking.artifacts import read_manifest, verify_files
from ranking.exceptions import ArtifactError
from ranking.features import FEATURE_NAMES, align_features

RANKER_ONNX = "ranker.onnx"
RANKER_NATIVE = "ranker.txt"
INPUT_NAME = "features"


class OnnxRanker:
    """Scores candidate feature rows; higher is better."""

    def __init__(self, session: ort.InferenceSession, feature_names: tuple[str, ...], manifest: dict) -> None:
        self._session = session
        self.feature_names = feature_names
        self.manifest = manifest
        missing = [name for name in feature_names if name not in FEATURE_NAMES]
        if missing:
            raise ArtifactError(
                f"the ranker was trained on features {missing} that this code does not compute; "
                "retrain it with `make artifacts`"
            )

    @classmethod
    def from_folder(cls, folder: Path, *, threads: int = 1) -> OnnxRanker:
        """Load ``ranker.onnx`` after checking its sha256 against the manifest."""
        manifest = read_manifest(folder)
        problems = verify_files(folder, manifest)
        if problems:
            raise ArtifactError("ranker artifact is corrupt: " + "; ".join(problems))
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        session = ort.InferenceSession(
            str(folder / RANKER_ONNX), sess_options=options, providers=["CPUExecutionProvider"]
        )
        names = manifest.get("feature_names")
        if not isinstance(names, list) or not names:
            raise ArtifactError(f"{folder}/manifest.json lists no feature_names")
        return cls(session, tuple(names), manifest)

    def score(self, values: np.ndarray, names: tuple[str, ...] = FEATURE_NAMES) -> np.ndarray:
        """Score rows of ``values`` (n_candidates, len(names)); returns (n_candidates,) float32."""
        if values.shape[0] == 0:
            return np.zeros(0, dtype=np.float32)
        aligned = align_features(values, names, self.feature_names).astype(np.float32)
        output: Any = self._session.run(None, {INPUT_NAME: aligned})[0]
        return np.asarray(output, dtype=np.float32).reshape(-1)
