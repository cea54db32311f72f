"""Reading one materialized clickstream month: headline numbers, rankings, drop-offs, page
search, funnels, the flow through a page and a sample of raw rows.

Each function reads one asset's file with DuckDB, only the columns it needs, filtered and
limited in SQL, so a full English month (33M rows, millions of pages) answers in a fraction of
a second. Nothing is recomputed that an asset owns: views, exits and transition probabilities
come from `page_exits`, `page_index` and `page_transitions`, the referrers of a page from
`page_referrers`, and funnels are evaluated by the assets' own `evaluate_funnel`.

The lookups rely on how the assets order their files, written in small row groups whose
statistics let DuckDB skip every group that cannot hold a wanted row: `page_exits` by exits
(descending), `page_transitions` by prev, `page_referrers` by curr and `page_index` by
lower-case title.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow.parquet as pq

from clickstream_assets.clickstream import analytics
from clickstream_assets.clickstream.parsing import COLUMNS, ENTRY_SOURCES

# The group of every referrer that is not an article: where readers come from when they
# enter the wiki. Links from the wiki's own articles are `ARTICLES`.
ARTICLES = "article links"
SOURCE_ORDER = ("search", "external", "empty", "internal", "other", ARTICLES)
EXIT = "exit (estimated)"


def connect() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB for one query: cheap to open, and nothing shared between threads."""
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    con.execute("SET memory_limit = '1GB'")
    return con


def scan(path: Path, row_numbers: bool = False) -> str:
    """A parquet file as a table, without the wiki=/month= folders read as extra columns;
    `row_numbers` adds `file_row_number`, the row's position in the file from 0."""
    quoted = Path(path).as_posix().replace("'", "''")
    extra = ", file_row_number = true" if row_numbers else ""
    return f"read_parquet('{quoted}', hive_partitioning = false{extra})"


def query(sql: str, params: Sequence | None = None) -> pd.DataFrame:
    with connect() as con:
        return con.execute(sql, params).df()


# Headline numbers


