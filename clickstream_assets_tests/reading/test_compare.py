from collections import defaultdict

import pandas as pd
import pytest

from clickstream_assets.reading import compare
from clickstream_assets.reading.catalog import ClickstreamDataset
from clickstream_assets_tests.reading.materialized import (
    MONTHS,
    RANKING_LIMIT,
    REFERRERS,
    WIKI,
    exits_of,
)


@pytest.fixture
def months(materialized) -> tuple[ClickstreamDataset, ClickstreamDataset]:
    return ClickstreamDataset(WIKI, MONTHS[0]), ClickstreamDataset(WIKI, MONTHS[1])


@pytest.fixture
def rows(materialized) -> tuple[list, list]:
    return materialized.clickstream_rows(MONTHS[0]), materialized.clickstream_rows(MONTHS[1])


def every_exit_change(rows, min_views: int) -> list[tuple[str, int]]:
    """(page, exits_b - exits_a) of every page with min_views in either month, largest first."""
    a, b = exits_of(rows[0]), exits_of(rows[1])
    changes = [
        (page, b.get(page, (0, 0, 0))[2] - a.get(page, (0, 0, 0))[2])
        for page in set(a) | set(b)
        if a.get(page, (0,))[0] >= min_views or b.get(page, (0,))[0] >= min_views
    ]
    return sorted(changes, key=lambda change: (-abs(change[1]), change[0]))


def changed_exits(months, **options) -> compare.Changes:
    a, b = months
    return compare.changed_exits(
        a.analytics("page_exits"),
        b.analytics("page_exits"),
        a.analytics("page_index"),
        b.analytics("page_index"),
        **options,
    )


@pytest.mark.parametrize("candidates", [3, 500])
def test_changed_exits_equal_a_comparison_of_every_page(months, rows, candidates):
    expected = every_exit_change(rows, 0)[:12]

    changes = changed_exits(months, limit=12, candidates=candidates)

    got = list(zip(changes.frame["page"], changes.frame["change"].astype(int), strict=True))
    assert got == expected
    assert changes.unseen_at_most is None


def test_changed_exits_keep_pages_with_min_views_in_either_month(months, rows):
    expected = every_exit_change(rows, 300)[:8]

    changes = changed_exits(months, min_views=300, limit=8, candidates=2)

    assert changes.frame["page"].tolist() == [page for page, _ in expected]


def links_of(rows) -> dict[tuple[str, str], int]:
    links = defaultdict(int)
    for prev, curr, _, n in rows:
        if prev not in REFERRERS:
            links[(prev, curr)] += n
    return links


def test_changed_transitions_read_ranked_links_in_both_months(months, rows):
    a, b = links_of(rows[0]), links_of(rows[1])
    ranked = [sorted(m, key=lambda k, m=m: (-m[k], k))[:RANKING_LIMIT] for m in (a, b)]
    candidates = set(ranked[0]) | set(ranked[1])
    expected = sorted(
        ((link, b.get(link, 0) - a.get(link, 0)) for link in candidates),
        key=lambda change: (-abs(change[1]), change[0]),
    )[:10]

    changes = compare.changed_transitions(
        months[0].analytics("top_navigation_paths"),
        months[1].analytics("top_navigation_paths"),
        months[0].analytics("page_transitions"),
        months[1].analytics("page_transitions"),
        limit=10,
    )

    frame = changes.frame
    links = zip(frame["prev"], frame["curr"], strict=True)
    got = list(zip(links, frame["change"], strict=True))
    assert got == expected
    assert changes.unseen_at_most == max(a[ranked[0][-1]], b[ranked[1][-1]])


def test_changed_entry_pages_bound_pages_ranked_in_one_month(months, rows):
    entries = []
    for month_rows in rows:
        counts = defaultdict(int)
        for prev, curr, _, n in month_rows:
            if prev in REFERRERS:
                counts[curr] += n
        entries.append(counts)
    ranked = [sorted(c, key=lambda p, c=c: (-c[p], p))[:RANKING_LIMIT] for c in entries]
    cut_a, cut_b = entries[0][ranked[0][-1]], entries[1][ranked[1][-1]]

    changes = compare.changed_entry_pages(
        months[0].analytics("top_entry_pages"), months[1].analytics("top_entry_pages"), limit=50
    )

    assert changes.unseen_at_most == max(cut_a, cut_b)
    for row in changes.frame.itertuples(index=False):
        in_a, in_b = row.curr in ranked[0], row.curr in ranked[1]
        if in_a and in_b:
            assert row.change == entries[1][row.curr] - entries[0][row.curr]
        elif in_b:
            assert pd.isna(row.change) and pd.isna(row.n_a)
            assert row.change_at_least == max(entries[1][row.curr] - cut_a, 0)
            assert row.note.startswith("entered the list")
        else:
            assert pd.isna(row.change) and pd.isna(row.n_b)
            assert row.change_at_least == -max(entries[0][row.curr] - cut_b, 0)
            assert row.note.startswith("left the list")
    sizes = changes.frame["change_at_least"].abs().tolist()
    assert sizes == sorted(sizes, reverse=True)


def test_changed_exits_look_up_only_candidates_that_can_make_the_list():
    # Month A's first rows end at 50 exits, month B's at 40 (the floors).
    top_a = pd.DataFrame({"page": ["P", "Q", "R"], "exits": [900, 300, 50]})
    top_b = pd.DataFrame({"page": ["P", "S", "T"], "exits": [100, 700, 40]})

    contenders = compare._contenders([top_a, top_b], [50, 40], min_views=0, limit=2)

    # Known in both: P changes by 800. Q changes by 260..300, S by 650..700: with P they
    # are the two largest lower bounds (800, 650), so the threshold is 650 and Q cannot make
    # it; R (at most 50) and T (at most 40) cannot either.
    assert contenders == {"P", "S"}
