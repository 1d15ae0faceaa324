"""Tests for the catalogue ingest, on the bundled data and on small sources written here."""

from __future__ import annotations

import csv
import gzip
import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from export.ingest import build_catalogue, main
from export.ingest_errors import MappingError, SourceReadError
from export.ingest_transforms import (
    normalise_company,
    parse_list,
    parse_number,
    repair_lost_powers,
    stringify,
)
from ranking.artifacts import MANIFEST_NAME, read_manifest
from ranking.catalogue import CATALOGUE_COLUMNS, Catalogue

csv.field_size_limit(sys.maxsize)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Path:
    """The catalogue built from the bundled data into a temporary folder."""
    return build_catalogue(data_dir, tmp_path_factory.mktemp("catalogue"))


@pytest.fixture(scope="module")
def catalogue(built: Path) -> Catalogue:
    return Catalogue.load(built)


@pytest.fixture(scope="module")
def raw_rows(built: Path) -> dict[str, dict[str, str]]:
    """The catalogue CSV as written, keyed by id, to check cells before parsing."""
    with (built / "catalogue.csv").open(encoding="utf-8", newline="") as handle:
        return {row["id"]: row for row in csv.DictReader(handle)}


@pytest.fixture(scope="module")
def report(built: Path) -> dict[str, Any]:
    return dict(read_manifest(built)["report"])


# --- the bundled data -------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "read"),
    [
        ("leetcode_kaggle", 1825),
        ("leetcode_neenza", 2913),
        ("leetcode_companies", 17931),
        ("leetcode_zerotrac", 2569),
        ("codeforces_problemset", 10348),
        ("codeforces_statistics", 10348),
        ("neetcode", 450),
        ("a2oj_ladders", 4000),
        ("leetcode_lcd_v030", 386),
        ("leetcode_lcd_v031", 228),
    ],
)
def test_report_rows_read_per_source(report: dict[str, Any], source: str, read: int) -> None:
    entry = report["sources"][source]
    assert entry["read"] == read
    assert entry["kept"] + entry["merged"] + sum(entry["rejected"].values()) == read


def test_company_rows_merge_into_distinct_problems(report: dict[str, Any], catalogue: Catalogue) -> None:
    entry = report["sources"]["leetcode_companies"]
    with_companies_source = [p for p in catalogue.problems if "leetcode_companies" in p.sources]
    assert len(with_companies_source) == 3310
    assert entry["rejected"] == {}


def test_catalogue_row_counts(catalogue: Catalogue, report: dict[str, Any]) -> None:
    platforms = [problem.platform for problem in catalogue.problems]
    assert platforms.count("codeforces") == 10348
    # 2,913 from the 2025 scrape, 604 more from the company file, 22 Kaggle-only.
    assert platforms.count("leetcode") == 2913 + 604 + 22
    assert report["rows"] == len(catalogue)


def test_catalogue_sorted_with_titles(raw_rows: dict[str, dict[str, str]]) -> None:
    ids = list(raw_rows)
    assert ids == sorted(ids)
    assert all(row["title"] for row in raw_rows.values())
    assert all(set(row) == set(CATALOGUE_COLUMNS) for row in raw_rows.values())


def test_accepted_count_suffixes_parsed(catalogue: Catalogue) -> None:
    assert catalogue.get("leetcode:two-sum").popularity == 4_100_000
    assert catalogue.get("leetcode:median-of-two-sorted-arrays").popularity == 904_700


def test_acceptance_is_fraction(catalogue: Catalogue) -> None:
    rates = [p.acceptance_rate for p in catalogue.problems if p.acceptance_rate is not None]
    assert len(rates) > 3000
    assert all(0 <= rate <= 1 for rate in rates)


def test_zero_width_space_removed(data_dir: Path, catalogue: Catalogue, built: Path) -> None:
    lines = (data_dir / "leetcode_neenza" / "leetcode_problems.jsonl").read_text(encoding="utf-8")
    source = next(json.loads(line) for line in lines.splitlines() if '"repeated-string-match"' in line)
    assert "\u200b" in source["description"]

    description = catalogue.get("leetcode:repeated-string-match").description
    assert description.startswith("Given two strings a and b")
    assert "\u200b" not in description
    text = (built / "catalogue.csv").read_text(encoding="utf-8")
    assert "\u200b" not in text
    assert "\ufeff" not in text


def test_facebook_becomes_meta(catalogue: Catalogue) -> None:
    # Kaggle lists only Facebook for wiggle-sort; the company file has no meta row for it.
    assert "meta" in catalogue.get("leetcode:wiggle-sort").companies
    assert not any("facebook" in p.companies for p in catalogue.problems)