def read_profile(path: Path) -> dict:
    """The JSON report of `clickstream_profile` (rows, clicks, distinct pages, types, ...)."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def parquet_rows(path: Path) -> int:
    """Rows of a parquet file, from its footer."""
    return pq.ParquetFile(path).metadata.num_rows


# Rankings


def entry_sources(path: Path) -> list[str]:
    """The sources ranked in a `top_entry_pages` file: `all` first, then by their clicks."""
    frame = query(f"SELECT source, SUM(n) AS n FROM {scan(path)} GROUP BY source")
    ranked = frame.sort_values(["n", "source"], ascending=[False, True])["source"].tolist()
    return sorted(ranked, key=lambda source: source != "all")


def entry_pages(path: Path, source: str, limit: int = 100) -> pd.DataFrame:
    """Top entry pages of one source from `top_entry_pages`: rank, curr, n, share."""
    return query(
        f"SELECT rank, curr, n, share FROM {scan(path)} WHERE source = ? ORDER BY rank LIMIT ?",
        [source, int(limit)],
    )


def navigation_paths(path: Path, limit: int = 100) -> pd.DataFrame:
    """Top article-to-article links from `top_navigation_paths`: rank, prev, curr, type, n."""
    return query(
        f"SELECT rank, prev, curr, type, n FROM {scan(path)} ORDER BY rank LIMIT ?", [int(limit)]
    )


def two_step_paths(path: Path, limit: int = 100) -> pd.DataFrame:
    """Top paths A -> B -> C from `top_two_step_paths.parquet`."""
    return query(
        f"""
        SELECT rank, prev, curr, next, first_n, second_n, probability, estimated_n
        FROM {scan(path)} ORDER BY rank LIMIT ?
        """,
        [int(limit)],
    )


# Exits and page search (page_exits: one row per page with views)


def drop_offs(path: Path, min_views: int, limit: int = 50) -> pd.DataFrame:
    """The pages losing the most readers among those with at least `min_views` views, as the
    `page_exits` asset ranks them: page, views, clicks_onward, exits, exit_rate.

    These are the first rows of the file that qualify (it is sorted by exits descending, then
    page); DuckDB stops reading once it has them (insertion order is kept, so the LIMIT takes
    the first rows of the file rather than any).
    """
    with connect() as con:
        con.execute("SET preserve_insertion_order = true")
        return con.execute(
            f"""
            SELECT page, views, clicks_onward, exits, exit_rate FROM {scan(path)}
            WHERE views >= ? LIMIT ?
            """,
            [int(min_views), int(limit)],
        ).df()


def _top_rows(path: Path, column: str, where: str, limit: int) -> pd.DataFrame:
    """The `limit` rows of `page_exits` with the largest `column` (ties by page).

    Two steps: the limit-th largest value is found from the numeric columns alone, then only
    rows at or above it are read with their titles. Decoding the title column of a whole
    month is what costs; DuckDB skips the pages of the file that hold no wanted row.
    """
    table = scan(path)
    with connect() as con:
        row = con.execute(
            f"SELECT {column} FROM {table} WHERE {where} ORDER BY {column} DESC LIMIT 1 OFFSET ?",
            [max(int(limit) - 1, 0)],
        ).fetchone()
        floor = "TRUE" if row is None else f"{column} >= {float(row[0])!r}"
        return con.execute(
            f"""
            SELECT page, views, clicks_onward, exits, exit_rate FROM {table}
            WHERE {where} AND {floor} ORDER BY {column} DESC, page LIMIT ?
            """,
            [int(limit)],
        ).df()


def count_pages(path: Path, min_views: int = 0) -> int:
    """Pages in `page_exits` with at least `min_views` views."""
    with connect() as con:
        sql = f"SELECT COUNT(*) FROM {scan(path)} WHERE views >= ?"
        return con.execute(sql, [int(min_views)]).fetchone()[0]


def top_pages(path: Path, limit: int = 25, with_clicks_onward: bool = False) -> pd.DataFrame:
    """The most viewed pages from `page_exits`, what a page picker offers before any search."""
    return _top_rows(path, "views", "clicks_onward > 0" if with_clicks_onward else "TRUE", limit)


def search_pages(
    exits: Path, index: Path, text: str, limit: int = 25, with_clicks_onward: bool = False
) -> pd.DataFrame:
    """Pages whose title starts with `text`, case-insensitively, the most viewed first.

    Spaces match the underscores of titles; an empty text gives the most viewed pages of
    `page_exits`. The search reads `page_index`, sorted by lower-case title, so only the row
    groups of titles with that prefix are decoded however many millions the month has, and
    only `limit` rows leave DuckDB. Columns: page, views, clicks_onward, exits, exit_rate.
    """
    words = text.strip().replace(" ", "_")
    if not words:
        return top_pages(exits, limit, with_clicks_onward)
    onward = "AND clicks_onward > 0" if with_clicks_onward else ""
    with connect() as con:
        low = con.execute("SELECT lower(?)", [words]).fetchall()[0][0]
        return con.execute(
            f"""
            SELECT page, views, clicks_onward, exits, exit_rate FROM {scan(index)}
            WHERE title_key >= ? AND title_key < ? {onward}
            ORDER BY views DESC, page LIMIT ?
            """,
            [low, prefix_end(low), int(limit)],
        ).df()


def prefix_end(prefix: str) -> str:
    """The smallest string above every string that starts with `prefix` (its last character
    raised by one), so `prefix <= s < prefix_end(prefix)` is a range DuckDB can prune on."""
    head = prefix.rstrip(chr(0x10FFFF))
    if not head:
        return chr(0x10FFFF) * (len(prefix) + 1)
    raised = ord(head[-1]) + 1
    if 0xD800 <= raised <= 0xDFFF:
        raised = 0xE000  # surrogates are not characters of UTF-8 text
    return head[:-1] + chr(raised)


def page_rows(index: Path, pages: Sequence[str]) -> pd.DataFrame:
    """The `page_index` rows of the given pages (those the month has): page, views,
    clicks_onward, exits, exit_rate. Each page is looked up by its key, so DuckDB reads only
    the row groups that can hold one of them."""
    wanted = sorted(set(pages))
    if not wanted:
        return pd.DataFrame(columns=["page", "views", "clicks_onward", "exits", "exit_rate"])
    with connect() as con:
        lower = "SELECT list_distinct(list_transform(?, lambda p: lower(p)))"
        keys = con.execute(lower, [wanted]).fetchall()[0][0]
        allow_long_in_lists(con, len(wanted))
        # Only the key is filtered in DuckDB (a second IN list costs more than it saves); the
        # few titles that share a key with a wanted one are dropped here.
        rows = con.execute(
            f"""
            SELECT page, views, clicks_onward, exits, exit_rate FROM {scan(index)}
            WHERE title_key IN ({sql_list(keys)})
            """
        ).df()
    return rows[rows["page"].isin(wanted)].reset_index(drop=True)


def sql_list(values: Sequence[str]) -> str:
    """String literals for an IN list. Written into the SQL rather than bound, because only a
    list of constants is pushed into the parquet scan to prune row groups."""
    return ", ".join("'" + value.replace("'", "''") + "'" for value in values)


def allow_long_in_lists(con: duckdb.DuckDBPyConnection, values: int) -> None:
    """DuckDB pushes an IN list into the scan only up to `dynamic_or_filter_threshold` values
    (50 by default); lookups of a few thousand keys still prune far more than they cost."""
    con.execute(f"SET dynamic_or_filter_threshold = {max(int(values) + 1, 50)}")


# Funnels and flows (page_transitions: one row per link, sorted by prev)


def next_pages(path: Path, page: str, limit: int = 20) -> pd.DataFrame:
    """Where readers of `page` go next, most likely first: curr, n, probability.

    The file is sorted by prev, so DuckDB reads only the row groups whose range holds `page`.
    """
    return query(
        f"""
        SELECT curr, n, probability FROM {scan(path)}
        WHERE prev = ? ORDER BY n DESC, curr LIMIT ?
        """,
        [page, int(limit)],
    )


def funnel(path: Path, pages: Sequence[str]) -> pd.DataFrame:
    """Step and overall conversion along `pages`, evaluated exactly as the assets define it
    (`analytics.evaluate_funnel` on the `page_transitions` rows of consecutive pairs)."""
    transitions = analytics.transitions_between(Path(path), list(pages))
    return analytics.evaluate_funnel(transitions, list(pages))


def page_inflows(referrers: Path, page: str) -> pd.DataFrame:
    """Every referrer of `page` and its clicks, from `page_referrers`: prev, n.

    The file is sorted by curr, so DuckDB reads only the row groups that hold the page. The
    sum of n is the page's views.
    """
    return query(
        f"""
        SELECT prev, SUM(n) AS n FROM {scan(referrers)}
        WHERE curr = ? GROUP BY prev ORDER BY n DESC, prev
        """,
        [page],
    )


def page_outflows(path: Path, page: str, top: int | None = None) -> pd.DataFrame:
    """The links out of `page` from `page_transitions`, most clicks first: curr, n,
    probability, pages.

    With `top`, only the `top` largest links come one per row; when the page has more, a
    last row stands for all the others (curr empty, n and probability their sums, pages
    their count), so a hub with hundreds of thousands of links sends a few rows to Python.
    Without it, every link has its row (pages 1).
    """
    if top is None:
        return query(
            f"""
            SELECT curr, n, probability, 1 AS pages FROM {scan(path)}
            WHERE prev = ? ORDER BY n DESC, curr
            """,
            [page],
        )
    return query(
        f"""
        WITH links AS (
            SELECT curr, n, probability, ROW_NUMBER() OVER (ORDER BY n DESC, curr) AS rank
            FROM {scan(path)} WHERE prev = $page
        )
        SELECT curr, n, probability, 1 AS pages FROM links WHERE rank <= $top
        UNION ALL
        SELECT NULL, SUM(n), SUM(probability), COUNT(*) FROM links WHERE rank > $top
        HAVING COUNT(*) > 0
        ORDER BY pages, n DESC, curr
        """,
        {"page": page, "top": int(top)},
    )


def source_of(prev: str) -> str:
    """The group of a referrer: search, external, empty, internal, other or article links."""
    return ENTRY_SOURCES.get(prev, ARTICLES)


def source_mix(inflows: pd.DataFrame) -> pd.DataFrame:
    """A page's views by source group, from its inflows: source, n, share (of its views)."""
    sources = inflows.assign(source=inflows["prev"].map(source_of))
    mix = sources.groupby("source", as_index=False)["n"].sum()
    mix = (
        pd.DataFrame({"source": SOURCE_ORDER})
        .merge(mix, on="source", how="left")
        .fillna({"n": 0})
        .astype({"n": "int64"})
    )
    total = mix["n"].sum()
    mix["share"] = mix["n"] / total if total else 0.0
    return mix


