"""What changed most between two materialized months of one wiki: entry pages, exits and
transitions, read from the assets' files of both months.

A full month has millions of pages and tens of millions of links, so joining everything with
everything would take seconds. A change is at most the larger of its two values, so only
pages (or links) near the top of either month can change most: the candidates are the top of
each month, their values are looked up in both months, and what lies outside the candidates
is bounded by the smallest value that made a month's top.

- Exits are exact: `page_exits` is sorted by exits, so the top of a month is cheap to read,
  and the candidates are widened until nothing outside them could change more.
- Transitions start from the two months' `top_navigation_paths` rankings; a link ranked in
  one month only has its n looked up in the other month's `page_transitions`. A link in
  neither ranking changed by at most the larger of the two cut-offs: the result says so
  (`unseen_at_most`) rather than scanning both months' links.
- Entry pages come from the two `top_entry_pages` rankings alone (per-page entries of pages
  outside them exist only in the raw month), so a page ranked in one month only has a bounded
  change, shown as such.

A page missing from a month's `page_exits` (or a link from its `page_transitions`) had no
counted clicks that month (the dumps drop pairs seen fewer than ten times) and counts as 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from clickstream_assets.reading.clickstream import (
    allow_long_in_lists,
    connect,
    drop_offs,
    page_rows,
    scan,
    sql_list,
)

START_CANDIDATES = 200


@dataclass
class Changes:
    """The largest changes, and how large a change outside them could be (None: exact)."""

    frame: pd.DataFrame
    unseen_at_most: int | None = None


def changed_exits(
    exits_a: Path,
    exits_b: Path,
    index_a: Path,
    index_b: Path,
    min_views: int = 0,
    limit: int = 25,
    candidates: int = START_CANDIDATES,
) -> Changes:
    """Pages whose estimated exits changed most from month A to month B, among pages with at
    least `min_views` views in either month. Exact; `candidates` is where the search starts.

    The candidates are the first rows of each month's `page_exits` (sorted by exits); a
    candidate missing from the other month's first rows is looked up in that month's
    `page_index` by title. Columns: page, views_a, views_b, exits_a, exits_b, exit_rate_a,
    exit_rate_b, change (exits_b - exits_a), ordered by the size of the change.
    """
    candidates = max(candidates, limit)
    while True:
        tops = [drop_offs(path, min_views, candidates) for path in (exits_a, exits_b)]
        # A month with fewer qualifying pages than candidates gave all of them.
        floors = [int(top["exits"].iloc[-1]) if len(top) == candidates else None for top in tops]
        pages = _contenders(tops, floors, min_views, limit)
        months = [
            _with_missing(top, index, pages)
            for top, index in zip(tops, (index_a, index_b), strict=True)
        ]
        result = _exit_changes(pages, *months, limit)
        if all(floor is None for floor in floors):
            return Changes(result)
        # Outside the candidates a page's exits are below the floor of a month where it has
        # min_views, and below min_views (as are its exits) where it has not.
        bound = max([f for f in floors if f is not None] + [int(min_views) - 1])
        if len(result) == limit and abs(result["change"].iloc[-1]) > bound:
            return Changes(result)
        candidates *= 10


def _contenders(
    tops: list[pd.DataFrame], floors: list[int | None], min_views: int, limit: int
) -> set[str]:
    """The candidates that can be among the `limit` largest changes.

    A candidate missing from one month's first rows has, in that month, at most that
    month's floor of exits (or fewer than min_views views, and so fewer exits), and at
    least none. That bounds the size of its change from below and above; a candidate whose
    upper bound is below the `limit`-th largest lower bound cannot make the list, so it is
    not looked up. The others, and every candidate known in both months, are returned.
    """
    known = [dict(zip(top["page"], top["exits"], strict=True)) for top in tops]
    most = [max(floor if floor is not None else 0, int(min_views) - 1) for floor in floors]
    bounds = {}
    for page in known[0].keys() | known[1].keys():
        a, b = known[0].get(page), known[1].get(page)
        if a is not None and b is not None:
            bounds[page] = (abs(b - a), abs(b - a))
        elif a is not None:
            bounds[page] = (max(0, a - most[1]), max(a, most[1] - a))
        else:
            bounds[page] = (max(0, b - most[0]), max(b, most[0] - b))
    lows = sorted((low for low, _ in bounds.values()), reverse=True)
    threshold = lows[limit - 1] if len(lows) >= limit else 0
    return {page for page, (_, high) in bounds.items() if high >= threshold}


def _with_missing(top: pd.DataFrame, index: Path, pages: set[str]) -> pd.DataFrame:
    """A month's rows for `pages`: those among its first rows, the others from its index."""
    missing = pages - set(top["page"])
    found = page_rows(index, sorted(missing)) if missing else top.iloc[:0]
    return pd.concat([top, found], ignore_index=True)