def test_company_names_unified(catalogue: Catalogue) -> None:
    companies = {company for p in catalogue.problems for company in p.companies}
    assert "goldman sachs" in companies
    assert "goldman-sachs" not in companies
    assert all(company == company.lower() for company in companies)


def test_tags_lowercase(catalogue: Catalogue) -> None:
    tags = {tag for p in catalogue.problems for tag in p.tags}
    assert all(tag == tag.lower() for tag in tags)
    assert "heap (priority queue)" in tags
    assert "heap" not in tags


def test_zerotrac_rating_of_contest_problem(catalogue: Catalogue) -> None:
    problem = catalogue.get("leetcode:check-if-the-rectangle-corner-is-reachable")
    assert problem.rating == pytest.approx(3773.7596150919)
    assert problem.rating_source == "zerotrac"
    assert problem.contest == "weekly-contest-408"
    assert "leetcode:3235" in problem.aliases


def test_non_contest_problem_has_no_rating(raw_rows: dict[str, dict[str, str]]) -> None:
    row = raw_rows["leetcode:two-sum"]
    assert row["rating"] == ""
    assert row["rating_source"] == ""


def test_codeforces_problem_fields(catalogue: Catalogue) -> None:
    problem = catalogue.get("codeforces:1957B")
    assert problem.title == "A BIT of a Construction"
    assert problem.rating == 1100
    assert problem.rating_source == "codeforces"
    assert problem.contest == "codeforces:1957"
    assert problem.url == "https://codeforces.com/problemset/problem/1957/B"
    assert problem.popularity == 18863
    # "bitmasks" is written as LeetCode's "bitmask" through data/mappings/aliases.toml.
    assert problem.tags == ("bitmask", "constructive algorithms", "greedy", "implementation")


def test_codeforces_missing_rating_empty(raw_rows: dict[str, dict[str, str]]) -> None:
    row = raw_rows["codeforces:2095J"]
    assert row["rating"] == ""
    assert row["rating_source"] == ""
    unrated = [r for r in raw_rows.values() if r["platform"] == "codeforces" and not r["rating"]]
    assert len(unrated) == 281
    assert not any(r["rating"] in ("0", "0.0") for r in raw_rows.values())


def test_similar_ids_of_kaggle_problem(catalogue: Catalogue) -> None:
    assert catalogue.get("leetcode:two-sum").similar == (
        "leetcode:3sum",
        "leetcode:4sum",
        "leetcode:two-sum-ii-input-array-is-sorted",
        "leetcode:two-sum-iii-data-structure-design",
        "leetcode:subarray-sum-equals-k",
        "leetcode:two-sum-iv-input-is-a-bst",
        "leetcode:two-sum-less-than-k",
        "leetcode:max-number-of-k-sum-pairs",
        "leetcode:count-good-meals",
    )
    assert all(s in catalogue for p in catalogue.problems for s in p.similar)


def test_same_slug_merged_across_sources(catalogue: Catalogue) -> None:
    problem = catalogue.get("leetcode:two-sum")
    assert {"leetcode_kaggle", "leetcode_neenza", "leetcode_companies", "neetcode"} <= set(problem.sources)
    assert problem.url == "https://leetcode.com/problems/two-sum/"
    assert problem.difficulty_label == "Easy"
    assert problem.tags == ("array", "hash table")


def test_renamed_slug_merged_by_frontend_id(catalogue: Catalogue) -> None:
    current = "leetcode:find-the-index-of-the-first-occurrence-in-a-string"
    assert "leetcode:implement-strstr" not in catalogue
    assert "leetcode:implement-strstr" in catalogue.get(current).aliases
    assert catalogue.resolve("leetcode:implement-strstr") == current
    assert "leetcode_kaggle" in catalogue.get(current).sources


def test_aliases_resolve(catalogue: Catalogue) -> None:
    assert catalogue.resolve("leetcode:1") == "leetcode:two-sum"
    assert catalogue.resolve("Two Sum") == "leetcode:two-sum"
    assert catalogue.resolve("watermelon") == "codeforces:4A"


def test_lost_superscripts_repaired(catalogue: Catalogue) -> None:
    description = catalogue.get("leetcode:two-sum").description
    assert "2 <= nums.length <= 10^4" in description
    assert "-10^9 <= nums[i] <= 10^9" in description
    assert "-2^31 <= x <= 2^31 - 1" in catalogue.get("leetcode:reverse-integer").description