def page_flow(
    inflows: pd.DataFrame, outflows: pd.DataFrame, exits: dict, top: int = 8
) -> pd.DataFrame:
    """The traffic into and out of a page, as links for a flow diagram.

    `exits` is the page's row of `page_exits` (views, clicks_onward, exits, exit_rate). Every
    non-article referrer is its own source; the `top` article referrers and destinations are
    named and the rest grouped. Each link's share is of the page's views: n / views on the
    way in, the transition probability on the way out (n / views, capped at 1, as the funnel
    model has it), and the exit rate for the estimated exits.

    Columns: side (`in` or `out`), node, kind, n, share.
    """
    views = int(exits["views"])
    rows = []
    sources = inflows.assign(kind=inflows["prev"].map(source_of))
    referrers = sources[sources["kind"] != ARTICLES]
    for kind, n in referrers.groupby("kind")["n"].sum().items():
        rows.append(("in", kind, kind, int(n), n / views))
    articles = sources[sources["kind"] == ARTICLES]
    for prev, n in articles.head(top)[["prev", "n"]].itertuples(index=False):
        rows.append(("in", prev, ARTICLES, int(n), n / views))
    rest = articles.iloc[top:]
    if len(rest):
        n = int(rest["n"].sum())
        rows.append(("in", f"{len(rest):,} other articles", ARTICLES, n, n / views))

    # `outflows` may end with a row standing for many links (see page_outflows).
    named = outflows[outflows["pages"] == 1].head(top)
    for curr, n, probability in named[["curr", "n", "probability"]].itertuples(index=False):
        rows.append(("out", curr, "next page", int(n), float(probability)))
    others = int(outflows["pages"].sum()) - len(named)
    if others:
        n = int(outflows["n"].sum()) - int(named["n"].sum())
        rows.append(("out", f"{others:,} other pages", "next page", n, min(n / views, 1.0)))
    rows.append(("out", EXIT, "exit", int(exits["exits"]), float(exits["exit_rate"])))

    flow = pd.DataFrame(rows, columns=["side", "node", "kind", "n", "share"])
    return flow[flow["n"] > 0].reset_index(drop=True)


