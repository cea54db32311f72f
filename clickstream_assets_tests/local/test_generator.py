"""The synthetic dumps follow the real formats, checked against real Wikimedia samples."""

from __future__ import annotations

import gzip
import itertools
import re
import subprocess
import zlib
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest

from clickstream_assets import settings
from clickstream_assets.local.generator import (
    REFERRERS,
    WORDS,
    write_clickstream_dump,
    write_pageview_dump,
)

REAL_SAMPLES = settings.REPO_ROOT.parent / "shared" / "data" / "wikimedia"
REAL_CLICKSTREAM = REAL_SAMPLES / "clickstream" / "clickstream-enwiki-2018-10-head.tsv.gz"
REAL_LEGACY = REAL_SAMPLES / "pageviews" / "pagecounts-raw-201606-random-sample.txt.gz"
needs_samples = pytest.mark.skipif(
    not REAL_SAMPLES.exists(), reason="real samples in ../shared absent"
)
HOUR = datetime(2024, 10, 1, 5)


def read_rows(path: Path, separator: str = "\t") -> list[list[str]]:
    text = gzip.decompress(path.read_bytes()).decode("utf-8")
    assert text.endswith("\n")
    return [line.split(separator) for line in text[:-1].split("\n")]


def referrer_type_pairs(rows: list[list[str]]) -> set[tuple[str, str]]:
    """Which types each kind of `prev` has: a referrer name, or `article` for any article."""
    return {(prev if prev in REFERRERS else "article", kind) for prev, _, kind, _ in rows}


@pytest.fixture(scope="module")
def clickstream(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[list[str]]]:
    path = tmp_path_factory.mktemp("clickstream") / "clickstream-enwiki-2024-10.tsv.gz"
    write_clickstream_dump(path, wiki="enwiki", month="2024-10", rows=20_000, seed=7)
    return path, read_rows(path)


def test_clickstream_dump_same_arguments_identical_bytes(tmp_path: Path) -> None:
    first, second = tmp_path / "a.tsv.gz", tmp_path / "b.tsv.gz"

    write_clickstream_dump(first, wiki="dewiki", month="2024-10", rows=3_000, seed=3)
    write_clickstream_dump(second, wiki="dewiki", month="2024-10-01", rows=3_000, seed=3)

    assert first.read_bytes() == second.read_bytes()


@pytest.mark.parametrize("change", [{"seed": 4}, {"wiki": "frwiki"}, {"month": "2024-09"}], ids=str)
def test_clickstream_dump_other_arguments_differ(tmp_path: Path, change: dict) -> None:
    arguments = {"wiki": "dewiki", "month": "2024-10", "rows": 3_000, "seed": 3}
    write_clickstream_dump(tmp_path / "a.tsv.gz", **arguments)

    write_clickstream_dump(tmp_path / "b.tsv.gz", **(arguments | change))

    assert (tmp_path / "a.tsv.gz").read_bytes() != (tmp_path / "b.tsv.gz").read_bytes()


@pytest.mark.parametrize("rows", [1, 37, 1_000, 12_345])
def test_clickstream_dump_row_count_exact(tmp_path: Path, rows: int) -> None:
    path = tmp_path / "dump.tsv.gz"

    result = write_clickstream_dump(path, wiki="enwiki", month="2024-10", rows=rows)

    written = read_rows(path)
    assert result.rows == len(written) == rows
    assert result.sum_n == sum(int(row[3]) for row in written)
    assert result.bytes_written == path.stat().st_size
    assert result.uncompressed_bytes == len(gzip.decompress(path.read_bytes()))


def test_clickstream_dump_fields_match_real_format(clickstream) -> None:
    _, rows = clickstream

    currs = {row[1] for row in rows}

    assert all(len(row) == 4 for row in rows)
    assert all(re.fullmatch(r"[1-9][0-9]*", row[3]) and int(row[3]) >= 10 for row in rows)
    assert {row[2] for row in rows} == {"link", "external", "other"}
    assert {row[0] for row in rows} >= set(REFERRERS)
    assert not currs & set(REFERRERS)
    assert len({(row[0], row[1]) for row in rows}) == len(rows)
    assert all(row[0] != row[1] for row in rows)


@needs_samples
def test_clickstream_dump_referrer_types_pair_like_real(clickstream) -> None:
    _, rows = clickstream

    real_pairs = referrer_type_pairs(read_rows(REAL_CLICKSTREAM))

    assert referrer_type_pairs(rows) == real_pairs


@needs_samples
def test_clickstream_dump_type_shares_near_real(clickstream) -> None:
    _, rows = clickstream
    real = read_rows(REAL_CLICKSTREAM)

    shares = Counter(row[2] for row in rows)
    real_shares = Counter(row[2] for row in real)

    for kind in ("link", "external", "other"):
        assert shares[kind] / len(rows) == pytest.approx(real_shares[kind] / len(real), abs=0.05)