def test_enrich_sources_add_tags(catalogue: Catalogue) -> None:
    two_sum = catalogue.get("leetcode:two-sum").extra_tags
    assert "neetcode150=true" in two_sum
    assert "neetcode_pattern=Arrays & Hashing" in two_sum
    assert "like_percent=97" in two_sum
    watermelon = catalogue.get("codeforces:4A").extra_tags
    assert "a2oj_ladder_position=4:1" in watermelon


def test_unmatched_enrich_rows_rejected(report: dict[str, Any]) -> None:
    reason = "id not in the catalogue (enrich-only source)"
    assert report["sources"]["leetcode_zerotrac"]["rejected"] == {reason: 249}
    assert report["sources"]["a2oj_ladders"]["rejected"] == {reason: 1}


def test_conflicts_reported(report: dict[str, Any]) -> None:
    conflicts = report["merge"]["conflicts"]
    assert conflicts["title"]["count"] > 0
    assert conflicts["difficulty_label"]["count"] > 0
    assert any("Chewba?ca" in example for example in conflicts["title"]["examples"])


def test_rebuild_reuses_cache(data_dir: Path, built: Path) -> None:
    manifest_before = (built / MANIFEST_NAME).read_bytes()
    csv_mtime = (built / "catalogue.csv").stat().st_mtime_ns

    assert build_catalogue(data_dir, built) == built

    assert (built / MANIFEST_NAME).read_bytes() == manifest_before
    assert (built / "catalogue.csv").stat().st_mtime_ns == csv_mtime


# --- value parsers ------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("4.1M", Decimal("4100000")),
        ("904.7K", Decimal("904700")),
        ("1,234", Decimal("1234")),
        ("46.7%", Decimal("46.7")),
        (" 12 ", Decimal("12")),
        (1100, Decimal("1100")),
        (500.5, Decimal("500.5")),
        ("", None),
        (None, None),
    ],
)
def test_parse_number(raw: Any, expected: Decimal | None) -> None:
    assert parse_number(raw) == expected


@pytest.mark.parametrize("raw", ["n/a", "4.1X", True, float("nan"), {"a": 1}])
def test_parse_number_rejects(raw: Any) -> None:
    with pytest.raises(ValueError, match="number"):
        parse_number(raw)


@pytest.mark.parametrize(
    ("raw", "list_format", "expected"),
    [
        ("Array,Hash Table", "comma", ["Array", "Hash Table"]),
        ('["Array", "Graph"]', "json", ["Array", "Graph"]),
        ("['Breadth-First Search', 'Graph']", "python", ["Breadth-First Search", "Graph"]),
        ("['Graph']", "auto", ["Graph"]),
        (
            "[3Sum, /problems/3sum/, Medium], [Two Sum II - Input, sorted, /problems/two-sum-ii/, Easy]",
            "leetcode_similar",
            ["3sum", "two-sum-ii"],
        ),
        (["a", "", 3], "auto", ["a", "3"]),
        ("", "comma", []),
    ],
)
def test_parse_list(raw: Any, list_format: str, expected: list[str]) -> None:
    assert parse_list(raw, list_format) == expected


def test_parse_list_rejects_bad_json() -> None:
    with pytest.raises(ValueError, match="not a JSON list"):
        parse_list("[Array", "json")


def test_stringify_values() -> None:
    assert stringify(True) == "true"
    assert stringify(500.0) == "500"
    assert stringify(float("nan")) is None
    assert stringify(" a\u200b ") == "a"
    assert stringify({"b": 1}) == '{"b": 1}'


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("`1 <= n <= 104`", "`1 <= n <= 10^4`"),
        ("-109 <= nums[i] <= 109", "-10^9 <= nums[i] <= 10^9"),
        ("0 <= s.length <= 5 * 104", "0 <= s.length <= 5 * 10^4"),
        ("-231 <= x <= 231 - 1", "-2^31 <= x <= 2^31 - 1"),
        ("1 <= k <= 1015", "1 <= k <= 10^15"),
        ("1 <= matrix[i][j] <= 105.", "1 <= matrix[i][j] <= 10^5."),
        ("The number of nodes is in the range [1, 104].", "The number of nodes is in the range [1, 10^4]."),
        # Left alone: real values, example data, other flattened powers, no comparison.
        ("0 <= data[i] <= 255", "0 <= data[i] <= 255"),
        ("0 <= x < 216", "0 <= x < 216"),
        ("Input: nums = [1,104], k <= 3", "Input: nums = [1,104], k <= 3"),
        ("There are 104 apples.", "There are 104 apples."),
        ("1 <= n <= 10^4", "1 <= n <= 10^4"),
        ("0 <= x <= 104.5", "0 <= x <= 104.5"),
    ],
)
def test_repair_lost_powers(text: str, expected: str) -> None:
    assert repair_lost_powers(text) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("Goldman Sachs", "goldman sachs"), ("goldman-sachs", "goldman sachs"), (" FACEBOOK ", "facebook")],
)
def test_normalise_company(raw: str, expected: str) -> None:
    assert normalise_company(raw) == expected