# Raw rows


def sample_rows(parquet: Path, seed: int = 0, rows: int = 100, stretch: int = 5) -> pd.DataFrame:
    """About `rows` raw rows: stretches of `stretch` consecutive rows at random places of one
    randomly drawn row group (see `sample_starts`).

    Staying within one row group lets DuckDB decode that group alone; stretches rather than
    single rows keep neighbours together. `row` is a row's position in the file from 1, its
    line number in the dump.
    """
    groups = pq.ParquetFile(parquet).metadata
    sizes = [groups.row_group(i).num_rows for i in range(groups.num_row_groups)]
    starts = sample_starts(sizes, seed, rows, stretch)
    if not starts:
        return query(f"SELECT 0 AS row, {', '.join(COLUMNS)} FROM {scan(parquet)} LIMIT 0")
    ranges = " OR ".join(
        f"file_row_number BETWEEN {start} AND {start + stretch - 1}" for start in starts
    )
    return query(
        f"""
        SELECT file_row_number + 1 AS row, {", ".join(COLUMNS)} FROM {scan(parquet, True)}
        WHERE {ranges} ORDER BY row LIMIT ?
        """,
        [int(rows)],
    )


def sample_starts(group_sizes: Sequence[int], seed: int, rows: int, stretch: int) -> list[int]:
    """The first positions (from 0) of the stretches `sample_rows` reads: a row group drawn
    at random among the non-empty ones, then enough stretch starts within it, all seeded."""
    rng = random.Random(seed)
    filled = [(i, size) for i, size in enumerate(group_sizes) if size]
    if not filled:
        return []
    index, size = filled[rng.randrange(len(filled))]
    first = sum(group_sizes[:index])
    count = max(1, -(-min(rows, size) // stretch))
    places = range(0, max(size - stretch, 0) + 1, stretch)
    return sorted(first + place for place in rng.sample(places, min(count, len(places))))
