from collections import defaultdict

import pandas as pd
import pytest

from clickstream_assets.reading import clickstream
from clickstream_assets.reading.catalog import ClickstreamDataset
from clickstream_assets_tests.reading.materialized import (
    MONTHS,
    RANKING_LIMIT,
    REFERRERS,
    WIKI,
    exits_of,
    probability,
    views_of,
)

MONTH = MONTHS[1]
SOURCES = {
    "other-search": "search",
    "other-external": "external",
    "other-empty": "empty",
    "other-internal": "internal",
    "other-other": "other",
}


@pytest.fixture
def month(materialized) -> ClickstreamDataset:
    return ClickstreamDataset(WIKI, MONTH)


@pytest.fixture
def rows(materialized) -> list[tuple[str, str, str, int]]:
    return materialized.clickstream_rows(MONTH)


def most_viewed_linking_page(rows) -> str:
    """The most viewed page that links to another page that links on (a 3-step funnel)."""
    linking = {prev for prev, _, _, _ in rows if prev not in REFERRERS}
    views = views_of(rows)
    for page in sorted(views, key=lambda p: (-views[p], p)):
        nexts = {curr for prev, curr, _, _ in rows if prev == page}
        if nexts & linking:
            return page
    raise AssertionError("the test dump has no two-step path")


def test_drop_offs_match_the_served_dump(month, rows):
    expected = sorted(
        ((page, v, exits) for page, (v, _, exits) in exits_of(rows).items() if v >= 200),
        key=lambda row: (-row[2], row[0]),
    )[:15]

    frame = clickstream.drop_offs(month.analytics("page_exits"), min_views=200, limit=15)

    got = list(
        zip(frame["page"], frame["views"].astype(int), frame["exits"].astype(int), strict=True)
    )
    assert got == expected


def test_drop_offs_without_minimum_rank_every_page(month, rows):
    exits = exits_of(rows)
    expected = sorted(exits, key=lambda page: (-exits[page][2], page))[:40]

    frame = clickstream.drop_offs(month.analytics("page_exits"), min_views=0, limit=40)

    assert frame["page"].tolist() == expected


def test_count_pages_counts_pages_with_min_views(month, rows):
    views = views_of(rows)

    counted = clickstream.count_pages(month.analytics("page_exits"), 100)

    assert counted == sum(1 for v in views.values() if v >= 100)


def test_top_pages_with_clicks_onward_are_the_most_viewed_linking_pages(month, rows):
    exits = exits_of(rows)
    linking = [page for page, (_, onward, _) in exits.items() if onward > 0]
    expected = sorted(linking, key=lambda page: (-exits[page][0], page))[:10]

    frame = clickstream.top_pages(month.analytics("page_exits"), 10, with_clicks_onward=True)

    assert frame["page"].tolist() == expected


def test_search_pages_finds_every_title_starting_with_the_text(month, rows):
    title = next(curr for _, curr, _, _ in rows if "_" in curr)
    words = title.split("_")[:2]
    text = " ".join(words).upper()
    wanted = "_".join(words).lower()
    views = views_of(rows)
    expected = sorted(
        (p for p in views if p.lower().startswith(wanted)), key=lambda p: (-views[p], p)
    )

    frame = search(month, text, limit=1_000)

    assert frame["page"].tolist() == expected
    assert frame["views"].tolist() == [views[page] for page in expected]


def search(month, text: str, limit: int, with_clicks_onward: bool = False):
    exits, index = month.analytics("page_exits"), month.analytics("page_index")
    return clickstream.search_pages(exits, index, text, limit, with_clicks_onward)


def test_search_pages_takes_quotes_underscores_and_percent_literally(month, rows):
    views = views_of(rows)
    possessive = next(page for page in sorted(views) if "'s_" in page)
    texts = ['"', possessive[: possessive.index("'s_") + 3], "%"]
    for text in texts:
        expected = sorted(p for p in views if p.lower().startswith(text.lower()))

        frame = search(month, text, limit=100_000)

        assert sorted(frame["page"]) == expected, text
        # Titles with these characters exist (the generator writes them); none start with %.
        assert bool(expected) == (text != "%"), text