# --- schema tolerance on a small source written here -------------------------

NEW_MAPPING = """
[source]
file = "newsite/problems.csv"
format = "csv"
platform = "newsite"
role = "create"
priority = 5
ignore = ["secret"]

[key]
column = "link"
transform = "last_path_segment"

[fields.title]
column = "name"

[fields.difficulty_label]
column = "level"

[fields.rating]
column = "score"

[fields.tags]
column = "topics"
list_format = "python"

[fields.url]
template = "https://newsite.example/p/{key}"
"""

NEW_ROWS = [
    ["link", "name", "level", "score", "topics", "secret", "judge_notes"],
    [
        "https://newsite.example/p/alpha/",
        "\ufeffAlpha\u200b Task",
        "easy",
        "1.2K",
        "['Graph', 'BFS']",
        "x",
        "fast",
    ],
    ["https://newsite.example/p/beta", "Beta", "HARD", "n/a", "['DP']", "y", "long " * 30],
    ["https://newsite.example/p/alpha", "Alpha Task", "Easy", "", "['Greedy']", "z", ""],
    ["https://newsite.example/p/gamma", "", "Easy", "900", "[]", "", ""],
    ["", "No Key", "Easy", "900", "[]", "", ""],
    ["https://newsite.example/p/delta", "Delta", "Easy"],
]


def _write_new_source(data_dir: Path, mapping: str = NEW_MAPPING) -> None:
    (data_dir / "mappings").mkdir(parents=True, exist_ok=True)
    (data_dir / "newsite").mkdir(exist_ok=True)
    (data_dir / "mappings" / "newsite.toml").write_text(mapping, encoding="utf-8")
    with (data_dir / "newsite" / "problems.csv").open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(NEW_ROWS)


@pytest.fixture
def new_source(tmp_path: Path) -> Path:
    data_dir = tmp_path / "data"
    _write_new_source(data_dir)
    return data_dir


def test_new_source_needs_only_mapping(new_source: Path, tmp_path: Path) -> None:
    out_dir = build_catalogue(new_source, tmp_path / "out")
    catalogue = Catalogue.load(out_dir)

    assert [p.id for p in catalogue.problems] == ["newsite:alpha", "newsite:beta"]
    alpha = catalogue.get("newsite:alpha")
    assert alpha.title == "Alpha Task"
    assert alpha.rating == 1200
    assert alpha.rating_source == "newsite"
    assert alpha.tags == ("graph", "bfs", "greedy")
    assert alpha.difficulty_label == "Easy"
    assert alpha.url == "https://newsite.example/p/alpha"
    assert alpha.extra_tags == ("judge_notes=fast",)
    assert not any("secret" in tag for tag in alpha.extra_tags)

    beta = catalogue.get("newsite:beta")
    assert beta.difficulty_label == "Hard"
    assert beta.rating is None
    assert beta.extra_text.startswith("judge_notes: long long")


def test_new_source_rejects_with_reasons(new_source: Path, tmp_path: Path) -> None:
    out_dir = build_catalogue(new_source, tmp_path / "out")
    entry = read_manifest(out_dir)["report"]["sources"]["newsite"]

    assert entry["read"] == 6
    assert entry["kept"] == 2
    assert entry["merged"] == 1
    assert entry["rejected"] == {
        "malformed row (wrong number of fields)": 1,
        "missing key": 1,
        "missing title": 1,
    }
    assert entry["invalid_values"] == {"rating": 1}
    assert any("'n/a'" in example for example in entry["invalid_examples"])


def test_enrich_source_json_gzip(new_source: Path, tmp_path: Path) -> None:
    records = {"data": {"items": [{"slug": "beta", "stats": {"solved": 42}}, {"slug": "zeta"}, "bad"]}}
    with gzip.open(new_source / "newsite" / "stats.json.gz", "wt", encoding="utf-8") as handle:
        json.dump(records, handle)
    (new_source / "mappings" / "newsite_stats.toml").write_text(
        '[source]\nfile = "newsite/stats.json.gz"\nformat = "json.gz"\nrecord_path = "data.items"\n'
        'platform = "newsite"\nrole = "enrich"\n\n[key]\ncolumn = "slug"\n\n'
        '[fields.popularity]\ncolumn = "stats.solved"\n',
        encoding="utf-8",
    )

    out_dir = build_catalogue(new_source, tmp_path / "out")

    assert Catalogue.load(out_dir).get("newsite:beta").popularity == 42
    entry = read_manifest(out_dir)["report"]["sources"]["newsite_stats"]
    assert entry["merged"] == 1
    assert entry["rejected"] == {
        "id not in the catalogue (enrich-only source)": 1,
        "record is not a JSON object": 1,
    }


