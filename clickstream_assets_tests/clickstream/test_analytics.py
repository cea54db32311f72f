import itertools
from collections import defaultdict
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from clickstream_assets.clickstream import analytics
from clickstream_assets.clickstream.parsing import SCHEMA, convert_clickstream
from clickstream_assets.local.generator import write_clickstream_dump
from clickstream_assets_tests.clickstream.test_parsing import (
    HEAD_2018,
    independent_rows,
    needs_samples,
)

# A small month whose every figure is worked out by hand in the tests below.
#   views:  A = 100 + 50 + 10 = 160, B = 30 + 60 = 90, C = 20 + 40 + 10 = 70
#   onward: A = 60 + 20 = 80, B = 40, C = 10
ROWS = [
    ("other-search", "A", "external", 100),
    ("other-external", "A", "external", 50),
    ("other-empty", "B", "external", 30),
    ("A", "B", "link", 60),
    ("A", "C", "link", 20),
    ("B", "C", "link", 40),
    ("C", "A", "other", 10),
    ("other-internal", "C", "external", 10),
]


@pytest.fixture
def month(tmp_path) -> Path:
    path = tmp_path / "clickstream.parquet"
    columns = list(zip(*ROWS, strict=True))
    pq.write_table(pa.table([pa.array(c) for c in columns], schema=SCHEMA), path)
    return path


def test_rank_entry_pages_per_source(month):
    table = analytics.rank_entry_pages(month).to_pylist()

    got = {(r["source"], r["curr"]): (r["rank"], r["n"], r["share"]) for r in table}
    assert got == {
        ("all", "A"): (1, 150, 150 / 190),
        ("all", "B"): (2, 30, 30 / 190),
        ("all", "C"): (3, 10, 10 / 190),
        ("search", "A"): (1, 100, 1.0),
        ("external", "A"): (1, 50, 1.0),
        ("empty", "B"): (1, 30, 1.0),
        ("internal", "C"): (1, 10, 1.0),
    }


def test_rank_navigation_paths_article_to_article_only(month):
    table = analytics.rank_navigation_paths(month, limit=3)

    assert [(r["prev"], r["curr"], r["n"]) for r in table.to_pylist()] == [
        ("A", "B", 60),
        ("B", "C", 40),
        ("A", "C", 20),
    ]


def test_rank_two_step_paths_estimates_flow(month):
    table = analytics.rank_two_step_paths(month).to_pylist()

    got = [(r["prev"], r["curr"], r["next"], round(r["estimated_n"], 4)) for r in table]
    assert got == [
        ("A", "B", "C", round(60 * 40 / 90, 4)),
        ("B", "C", "A", round(40 * 10 / 70, 4)),
        ("C", "A", "B", round(10 * 60 / 160, 4)),
    ]


def test_exits_views_minus_clicks_onward(month, tmp_path):
    dest = tmp_path / "exits.parquet"

    rows = analytics.write_query(analytics.exits_sql(month), dest)

    got = {r["page"]: r for r in pq.read_table(dest).to_pylist()}
    assert rows == 3
    assert {p: (r["views"], r["clicks_onward"], r["exits"]) for p, r in got.items()} == {
        "A": (160, 80, 80),
        "B": (90, 40, 50),
        "C": (70, 10, 60),
    }
    assert got["C"]["exit_rate"] == pytest.approx(60 / 70)


def test_exits_floor_at_zero_when_clicks_exceed_views(tmp_path):
    path = tmp_path / "c.parquet"
    rows = [("other-search", "A", "external", 10), ("A", "B", "link", 25)]
    pq.write_table(pa.table([pa.array(c) for c in zip(*rows, strict=True)], schema=SCHEMA), path)

    analytics.write_query(analytics.exits_sql(path), tmp_path / "e.parquet")

    got = {r["page"]: r for r in pq.read_table(tmp_path / "e.parquet").to_pylist()}
    assert (got["A"]["exits"], got["A"]["exit_rate"]) == (0, 0.0)
    assert (got["B"]["exits"], got["B"]["exit_rate"]) == (25, 1.0)


def test_transitions_and_funnel_conversion(month, tmp_path):
    dest = tmp_path / "transitions.parquet"
    analytics.write_query(analytics.transitions_sql(month), dest)

    wanted = analytics.transitions_between(dest, ["A", "B", "C"])
    funnel = analytics.evaluate_funnel(wanted, ["A", "B", "C"])

    probabilities = {
        (r["prev"], r["curr"]): r["probability"] for r in pq.read_table(dest).to_pylist()
    }
    assert probabilities == pytest.approx(
        {("A", "B"): 60 / 160, ("A", "C"): 20 / 160, ("B", "C"): 40 / 90, ("C", "A"): 10 / 70}
    )
    assert funnel["page"].tolist() == ["A", "B", "C"]
    assert funnel["step_conversion"].tolist() == pytest.approx([1.0, 60 / 160, 40 / 90])
    assert funnel["overall_conversion"].tolist() == pytest.approx([1.0, 0.375, 0.375 * 40 / 90])
    assert funnel["estimated_readers"].tolist() == pytest.approx([160, 60, 160 * 0.375 * 40 / 90])