def test_search_pages_limits_what_leaves_duckdb(month, rows):
    views = views_of(rows)
    first = max(views, key=views.get)[0]

    frame = search(month, first, limit=2)

    assert len(frame) == 2


def test_search_pages_without_text_lists_the_most_viewed(month, rows):
    views = views_of(rows)
    expected = sorted(views, key=lambda p: (-views[p], p))[:5]

    assert search(month, "  ", limit=5)["page"].tolist() == expected


@pytest.mark.parametrize(
    ("prefix", "end"),
    [("abc", "abd"), ("a", "b"), ("z\U0010ffff", "{"), ("\ud7ff", "\ue000")],
)
def test_prefix_end_bounds_every_string_with_the_prefix(prefix, end):
    assert clickstream.prefix_end(prefix) == end
    assert prefix + "\U0010ffff" * 3 < end


def test_page_rows_look_up_pages_by_title(month, rows):
    exits = exits_of(rows)
    pages = [*sorted(exits)[::7], "No_such_page", "O'Brien's"]

    frame = clickstream.page_rows(month.analytics("page_index"), pages)

    got = {row.page: (row.views, row.clicks_onward, row.exits) for row in frame.itertuples()}
    assert got == {page: exits[page] for page in pages if page in exits}


def test_next_pages_rank_the_links_out_of_a_page(month, rows):
    page = most_viewed_linking_page(rows)
    links = defaultdict(int)
    for prev, curr, _, n in rows:
        if prev == page:
            links[curr] += n
    expected = sorted(links, key=lambda curr: (-links[curr], curr))[:5]

    frame = clickstream.next_pages(month.analytics("page_transitions"), page, 5)

    assert frame["curr"].tolist() == expected
    assert frame["probability"].tolist() == pytest.approx(
        [probability(rows, page, curr) for curr in expected]
    )


def test_funnel_multiplies_transition_probabilities(month, rows):
    first = most_viewed_linking_page(rows)
    second = clickstream.next_pages(month.analytics("page_transitions"), first, 50)
    linking = {prev for prev, _, _, _ in rows if prev not in REFERRERS}
    middle = next(curr for curr in second["curr"] if curr in linking)
    last = clickstream.next_pages(month.analytics("page_transitions"), middle, 1)["curr"][0]
    steps = [probability(rows, first, middle), probability(rows, middle, last)]

    frame = clickstream.funnel(month.analytics("page_transitions"), [first, middle, last])

    assert frame["page"].tolist() == [first, middle, last]
    assert frame["step_conversion"].tolist() == pytest.approx([1.0, *steps])
    assert frame["overall_conversion"].tolist() == pytest.approx(
        [1.0, steps[0], steps[0] * steps[1]]
    )
    assert frame["estimated_readers"][0] == views_of(rows)[first]


def test_funnel_over_an_unknown_link_converts_nobody(month, rows):
    first = most_viewed_linking_page(rows)

    frame = clickstream.funnel(month.analytics("page_transitions"), [first, "No_such_page"])

    assert frame["overall_conversion"].tolist() == [1.0, 0.0]


def test_page_inflows_sum_to_the_page_views(month, rows):
    page = most_viewed_linking_page(rows)

    inflows = clickstream.page_inflows(month.analytics("page_referrers"), page)

    assert inflows["n"].sum() == views_of(rows)[page]
    assert set(inflows["prev"]) == {prev for prev, curr, _, _ in rows if curr == page}


def test_page_flow_gives_shares_of_the_page_views(month, rows):
    page = most_viewed_linking_page(rows)
    views, onward, exits = exits_of(rows)[page]
    row = {"views": views, "clicks_onward": onward, "exits": exits, "exit_rate": exits / views}
    inflows = clickstream.page_inflows(month.analytics("page_referrers"), page)
    outflows = clickstream.page_outflows(month.analytics("page_transitions"), page)

    flow = clickstream.page_flow(inflows, outflows, row, top=1)

    incoming = flow[flow["side"] == "in"]
    assert incoming["n"].sum() == views
    assert incoming["share"].sum() == pytest.approx(1.0)
    outgoing = flow[flow["side"] == "out"]
    exit_row = outgoing[outgoing["kind"] == "exit"].iloc[0]
    assert (exit_row["n"], exit_row["share"]) == (exits, pytest.approx(exits / views))
    assert outgoing[outgoing["kind"] == "next page"]["n"].sum() == onward
    articles = incoming[incoming["kind"] == clickstream.ARTICLES]
    assert len(articles) <= 2


