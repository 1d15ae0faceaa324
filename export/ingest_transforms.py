"""Value-level cleaning and parsing used by the ingest: text, numbers, lists, keys.

Every parser raises ``ValueError`` with the offending value in the message, so
the caller can count the value as invalid and keep the rest of the row.
"""

from __future__ import annotations

import ast
import json
import math
import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

# Characters that scraping leaves in the text but that carry no meaning:
# zero-width space, zero-width non-joiner and joiner, word joiner and the
# byte order mark (U+FEFF, also found inside values, not only at file start).
# A no-break space becomes an ordinary space.
_INVISIBLE: dict[int, str | None] = {ord(char): None for char in "\u200b\u200c\u200d\u2060\ufeff"}
_INVISIBLE[0xA0] = " "

_NUMBER_SUFFIXES = {"K": Decimal(10**3), "M": Decimal(10**6), "B": Decimal(10**9)}

# One entry of LeetCode's similar-questions cell as scraped into the Kaggle file:
# "[Title, /problems/<slug>/, Difficulty]". Titles may contain commas, so only
# the path part is trusted.
_SIMILAR_ENTRY = re.compile(r"\[[^\[\]]*?,\s*/problems/([^/\],\s]+)/?\s*,\s*[A-Za-z]+\s*\]")

# A line is treated as a constraint when it compares values or states a range
# ("in the range [1, 104]"). Example lines are skipped because their arrays
# ("Input: nums = [1,104]") contain real values.
_CONSTRAINT_LINE = re.compile(r"<=|>=|≤|≥|\s<\s|\s>\s|\brange\s+\[")
_EXAMPLE_LINE = re.compile(r"\s*`?(Input|Output|Explanation)\s*:")
# "104" in a constraint is 10^4 with the superscript lost; 10^3..10^18 are covered.
_LOST_POWER_OF_TEN = re.compile(r"(?<![\w.^])10([3-9]|1[0-8])(?![\w^]|\.\d)")
# "-231" and "231 - 1" are -2^31 and 2^31 - 1, the 32-bit integer limits.
_LOST_TWO_POW_31 = re.compile(r"(?<=-)231(?![\w^]|\.\d)|(?<![\w.^])231(?=\s*-\s*1(?![\w^]|\.\d))")

DIFFICULTY_LABELS = {"easy": "Easy", "medium": "Medium", "hard": "Hard"}


def clean_text(value: str) -> str:
    """Remove invisible characters, unify line endings and strip the ends."""
    text = value.translate(_INVISIBLE)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text.strip()


def collapse_whitespace(value: str) -> str:
    """Return ``value`` cleaned and on one line, with single spaces between words."""
    return " ".join(clean_text(value).split())


def repair_lost_powers(text: str) -> str:
    """Restore exponents that scraping flattened in constraint lines.

    Two patterns are rewritten: ``10`` followed by 3..18 (``104`` becomes
    ``10^4``) and the 32-bit limits (``-231`` and ``231 - 1`` become ``-2^31``
    and ``2^31 - 1``). Only lines that compare values or state a range are
    touched, and never ``Input:``, ``Output:`` or ``Explanation:`` lines.
    Other flattened powers such as ``216`` for 2^16 are left alone because
    they cannot be distinguished from real values like ``255``.
    """
    lines = text.split("\n")
    for number, line in enumerate(lines):
        if not _CONSTRAINT_LINE.search(line) or _EXAMPLE_LINE.match(line):
            continue
        line = _LOST_POWER_OF_TEN.sub(lambda match: f"10^{match.group(1)}", line)
        lines[number] = _LOST_TWO_POW_31.sub("2^31", line)
    return "\n".join(lines)


def parse_number(value: Any) -> Decimal | None:
    """Parse a count, rate or rating; return None for an empty cell.

    Accepts JSON numbers and strings such as ``"46.7"``, ``"46.7%"``,
    ``"1,234"``, ``"904.7K"`` and ``"4.1M"`` (K = 10^3, M = 10^6, B = 10^9).
    Decimal arithmetic keeps ``4.1M`` exactly 4100000.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got the boolean {value!r}")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"expected a finite number, got {value!r}")
        return Decimal(repr(value))
    if not isinstance(value, str):
        raise ValueError(f"expected a number, got {type(value).__name__} {value!r}")

    text = clean_text(value).replace(",", "").replace(" ", "")
    if not text:
        return None
    text = text.removesuffix("%")
    multiplier = _NUMBER_SUFFIXES.get(text[-1:].upper())
    if multiplier is not None:
        text = text[:-1]
    try:
        number = Decimal(text)
    except InvalidOperation as exc:
        raise ValueError(f"not a number: {value!r}") from exc
    if not number.is_finite():
        raise ValueError(f"expected a finite number, got {value!r}")

    return number * multiplier if multiplier is not None else number


def format_number(number: Decimal) -> str:
    """Write a number for the catalogue: integers without a fraction, no exponent."""
    if number == number.to_integral_value():
        return str(int(number))
    return format(number.normalize(), "f")


def stringify(value: Any) -> str | None:
    """Turn a scalar or nested JSON value into cleaned text.

    None, empty text and non-finite numbers (``NaN`` is valid in Python's JSON
    parser) give None.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, int | float):
        number = parse_number(value)
        return None if number is None else format_number(number)
    if isinstance(value, str):
        return clean_text(value) or None
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _split_comma(text: str, separator: str) -> list[Any]:
    return text.split(separator)