def test_funnel_missing_pair_converts_nothing(month, tmp_path):
    dest = tmp_path / "transitions.parquet"
    analytics.write_query(analytics.transitions_sql(month), dest)

    funnel = analytics.evaluate_funnel(
        analytics.transitions_between(dest, ["B", "A"]), ["B", "A"], first_views=90
    )

    assert funnel["overall_conversion"].tolist() == [1.0, 0.0]


def test_funnel_needs_two_pages():
    with pytest.raises(ValueError, match="at least two pages"):
        analytics.evaluate_funnel(analytics.transitions_between(Path("x"), ["A"]), ["A"])


@needs_samples
def test_rank_entry_pages_real_sample_matches_independent_count(tmp_path):
    parquet = tmp_path / "c.parquet"
    convert_clickstream(HEAD_2018, parquet)
    expected = defaultdict(int)
    for prev, curr, _, n in independent_rows(HEAD_2018):
        if prev == "other-search":
            expected[curr] += n
    top = sorted(expected.items(), key=lambda kv: (-kv[1], kv[0]))[:10]

    table = analytics.rank_entry_pages(parquet, limit=10).to_pylist()

    assert [(r["curr"], r["n"]) for r in table if r["source"] == "search"] == top


def test_rank_two_step_paths_equals_brute_force_on_a_generated_month(tmp_path):
    dump = tmp_path / "clickstream-enwiki-2024-10.tsv.gz"
    write_clickstream_dump(dump, wiki="enwiki", month="2024-10", rows=30_000, seed=7)
    parquet = tmp_path / "c.parquet"
    convert_clickstream(dump, parquet)
    rows = pq.read_table(parquet).to_pandas()
    views = rows.groupby("curr")["n"].sum()
    links = rows[~rows["prev"].str.startswith("other-")].copy()
    links["probability"] = (links["n"] / links["prev"].map(views)).clip(upper=1.0)
    paths = links.merge(links, left_on="curr", right_on="prev", suffixes=("_a", "_b"))
    paths = paths[paths["curr_b"] != paths["prev_a"]]
    paths["estimated_n"] = paths["n_a"] * paths["probability_b"]
    expected = paths.sort_values(
        ["estimated_n", "prev_a", "curr_a", "curr_b"], ascending=[False, True, True, True]
    ).head(50)

    table = analytics.rank_two_step_paths(parquet, limit=50).to_pylist()

    assert [(r["prev"], r["curr"], r["next"]) for r in table] == list(
        zip(expected["prev_a"], expected["curr_a"], expected["curr_b"], strict=True)
    )
    assert [r["estimated_n"] for r in table] == pytest.approx(expected["estimated_n"].tolist())


def _groups(path: Path) -> list:
    footer = pq.ParquetFile(path).metadata
    return [footer.row_group(g) for g in range(footer.num_row_groups)]


def _group_ranges(path: Path, column: str) -> list[tuple]:
    where = pq.ParquetFile(path).schema_arrow.names.index(column)
    return [(g.column(where).statistics.min, g.column(where).statistics.max) for g in _groups(path)]


def test_lookup_files_are_ordered_across_small_row_groups(tmp_path):
    dump = tmp_path / "clickstream-enwiki-2024-10.tsv.gz"
    write_clickstream_dump(dump, wiki="enwiki", month="2024-10", rows=40_000, seed=3)
    parquet, exits = tmp_path / "c.parquet", tmp_path / "exits.parquet"
    convert_clickstream(dump, parquet)
    analytics.write_query(analytics.exits_sql(parquet), exits)
    referrers, index = tmp_path / "referrers.parquet", tmp_path / "index.parquet"

    analytics.write_query(analytics.referrers_sql(parquet), referrers, 4_096)
    analytics.write_query(analytics.page_index_sql(exits), index, 2_048)

    for path, key, size in ((referrers, "curr", 4_096), (index, "title_key", 2_048)):
        ranges = _group_ranges(path, key)
        assert len(ranges) > 3, path
        # Each group starts at or after the end of the one before: a lookup by key can skip
        # every group whose range misses it.
        assert all(a[1] <= b[0] for a, b in itertools.pairwise(ranges)), path
        assert max(g.num_rows for g in _groups(path)) <= size
    month = pq.read_table(parquet).to_pandas()
    ordered = pq.read_table(referrers).to_pandas()
    assert len(ordered) == len(month)
    assert ordered["n"].sum() == month["n"].sum()
    first = ordered["curr"].iloc[0]
    assert ordered[ordered["curr"] == first]["n"].is_monotonic_decreasing
    keyed = pq.read_table(index).to_pandas()
    assert (keyed["title_key"] == keyed["page"].str.lower()).all()
    assert sorted(keyed["page"]) == sorted(pq.read_table(exits).column("page").to_pylist())
