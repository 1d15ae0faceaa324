"""The fp32 ONNX export of the encoder and its dynamic int8 quantization."""

from __future__ import annotations

import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from export.exceptions import ExportError

OPSET = 18

_LAYER = "/0/encoder/layer.{}/output/dense/MatMul"
_POSITION_GATHER = "/0/embeddings/position_embeddings/Gather"
_TOKEN_TYPE_GATHER = "/0/embeddings/token_type_embeddings/Gather"


@dataclass(frozen=True)
class QuantizationSettings:
    """Arguments passed to ``onnxruntime.quantization.quantize_dynamic``."""

    mode: str
    weight_type: str
    activation_type: str
    per_channel: bool
    reduce_range: bool
    op_types: tuple[str, ...]
    nodes_excluded: tuple[str, ...]


# Choices below were measured on the parity texts with a 2-core AVX-512 VNNI
# CPU and onnxruntime 1.32.
# - per_channel: per-tensor weights gave mean cosine 0.939 (min 0.81).
# - reduce_range=False: 7-bit weights exist for x86 CPUs without VNNI, where
#   the u8 x s8 multiply-add can saturate (quantize_dynamic docstring). With
#   VNNI they only cost accuracy (mean cosine 0.9903 -> 0.9883).
# - The position and token-type tables stay fp32: quantize_dynamic gives a
#   Gather one scale for the whole table even with per_channel=True, which cost
#   0.0006 in mean cosine to save 0.6 MB. The word table (35 MB as fp32) stays int8.
# - The FFN output projections of layers 0 and 2 stay fp32. Keeping one MatMul
#   at a time in fp32 raised mean cosine most for these two (+0.0016, +0.0012;
#   every other MatMul +0.0008 or less). Together they add 3.5 MB and lift mean
#   cosine on 300 held-out LeetCode titles and statements from 0.9942 to 0.9962.
QUANTIZATION = QuantizationSettings(
    mode="dynamic",
    weight_type="QInt8",
    activation_type="QUInt8",  # the only activation type dynamic mode supports
    per_channel=True,
    reduce_range=False,
    op_types=("MatMul", "Gather"),
    nodes_excluded=(_POSITION_GATHER, _TOKEN_TYPE_GATHER, _LAYER.format(0), _LAYER.format(2)),
)


def export_fp32(model_path: Path, out_dir: Path) -> Path:
    """Export the sentence-transformers model to fp32 ONNX and return the ``model.onnx`` path.

    optimum-onnx's sentence-transformers config puts mean pooling and L2
    normalisation in the graph (output ``sentence_embedding``) and takes
    ``input_ids`` and ``attention_mask`` only.
    """
    from optimum.exporters.onnx import main_export
    from torch.jit import TracerWarning

    with warnings.catch_warnings():
        # The pooling layer compares the mask's length with the sequence length
        # in Python; the trace keeps that as a constant, which is always true.
        warnings.simplefilter("ignore", TracerWarning)
        try:
            main_export(
                str(model_path),
                out_dir,
                task="feature-extraction",
                library_name="sentence_transformers",
                opset=OPSET,
                local_files_only=True,
                # optimum would validate the fp32 graph. The parity check in
                # export_encoder tests the int8 graph, which is what ships.
                do_validation=False,
            )
        except (OSError, ValueError, RuntimeError) as exc:
            raise ExportError(f"optimum-onnx could not export {model_path}: {exc}") from exc

    path = out_dir / "model.onnx"
    if not path.is_file():
        raise ExportError(f"optimum-onnx wrote no model.onnx into {out_dir}")
    return path


def quantize_int8(fp32_path: Path, int8_path: Path, preprocessed_path: Path) -> dict[str, Any]:
    """Quantize ``fp32_path`` into ``int8_path`` with :data:`QUANTIZATION`.

    Returns the graph's opset and its node counts by operator type. Raises
    ExportError when a node named in ``nodes_excluded`` is not in the graph, or
    when the result has fp32 weight MatMuls other than the excluded ones.
    """
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.quantization.shape_inference import quant_pre_process

    # Symbolic shape inference fails on this graph (onnxruntime 1.32), so only
    # ONNX shape inference and the graph optimisations run.
    quant_pre_process(str(fp32_path), str(preprocessed_path), skip_symbolic_shape=True)
    _check_excluded_nodes(onnx.load(str(preprocessed_path)))

    quantize_dynamic(
        str(preprocessed_path),
        str(int8_path),
        op_types_to_quantize=list(QUANTIZATION.op_types),
        per_channel=QUANTIZATION.per_channel,
        reduce_range=QUANTIZATION.reduce_range,
        weight_type=QuantType[QUANTIZATION.weight_type],
        nodes_to_exclude=list(QUANTIZATION.nodes_excluded),
    )

    model = onnx.load(str(int8_path))
    counts = Counter(node.op_type for node in model.graph.node)
    _check_quantized(model)
    opset = next(entry.version for entry in model.opset_import if entry.domain in ("", "ai.onnx"))

    return {"opset": int(opset), "node_counts": dict(sorted(counts.items()))}


def _check_excluded_nodes(model: Any) -> None:
    names = {node.name for node in model.graph.node}
    missing = [name for name in QUANTIZATION.nodes_excluded if name not in names]
    if missing:
        raise ExportError(
            f"nodes to keep in fp32 are not in the exported graph: {missing}. The exporter's "
            f"node names changed, so update QUANTIZATION.nodes_excluded"
        )


def _check_quantized(model: Any) -> None:
    """Raise ExportError unless exactly the excluded weight MatMuls stayed fp32."""
    weights = {initializer.name for initializer in model.graph.initializer}
    fp32_weight_matmuls = {
        node.name for node in model.graph.node if node.op_type == "MatMul" and node.input[1] in weights
    }
    expected = {name for name in QUANTIZATION.nodes_excluded if name.endswith("MatMul")}
    if fp32_weight_matmuls != expected:
        raise ExportError(
            f"weight MatMuls left in fp32 are {sorted(fp32_weight_matmuls)}, expected "
            f"{sorted(expected)}; the quantizer skipped nodes it should have quantized"
        )