def _load_json_list(text: str, separator: str) -> list[Any]:
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not a JSON list: {text[:80]!r}") from exc
    if not isinstance(parsed, list):
        raise ValueError(f"expected a JSON list, got {type(parsed).__name__}: {text[:80]!r}")
    return parsed


def _load_python_list(text: str, separator: str) -> list[Any]:
    try:
        parsed = ast.literal_eval(text)
    except (ValueError, SyntaxError) as exc:
        raise ValueError(f"not a Python list literal: {text[:80]!r}") from exc
    if not isinstance(parsed, list | tuple):
        raise ValueError(f"expected a Python list literal, got {type(parsed).__name__}")
    return list(parsed)


def _load_leetcode_similar(text: str, separator: str) -> list[Any]:
    slugs = _SIMILAR_ENTRY.findall(text)
    if not slugs:
        raise ValueError(f"no '[Title, /problems/<slug>/, Difficulty]' entries in {text[:80]!r}")
    return slugs


def _load_any_list(text: str, separator: str) -> list[Any]:
    if not text.startswith("["):
        return _split_comma(text, separator)
    for loader in (_load_json_list, _load_python_list, _load_leetcode_similar):
        try:
            return loader(text, separator)
        except ValueError:
            continue
    raise ValueError(f"unrecognised list format: {text[:80]!r}")


LIST_FORMATS: dict[str, Callable[[str, str], list[Any]]] = {
    "auto": _load_any_list,
    "comma": _split_comma,
    "json": _load_json_list,
    "python": _load_python_list,
    "leetcode_similar": _load_leetcode_similar,
}


def parse_list(value: Any, list_format: str = "auto", separator: str = ",") -> list[str]:
    """Parse one cell into a list of cleaned, non-empty strings.

    A JSON list in the record is used as is. A string is decoded with
    ``list_format``: ``comma`` (split on ``separator``), ``json``, ``python``
    (a ``repr`` of a list), ``leetcode_similar`` (the slugs of LeetCode's
    similar-questions text) or ``auto``, which tries those in turn when the text
    starts with ``[`` and otherwise splits on ``separator``.
    """
    if value is None:
        return []
    if isinstance(value, list | tuple):
        raw_items = list(value)
    elif isinstance(value, str):
        text = clean_text(value)
        if not text:
            return []
        raw_items = LIST_FORMATS[list_format](text, separator)
    else:
        raw_items = [value]

    items: list[str] = []
    for item in raw_items:
        if isinstance(item, dict | list | tuple):
            raise ValueError(f"list items must be strings or numbers, got {item!r}")
        item_text = stringify(item)
        if item_text:
            items.append(item_text)

    return items


def _last_path_segment(value: str) -> str:
    path = urlsplit(value).path if "://" in value else value
    return path.rstrip("/").rsplit("/", 1)[-1]


def _leading_int(value: str) -> str:
    match = re.match(r"\s*(\d+)", value)
    if match is None:
        raise ValueError(f"no leading integer in {value!r}")
    return str(int(match.group(1)))


TRANSFORMS: dict[str, Callable[[str], str]] = {
    "last_path_segment": _last_path_segment,
    "leading_int": _leading_int,
    "lower": str.lower,
}


def normalise_tag(name: str) -> str:
    """Lowercase a topic tag and collapse its whitespace."""
    return collapse_whitespace(name).lower()


def normalise_company(name: str) -> str:
    """Lowercase a company name and write hyphens and underscores as spaces.

    The 2025 company file uses slugs (``goldman-sachs``) while the Kaggle file
    uses display names (``Goldman Sachs``); both become ``goldman sachs``.
    """
    return " ".join(clean_text(name).lower().replace("-", " ").replace("_", " ").split())


def canonical_difficulty(value: str) -> str:
    """Return ``Easy``, ``Medium`` or ``Hard`` for any casing of those words."""
    label = DIFFICULTY_LABELS.get(collapse_whitespace(value).lower())
    if label is None:
        raise ValueError(f"difficulty {value!r} is not one of Easy, Medium, Hard")
    return label
