import gzip
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pytest

from clickstream_assets.pageviews.parsing import ParseStats, hour_of, iter_pageview_batches
from clickstream_assets.pageviews.profile import profile_pageviews

SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "wikimedia" / "pageviews"
CURRENT = SAMPLES / "pageviews-head-sample-2020.txt.gz"
LEGACY = SAMPLES / "pagecounts-raw-201606-random-sample.txt.gz"

needs_samples = pytest.mark.skipif(not SAMPLES.exists(), reason="real samples in ../shared absent")


def parse(path: Path) -> tuple[pa.Table, ParseStats]:
    stats = ParseStats()
    batches = list(iter_pageview_batches(path, stats))
    return pa.Table.from_batches(batches), stats


def write_dump(path: Path, text: str) -> Path:
    path.write_bytes(gzip.compress(text.encode("utf-8")))
    return path


def read_lines(path: Path) -> list[str]:
    """Physical lines of a gzip file, independently of the parser under test."""
    return gzip.decompress(path.read_bytes()).decode("utf-8").split("\n")


def independent_views_per_project(path: Path) -> dict[str, int]:
    views = defaultdict(int)
    for line in read_lines(path):
        if line:
            project, _, count, _ = line.split(" ")
            views[project] += int(count)
    return dict(views)


@needs_samples
def test_parse_real_current_sample_counts_lines_and_records():
    table, stats = parse(CURRENT)

    assert (stats.lines, stats.blank_lines, stats.records, stats.rejected) == (3_667, 2, 3_665, 0)
    assert table.slice(0, 1).to_pylist()[0] == {
        "domain_code": "aa",
        "page_title": "Main_Page",
        "count_views": 19,
        "total_response_size": 0,
        "line_number": 1,
    }
    assert table.column("line_number")[-1].as_py() == 3_667


@needs_samples
def test_parse_real_current_sample_views_per_project_match():
    table, _ = parse(CURRENT)

    views = defaultdict(int)
    for row in table.select(["domain_code", "count_views"]).to_pylist():
        views[row["domain_code"]] += row["count_views"]
    assert dict(views) == independent_views_per_project(CURRENT)


@needs_samples
def test_parse_real_sample_line_numbers_skip_blank_lines():
    lines = read_lines(CURRENT)
    table, _ = parse(CURRENT)

    for row in table.to_pylist()[3180:3200]:
        fields = lines[row["line_number"] - 1].split(" ")
        assert fields[:2] == [row["domain_code"], row["page_title"]]


@needs_samples
def test_parse_real_legacy_sample_keeps_byte_sizes():
    table, stats = parse(LEGACY)

    assert stats.records == 1_001
    sizes = table.column("total_response_size").to_pylist()
    assert sum(sizes) == sum(int(line.split(" ")[3]) for line in read_lines(LEGACY) if line)
    assert any(code.endswith(".mw") for code in table.column("domain_code").to_pylist())


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("en Foo 3", "expected 4 space-separated fields, found 3"),
        ("en Foo Bar 3 0", "expected 4 space-separated fields, found 5"),
        ("en Foo three 0", "count_views is not a non-negative integer"),
        ("en Foo -3 0", "count_views is negative"),
        ("en Foo 3 big", "total_response_size is not a non-negative integer"),
    ],
    ids=["too-few", "too-many", "non-numeric", "negative", "bad-size"],
)
def test_parse_bad_line_is_rejected_with_line_and_reason(tmp_path, line, reason):
    source = write_dump(tmp_path / "pageviews-20241001-130000.gz", f"en A 1 0\n\n{line}\nen B 2 0")

    table, stats = parse(source)

    assert table.column("page_title").to_pylist() == ["A", "B"]
    assert table.column("line_number").to_pylist() == [1, 4]
    assert [(r.line_number, r.reason, r.text) for r in stats.rejects] == [(3, reason, line)]
    assert stats.blank_lines == 1


def test_parse_odd_titles_survive(tmp_path):
    titles = ['Say_"hi"', "Back\\slash", "Ünïcödé_日本", "Tab\tless?", "100%_(film)"]
    text = "\n".join(f"de {t} 1 0" for t in titles if "\t" not in t)
    source = write_dump(tmp_path / "pageviews-20241001-130000.gz", text)

    table, stats = parse(source)

    assert table.column("page_title").to_pylist() == [t for t in titles if "\t" not in t]
    assert stats.rejected == 0


def test_hour_of_file_name():
    assert hour_of("pageviews-20241001-130000.gz") == datetime(2024, 10, 1, 13, tzinfo=UTC)
    with pytest.raises(ValueError, match=r"like pageviews-YYYYMMDD-HH0000\.gz"):
        hour_of("pageviews-2024.gz")


@needs_samples
def test_profile_real_sample_reports_counts_and_bytes():
    profile = profile_pageviews(CURRENT)

    assert (profile["lines"], profile["blank_lines"], profile["records"]) == (3_667, 2, 3_665)
    assert profile["bytes"]["zero_size_share"] == 1.0
    assert profile["bytes"]["bytes_per_view"] is None
    per_project = independent_views_per_project(CURRENT)
    assert profile["views"] == sum(per_project.values())
    top = max(per_project.items(), key=lambda kv: kv[1])
    assert (profile["top_projects"][0]["project"], profile["top_projects"][0]["views"]) == top
    assert profile["distinct_projects"] == len(per_project)


@needs_samples
def test_profile_legacy_sample_bytes_per_view():
    profile = profile_pageviews(LEGACY)

    lines = [line.split(" ") for line in read_lines(LEGACY) if line]
    sized = [(int(v), int(b)) for _, _, v, b in lines if int(b) > 0]
    assert profile["bytes"]["bytes_per_view"] == pytest.approx(
        sum(b for _, b in sized) / sum(v for v, _ in sized)
    )