def _exit_changes(pages: set[str], a: pd.DataFrame, b: pd.DataFrame, limit: int) -> pd.DataFrame:
    both = pd.DataFrame({"page": sorted(pages)})
    for name, month in (("a", a), ("b", b)):
        values = month[["page", "views", "exits", "exit_rate"]].rename(
            columns={column: f"{column}_{name}" for column in ("views", "exits", "exit_rate")}
        )
        both = both.merge(values, on="page", how="left")
    for column in ("views_a", "views_b", "exits_a", "exits_b"):
        both[column] = both[column].fillna(0).astype("int64")
    both["change"] = both["exits_b"] - both["exits_a"]
    both = both.assign(size=both["change"].abs())
    ordered = both.sort_values(["size", "page"], ascending=[False, True]).head(limit)
    columns = ["page", "views_a", "views_b", "exits_a", "exits_b"]
    columns += ["exit_rate_a", "exit_rate_b", "change"]
    return ordered[columns].reset_index(drop=True)


def changed_transitions(
    paths_a: Path,
    paths_b: Path,
    transitions_a: Path,
    transitions_b: Path,
    limit: int = 25,
) -> Changes:
    """Links whose clicks changed most, among the links of either month's
    `top_navigation_paths` ranking.

    A link ranked in both months has both counts in the rankings; a link ranked in one month
    only is looked up in the other month's `page_transitions`. Columns: prev, curr, n_a, n_b,
    change (n_b - n_a). `unseen_at_most` bounds the change of any link outside both rankings.
    """
    with connect() as con:
        con.execute(
            f"""
            CREATE TEMP TABLE candidates AS
            SELECT prev, curr, SUM(n_a) AS ranked_a, SUM(n_b) AS ranked_b FROM (
                SELECT prev, curr, n AS n_a, NULL AS n_b FROM {scan(paths_a)}
                UNION ALL
                SELECT prev, curr, NULL AS n_a, n AS n_b FROM {scan(paths_b)}
            ) GROUP BY prev, curr
            """
        )
        cuts = [
            _ranking_cut(con, ranked, links)
            for ranked, links in zip(
                (paths_a, paths_b), (transitions_a, transitions_b), strict=True
            )
        ]
        for name, path in (("a", transitions_a), ("b", transitions_b)):
            _look_up_unranked(con, name, path)
        result = con.execute(
            """
            SELECT c.prev, c.curr, COALESCE(c.ranked_a, a.n, 0) AS n_a,
                   COALESCE(c.ranked_b, b.n, 0) AS n_b,
                   COALESCE(c.ranked_b, b.n, 0) - COALESCE(c.ranked_a, a.n, 0) AS change
            FROM candidates c
            LEFT JOIN looked_up_a a USING (prev, curr) LEFT JOIN looked_up_b b USING (prev, curr)
            ORDER BY ABS(change) DESC, c.prev, c.curr
            LIMIT ?
            """,
            [int(limit)],
        ).df()
    bound = max(cuts)
    return Changes(result, int(bound) if bound else None)