def test_changed_input_invalidates_cache(new_source: Path, tmp_path: Path) -> None:
    out_dir = build_catalogue(new_source, tmp_path / "out")
    before = read_manifest(out_dir)["inputs_sha256"]

    with (new_source / "newsite" / "problems.csv").open("a", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerow(["https://newsite.example/p/omega", "Omega", "Easy", "", "[]", "", ""])
    build_catalogue(new_source, out_dir)

    assert read_manifest(out_dir)["inputs_sha256"] != before
    assert "newsite:omega" in Catalogue.load(out_dir)


def test_mapping_missing_column_error(new_source: Path, tmp_path: Path) -> None:
    _write_new_source(new_source, NEW_MAPPING.replace('column = "name"', 'column = "titel"'))
    with pytest.raises(MappingError, match=r"newsite\.toml: \[fields\.title\] column 'titel' not found"):
        build_catalogue(new_source, tmp_path / "out")


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('format = "csv"', 'format = "xlsx"', r"newsite\.toml: \[source\] format 'xlsx' is unknown"),
        ('list_format = "python"', 'list_format = "yaml"', r"\[fields\.tags\] list_format 'yaml'"),
        ('transform = "last_path_segment"', 'transform = "reverse"', r"\[key\] transform 'reverse'"),
        ("[fields.url]", "[fields.link]", r"\[fields\.link\] is not a catalogue column"),
        ('role = "create"', 'role = "replace"', r"role 'replace' is unknown"),
        ('column = "level"', 'colum = "level"', r"\[fields\.difficulty_label\] has unknown option"),
    ],
)
def test_invalid_mapping_errors(new_source: Path, tmp_path: Path, old: str, new: str, message: str) -> None:
    _write_new_source(new_source, NEW_MAPPING.replace(old, new))
    with pytest.raises(MappingError, match=message):
        build_catalogue(new_source, tmp_path / "out")


def test_missing_source_file_error(new_source: Path, tmp_path: Path) -> None:
    (new_source / "newsite" / "problems.csv").unlink()
    with pytest.raises(SourceReadError, match=r"newsite\.toml: source file not found"):
        build_catalogue(new_source, tmp_path / "out")


def test_cli_prints_report(new_source: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    exit_code = main(["--data", str(new_source), "--out", str(tmp_path / "out")])

    output = capsys.readouterr().out
    assert exit_code == 0
    assert "newsite" in output
    assert "rejected  newsite: missing title: 1" in output
    assert "catalogue rows: 2" in output


def test_cli_reports_mapping_error(
    new_source: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _write_new_source(new_source, NEW_MAPPING.replace('format = "csv"', 'format = "xlsx"'))

    exit_code = main(["--data", str(new_source), "--out", str(tmp_path / "out")])

    assert exit_code == 1
    assert "format 'xlsx' is unknown" in capsys.readouterr().err


def test_jsonl_bad_lines_rejected(new_source: Path, tmp_path: Path) -> None:
    lines = [
        '{"slug": "alpha", "votes": "2.5K"}',
        "{not json",
        "[1, 2]",
        "",
        '{"slug": "beta", "votes": NaN}',
    ]
    (new_source / "newsite" / "votes.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (new_source / "mappings" / "newsite_votes.toml").write_text(
        '[source]\nfile = "newsite/votes.jsonl"\nformat = "jsonl"\nplatform = "newsite"\n'
        'role = "enrich"\n\n[key]\ncolumn = "slug"\n\n[fields.popularity]\ncolumn = "votes"\n',
        encoding="utf-8",
    )

    out_dir = build_catalogue(new_source, tmp_path / "out")

    catalogue = Catalogue.load(out_dir)
    assert catalogue.get("newsite:alpha").popularity == 2500
    assert catalogue.get("newsite:beta").popularity is None
    entry = read_manifest(out_dir)["report"]["sources"]["newsite_votes"]
    assert entry["read"] == 4
    assert entry["merged"] == 2
    assert entry["rejected"] == {"invalid JSON": 1, "record is not a JSON object": 1}
    assert entry["invalid_values"] == {"popularity": 1}