def test_source_mix_groups_the_referrers_of_a_page(month, rows):
    page = most_viewed_linking_page(rows)
    expected = defaultdict(int)
    for prev, curr, _, n in rows:
        if curr == page:
            expected[SOURCES.get(prev, clickstream.ARTICLES)] += n

    mix = clickstream.source_mix(clickstream.page_inflows(month.analytics("page_referrers"), page))

    assert dict(zip(mix["source"], mix["n"], strict=True)) == {
        source: expected[source] for source in clickstream.SOURCE_ORDER
    }
    assert mix["share"].sum() == pytest.approx(1.0)


def test_sample_rows_are_lines_of_the_dump(month, rows):
    frame = clickstream.sample_rows(month.parquet, seed=3, rows=30)

    assert len(frame) == 30
    for line, prev, curr, kind, n in frame.itertuples(index=False):
        assert rows[line - 1] == (prev, curr, kind, n)


def test_sample_rows_differ_by_seed(month):
    first = clickstream.sample_rows(month.parquet, seed=1, rows=20)
    second = clickstream.sample_rows(month.parquet, seed=2, rows=20)

    assert first["row"].tolist() != second["row"].tolist()


def test_entry_pages_match_the_served_dump(month, rows):
    entries = defaultdict(int)
    for prev, curr, _, n in rows:
        if prev in REFERRERS:
            entries[curr] += n
    expected = sorted(entries, key=lambda page: (-entries[page], page))[:RANKING_LIMIT]

    frame = clickstream.entry_pages(month.analytics("top_entry_pages"), "all", 100)

    assert frame["curr"].tolist() == expected
    assert frame["n"].tolist() == [entries[page] for page in expected]


def test_entry_sources_list_all_first(month):
    sources = clickstream.entry_sources(month.analytics("top_entry_pages"))

    assert sources[0] == "all"
    assert set(sources[1:]) <= set(SOURCES.values())


def test_navigation_paths_are_the_most_travelled_article_links(month, rows):
    links = sorted(
        ((n, prev, curr) for prev, curr, _, n in rows if prev not in REFERRERS),
        key=lambda link: (-link[0], link[1], link[2]),
    )[:RANKING_LIMIT]

    frame = clickstream.navigation_paths(month.analytics("top_navigation_paths"), 100)

    assert list(zip(frame["n"], frame["prev"], frame["curr"], strict=True)) == links


def test_read_profile_counts_rows_and_clicks(month, rows):
    profile = clickstream.read_profile(month.profile)

    assert (profile["rows"], profile["clicks"]) == (len(rows), sum(n for *_, n in rows))


def test_page_outflows_with_top_fold_the_other_links_into_one_row(month, rows):
    page = most_viewed_linking_page(rows)
    transitions = month.analytics("page_transitions")
    every = clickstream.page_outflows(transitions, page)
    views, onward, exits = exits_of(rows)[page]
    row = {"views": views, "clicks_onward": onward, "exits": exits, "exit_rate": exits / views}

    folded = clickstream.page_outflows(transitions, page, top=1)

    assert len(every) > 2
    assert folded["curr"].tolist() == [every["curr"].iloc[0], None]
    assert folded["pages"].tolist() == [1, len(every) - 1]
    assert folded["n"].tolist() == [every["n"].iloc[0], every["n"].iloc[1:].sum()]
    inflows = clickstream.page_inflows(month.analytics("page_referrers"), page)
    pd.testing.assert_frame_equal(
        clickstream.page_flow(inflows, folded, row, top=1),
        clickstream.page_flow(inflows, every, row, top=1),
    )