def _look_up_unranked(con, name: str, transitions: Path) -> None:
    """Table `looked_up_<name>`: n in month <name> of the candidates its ranking lacks.

    The file is sorted by prev, so the wanted prevs, written into the query as constants,
    let DuckDB read only the row groups that can hold them.
    """
    wanted = con.execute(
        f"SELECT DISTINCT prev, curr FROM candidates WHERE ranked_{name} IS NULL"
    ).fetchall()
    if not wanted:
        con.execute(f"CREATE TEMP TABLE looked_up_{name} (prev VARCHAR, curr VARCHAR, n BIGINT)")
        return
    prevs = sorted({prev for prev, _ in wanted})
    currs = sorted({curr for _, curr in wanted})
    allow_long_in_lists(con, max(len(prevs), len(currs)))
    con.execute(
        f"""
        CREATE TEMP TABLE looked_up_{name} AS
        SELECT prev, curr, SUM(n) AS n FROM {scan(transitions)}
        WHERE prev IN ({sql_list(prevs)}) AND curr IN ({sql_list(currs)})
        GROUP BY prev, curr
        """
    )


def _ranking_cut(con, ranked: Path, links: Path) -> int:
    """The n of a ranking's last link, or 0 when the ranking holds every link of the month."""
    rows, smallest = con.execute(f"SELECT COUNT(*), MIN(n) FROM {scan(ranked)}").fetchone()
    every = con.execute(f"SELECT COUNT(*) FROM {scan(links)}").fetchone()[0]
    return 0 if rows >= every or smallest is None else int(smallest)


def changed_entry_pages(
    entry_a: Path, entry_b: Path, source: str = "all", limit: int = 25
) -> Changes:
    """Entry pages of one source whose clicks changed most, from the two months' rankings.

    `top_entry_pages` keeps the top of each source only, so a page ranked in one month and
    not the other has, in the other, at most the clicks of that list's last page. Its change
    is then known as a bound: `change` is empty, `change_at_least` holds the smallest change
    it can have, and `note` says which list it entered or left. A list shorter than the
    file's longest was not cut off, so a page missing from it had no entries from the source.

    Columns: curr, rank_a, rank_b, n_a, n_b, change, change_at_least, note.
    """
    with connect() as con:
        (a, cut_a), (b, cut_b) = (_entry_list(con, path, source) for path in (entry_a, entry_b))
    merged = a.merge(b, on="curr", how="outer", suffixes=("_a", "_b"))
    # A page missing from a list that was not cut off had no clicks from the source.
    merged["n_a"] = merged["n_a"].fillna(0) if cut_a == 0 else merged["n_a"]
    merged["n_b"] = merged["n_b"].fillna(0) if cut_b == 0 else merged["n_b"]
    entered, left = merged["n_a"].isna(), merged["n_b"].isna()

    merged["change"] = merged["n_b"] - merged["n_a"]
    # Missing from a cut-off list means between 0 and the cut-off: the change is at least the
    # distance from the known value to that cut-off.
    merged["change_at_least"] = merged["change"]
    merged.loc[entered, "change_at_least"] = (merged["n_b"] - cut_a).clip(lower=0)
    merged.loc[left, "change_at_least"] = -(merged["n_a"] - cut_b).clip(lower=0)
    merged["note"] = ""
    merged.loc[entered, "note"] = f"entered the list; month A had at most {cut_a:,}"
    merged.loc[left, "note"] = f"left the list; month B had at most {cut_b:,}"

    merged = merged.assign(size=merged["change_at_least"].abs())
    merged = merged.sort_values(["size", "curr"], ascending=[False, True]).head(limit)
    columns = ["curr", "rank_a", "rank_b", "n_a", "n_b", "change", "change_at_least", "note"]
    types = dict.fromkeys(("rank_a", "rank_b", "n_a", "n_b", "change", "change_at_least"), "Int64")
    return Changes(merged[columns].astype(types).reset_index(drop=True), max(cut_a, cut_b) or None)


def _entry_list(con, path: Path, source: str) -> tuple[pd.DataFrame, int]:
    """One month's ranking of a source, and its cut-off: the clicks of its last page when the
    list was cut at the asset's limit, else 0."""
    table = scan(path)
    ranked = con.execute(
        f"SELECT curr, rank, n FROM {table} WHERE source = ? ORDER BY rank", [source]
    ).df()
    longest = con.execute(
        f"SELECT COALESCE(MAX(c), 0) FROM (SELECT COUNT(*) AS c FROM {table} GROUP BY source)"
    ).fetchone()[0]
    cut = int(ranked["n"].min()) if len(ranked) and len(ranked) >= longest else 0
    return ranked, cut