def test_clickstream_dump_counts_heavy_tailed(clickstream) -> None:
    _, rows = clickstream

    counts = sorted(int(row[3]) for row in rows)

    assert 15 <= counts[len(counts) // 2] <= 45
    assert counts[-1] > 100 * counts[len(counts) // 2]


def test_clickstream_dump_titles_hold_punctuation_and_non_ascii(clickstream) -> None:
    _, rows = clickstream

    titles = {row[1] for row in rows}

    assert all("_" in title and " " not in title for title in titles)
    for mark in ("'", '"', ",", "(", ")"):
        assert any(mark in title for title in titles), mark
    assert any(not title.isascii() for title in titles)


def test_clickstream_dump_titles_in_wiki_script(tmp_path: Path) -> None:
    path = tmp_path / "ja.tsv.gz"

    write_clickstream_dump(path, wiki="jawiki", month="2024-10", rows=500)

    titles = {row[1] for row in read_rows(path)}
    assert any(re.search(r"[\u4e00-\u9fff]", title) for title in titles)


def test_clickstream_dump_exits_mostly_positive(clickstream) -> None:
    _, rows = clickstream

    views, clicks_out = Counter(), Counter()
    for prev, curr, _, n in rows:
        views[curr] += int(n)
        if prev not in REFERRERS:
            clicks_out[prev] += int(n)
    positive = sum(views[page] - clicks_out[page] > 0 for page in views)

    assert positive / len(views) > 0.85


def test_clickstream_dump_two_step_paths_exist(clickstream) -> None:
    _, rows = clickstream

    targets = {row[1] for row in rows}
    second_steps = [row for row in rows if row[0] in targets]

    assert len(second_steps) > len(rows) // 4


def test_clickstream_dump_single_gzip_member_readable_by_gzip(clickstream) -> None:
    path, rows = clickstream

    decompressed = subprocess.run(["gzip", "-dc", str(path)], capture_output=True, check=True)
    inflater = zlib.decompressobj(wbits=31)
    inflater.decompress(path.read_bytes())

    assert decompressed.stdout.count(b"\n") == len(rows)
    assert inflater.eof and inflater.unused_data == b""


def test_clickstream_dump_failed_write_leaves_nothing(tmp_path: Path) -> None:
    path = tmp_path / "dump.tsv.gz"

    def fail(done: int, total: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_clickstream_dump(path, wiki="enwiki", month="2024-10", rows=500_000, progress=fail)

    assert list(tmp_path.iterdir()) == []


def test_clickstream_dump_unknown_wiki_raises(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="xxwiki"):
        write_clickstream_dump(tmp_path / "x.tsv.gz", wiki="xxwiki", month="2024-10", rows=10)


def test_word_lists_prefix_free_and_sorted() -> None:
    for firsts, seconds in WORDS.values():
        for words in (firsts, seconds):
            pairs = itertools.pairwise(words)

            assert words == sorted(words, key=str.encode)
            assert not any(right.startswith(left) for left, right in pairs)


@pytest.fixture(scope="module")
def pageviews(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[list[str]]]:
    path = tmp_path_factory.mktemp("pageviews") / "pageviews-20241001-050000.gz"
    write_pageview_dump(path, hour=HOUR, lines=30_000, seed=1)
    return path, read_rows(path, " ")


def test_pageview_dump_fields_match_real_format(pageviews) -> None:
    _, rows = pageviews

    assert len(rows) == 30_000
    assert all(len(row) == 4 for row in rows)
    assert all(re.fullmatch(r"[1-9][0-9]*", row[2]) for row in rows)
    assert {row[3] for row in rows} == {"0"}


def test_pageview_dump_sorted_by_domain_then_title(pageviews) -> None:
    _, rows = pageviews

    keys = [(row[0].encode(), row[1].encode()) for row in rows]

    assert keys == sorted(keys)
    assert len(set(keys)) == len(keys)


def test_pageview_dump_project_mix(pageviews) -> None:
    _, rows = pageviews

    lines_per_project = Counter(row[0] for row in rows)

    for project in ("aa", "commons.m", "de", "de.d", "en", "en.d", "en.m", "ja", "www.wd"):
        assert lines_per_project[project] >= 1, project
    assert lines_per_project.most_common(2)[0][0] in ("en", "en.m")


def test_pageview_dump_views_heavy_tailed(pageviews) -> None:
    _, rows = pageviews

    views = Counter(int(row[2]) for row in rows)

    assert views[1] / len(rows) > 0.4
    assert max(views) > 1_000


def test_pageview_dump_same_hour_identical_other_hour_differs(tmp_path: Path, pageviews) -> None:
    path, _ = pageviews

    write_pageview_dump(tmp_path / "same.gz", hour=HOUR, lines=30_000, seed=1)
    write_pageview_dump(tmp_path / "next.gz", hour=HOUR.replace(hour=6), lines=30_000, seed=1)

    assert (tmp_path / "same.gz").read_bytes() == path.read_bytes()
    assert (tmp_path / "next.gz").read_bytes() != path.read_bytes()


@needs_samples
def test_pageview_dump_legacy_has_sizes_and_mobile_subtotals(tmp_path: Path) -> None:
    path = tmp_path / "pagecounts-20160601-050000.gz"
    real_subtotals = [row for row in read_rows(REAL_LEGACY, " ") if row[0].endswith(".mw")]

    result = write_pageview_dump(path, hour=datetime(2016, 6, 1, 5), lines=5_000, legacy=True)

    rows = read_rows(path, " ")
    subtotals = [row for row in rows if row[0].endswith(".mw")]
    assert result.rows == len(rows) == 5_000
    assert all(int(row[3]) > 0 for row in rows)
    assert real_subtotals and all(row[0] == row[1] + ".mw" for row in real_subtotals)
    assert {row[0] for row in subtotals} >= {"en.mw", "de.mw"}
    assert all(row[0] == row[1] + ".mw" and int(row[2]) > 0 for row in subtotals)
    assert [row[0].encode() for row in rows] == sorted(row[0].encode() for row in rows)
