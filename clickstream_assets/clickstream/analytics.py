"""Entry pages, navigation paths, exits and funnel transitions from a clickstream parquet file.

Every function runs DuckDB over the parquet file, so a full English month (30M+ rows) is
aggregated out of core with bounded memory, and returns an Arrow table.

Definitions (the dashboard reads these results and never recomputes them):

- A page's *views* are the clicks into it from every referrer (the sum of `n` where it is
  `curr`). The dumps drop pairs seen fewer than ten times, so this undercounts slightly.
- Its *clicks onward* are the clicks from it to other articles (`prev` is the page).
- Its *exits* are views minus clicks onward, floored at 0, and its *exit rate* exits / views.
  The dumps have no exit rows: `prev = other-other` is a referrer and never a `curr`.
- The *transition probability* A -> B is n(A -> B) / views(A), capped at 1 (dropped rare pairs
  can make the clicks out of a page exceed the clicks into it). A funnel's conversion at a
  step is the product of the probabilities along the path.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Sequence
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from clickstream_assets.clickstream.parsing import ENTRY_SOURCES, REFERRERS

REFERRER_LIST = ", ".join(f"'{r}'" for r in REFERRERS)
# Rows per row group of the files the dashboard looks rows up in: small enough that one
# lookup decodes little, large enough that the footer of a 30M-row file stays small.
LOOKUP_ROW_GROUP = 32_768
_SOURCE_CASE = (
    "CASE prev "
    + " ".join(f"WHEN '{ref}' THEN '{name}'" for ref, name in ENTRY_SOURCES.items())
    + " END"
)


def _connect(memory_limit: str = "2GB") -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(f"SET memory_limit = '{memory_limit}'")
    con.execute("SET preserve_insertion_order = false")
    con.execute("SET enable_progress_bar = false")
    return con


def scan(parquet: Path) -> str:
    return f"read_parquet('{Path(parquet).as_posix()}')"


def rank_entry_pages(parquet: Path, limit: int = 100) -> pa.Table:
    """The top `limit` entry pages per entry source, and over all sources (`source = 'all'`).

    Columns: source, rank, curr, n, share (of that source's clicks).
    """
    sql = f"""
        WITH entries AS (
            SELECT {_SOURCE_CASE} AS source, curr, SUM(n) AS n
            FROM {scan(parquet)}
            WHERE prev IN ({REFERRER_LIST})
            GROUP BY ALL
        ), combined AS (
            SELECT source, curr, n FROM entries
            UNION ALL
            SELECT 'all' AS source, curr, SUM(n) AS n FROM entries GROUP BY curr
        ), ranked AS (
            SELECT source, curr, n,
                   n / SUM(n) OVER (PARTITION BY source) AS share,
                   ROW_NUMBER() OVER (PARTITION BY source ORDER BY n DESC, curr) AS rank
            FROM combined
        )
        SELECT source, rank, curr, n, share FROM ranked
        WHERE rank <= {int(limit)}
        ORDER BY source, rank
    """
    with _connect() as con:
        return con.sql(sql).arrow().read_all()


def rank_navigation_paths(parquet: Path, limit: int = 100) -> pa.Table:
    """The most travelled article-to-article links. Columns: rank, prev, curr, type, n."""
    sql = f"""
        SELECT ROW_NUMBER() OVER (ORDER BY n DESC, prev, curr) AS rank, prev, curr, type, n
        FROM {scan(parquet)}
        WHERE prev NOT IN ({REFERRER_LIST})
        ORDER BY n DESC, prev, curr
        LIMIT {int(limit)}
    """
    with _connect() as con:
        return con.sql(sql).arrow().read_all()


def rank_two_step_paths(parquet: Path, limit: int = 100) -> pa.Table:
    """The most travelled paths A -> B -> C, estimated as n(A -> B) * P(B -> C).

    The estimate of a path never exceeds its first hop, so only first hops at least as large
    as the `limit`-th best estimate can reach the top: the candidates are widened until the
    smallest first hop considered is below that estimate, which makes the ranking exact
    without joining every pair with every pair.

    Columns: rank, prev, curr, next, first_n, second_n, probability, estimated_n.
    """
    with _connect() as con:
        _create_transitions(con, parquet)
        candidates = max(1_000, limit * 10)
        while True:
            result = (
                con.sql(f"""
                WITH first AS (
                    SELECT prev, curr, n FROM transitions ORDER BY n DESC LIMIT {candidates}
                ), paths AS (
                    SELECT f.prev, f.curr, t.curr AS next, f.n AS first_n, t.n AS second_n,
                           t.probability, f.n * t.probability AS estimated_n
                    FROM first f JOIN transitions t ON t.prev = f.curr
                    WHERE t.curr <> f.prev
                )
                SELECT ROW_NUMBER() OVER (ORDER BY estimated_n DESC, prev, curr, next) AS rank, *
                FROM paths ORDER BY rank LIMIT {int(limit)}
            """)
                .arrow()
                .read_all()
            )
            # fetchall, not fetchone: a half-read result blocks the next query's arrow().
            ((total, smallest),) = con.execute(f"""
                SELECT (SELECT COUNT(*) FROM transitions),
                       (SELECT MIN(n) FROM (SELECT n FROM transitions
                                            ORDER BY n DESC LIMIT {candidates}))
            """).fetchall()
            if candidates >= total or result.num_rows < limit:
                return result
            if smallest is None or smallest < result.column("estimated_n")[-1].as_py():
                return result
            candidates *= 10


def _create_transitions(con: duckdb.DuckDBPyConnection, parquet: Path) -> None:
    unordered = transitions_sql(parquet).rsplit("ORDER BY", 1)[0]
    con.execute(f"CREATE OR REPLACE TEMP TABLE transitions AS {unordered}")


def exits_sql(parquet: Path) -> str:
    """Per page: views, clicks onward, estimated exits and exit rate (see the module doc).

    Columns: page, views, clicks_onward, exits, exit_rate, sorted by exits descending.
    """
    return f"""
        WITH clicks AS (SELECT prev, curr, n FROM {scan(parquet)}),
        views AS (SELECT curr AS page, SUM(n) AS views FROM clicks GROUP BY curr),
        onward AS (
            SELECT prev AS page, SUM(n) AS clicks_onward FROM clicks
            WHERE prev NOT IN ({REFERRER_LIST}) GROUP BY prev
        )
        SELECT v.page, v.views, COALESCE(o.clicks_onward, 0) AS clicks_onward,
               GREATEST(v.views - COALESCE(o.clicks_onward, 0), 0) AS exits,
               GREATEST(v.views - COALESCE(o.clicks_onward, 0), 0) / v.views AS exit_rate
        FROM views v LEFT JOIN onward o USING (page)
        ORDER BY exits DESC, page
    """


def transitions_sql(parquet: Path) -> str:
    """Article-to-article transition probabilities, the model funnels are evaluated on.

    Columns: prev, curr, type, n, prev_views, probability; sorted by prev, then n descending,
    so a reader filtering on `prev` touches few row groups.
    """
    return f"""
        WITH views AS (
            SELECT curr AS page, SUM(n) AS views FROM {scan(parquet)} GROUP BY curr
        )
        SELECT c.prev, c.curr, c.type, c.n, v.views AS prev_views,
               LEAST(c.n / v.views, 1.0) AS probability
        FROM {scan(parquet)} c JOIN views v ON v.page = c.prev
        WHERE c.prev NOT IN ({REFERRER_LIST})
        ORDER BY c.prev, c.n DESC, c.curr
    """


def referrers_sql(parquet: Path) -> str:
    """The month's rows ordered by the page they lead to (`curr`), most clicks first.

    Columns: curr, prev, type, n. Written in small row groups, a reader asking for the
    referrers of one page touches one or two of them instead of the whole month.
    """
    return f"SELECT curr, prev, type, n FROM {scan(parquet)} ORDER BY curr, n DESC, prev, type"


def page_index_sql(exits_parquet: Path) -> str:
    """Every page of `page_exits` with its figures, ordered by its lower-case title.

    Columns: title_key (the title in lower case), page, views, clicks_onward, exits,
    exit_rate. A title search by prefix, or a lookup of given pages, reads only the row
    groups whose key range holds them.
    """
    return f"""
        SELECT lower(page) AS title_key, page, views, clicks_onward, exits, exit_rate
        FROM {scan(exits_parquet)} ORDER BY title_key, page
    """


def write_query(sql: str, dest: Path, row_group_size: int = LOOKUP_ROW_GROUP) -> int:
    """Run a query straight into a zstd parquet file, atomically; returns its row count.

    DuckDB streams (and spills) the result, so no table of the result lives in Python. Row
    groups are small because the files are read by lookups: statistics per row group let a
    reader skip every group whose range cannot hold the rows it wants.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    try:
        with _connect() as con:
            con.execute(
                f"COPY ({sql}) TO '{tmp.as_posix()}' "
                f"(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE {int(row_group_size)})"
            )
            rows = con.execute(f"SELECT COUNT(*) FROM {scan(tmp)}").fetchone()[0]
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, dest)
    return rows


def drop_offs(exits: pd.DataFrame, min_views: int, limit: int = 50) -> pd.DataFrame:
    """The pages losing the most readers, among pages with at least `min_views` views."""
    kept = exits[exits["views"] >= min_views]
    return kept.sort_values(["exits", "page"], ascending=[False, True]).head(limit)


def evaluate_funnel(
    transitions: pd.DataFrame, pages: Sequence[str], first_views: int | None = None
) -> pd.DataFrame:
    """Step and overall conversion of a funnel over `pages`, from transition probabilities.

    `transitions` needs the rows (prev, curr, probability, prev_views) for consecutive pairs of
    `pages`; any other rows are ignored, so a caller can pass a pre-filtered slice. A missing
    pair converts with probability 0. Columns of the result: step, page, step_conversion,
    overall_conversion, estimated_readers.
    """
    if len(pages) < 2:
        raise ValueError(f"a funnel needs at least two pages, got {list(pages)}")
    lookup = {
        (row.prev, row.curr): (float(row.probability), int(row.prev_views))
        for row in transitions.itertuples(index=False)
    }
    if first_views is None:
        first_views = lookup.get((pages[0], pages[1]), (0.0, 0))[1]
    rows = [(1, pages[0], 1.0, 1.0, float(first_views))]
    overall = 1.0
    for step, (prev, curr) in enumerate(itertools.pairwise(pages), start=2):
        probability = lookup.get((prev, curr), (0.0, 0))[0]
        overall *= probability
        rows.append((step, curr, probability, overall, first_views * overall))
    columns = ["step", "page", "step_conversion", "overall_conversion", "estimated_readers"]
    return pd.DataFrame(rows, columns=columns)


def transitions_between(transitions_parquet: Path, pages: Sequence[str]) -> pd.DataFrame:
    """Read only the transition rows for consecutive pairs of `pages` from the asset file."""
    pairs = list(itertools.pairwise(pages))
    if not pairs:
        return pd.DataFrame(columns=["prev", "curr", "probability", "prev_views"])
    with _connect() as con:
        con.execute("CREATE TEMP TABLE wanted (prev VARCHAR, curr VARCHAR)")
        con.executemany("INSERT INTO wanted VALUES (?, ?)", pairs)
        return con.sql(f"""
            SELECT t.prev, t.curr, t.probability, t.prev_views
            FROM {scan(transitions_parquet)} t JOIN wanted USING (prev, curr)
        """).df()


def write_table(table: pa.Table, dest: Path) -> None:
    """Write a small result table as zstd parquet, atomically."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    try:
        pq.write_table(table, tmp, compression="zstd")
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, dest)


def summarize_exits(exits_parquet: Path, min_views: int, limit: int = 10) -> dict:
    """The biggest drop-offs among pages with at least `min_views` views, and sanity counts."""
    with _connect() as con:
        drop = (
            con.sql(f"""
            SELECT page, views, clicks_onward, exits, exit_rate FROM {scan(exits_parquet)}
            WHERE views >= {int(min_views)} ORDER BY exits DESC, page LIMIT {int(limit)}
        """)
            .arrow()
            .read_all()
        )
        kept, out_of_range = con.execute(f"""
            SELECT COUNT(*) FILTER (WHERE views >= {int(min_views)}),
                   COUNT(*) FILTER (WHERE exit_rate < 0 OR exit_rate > 1 OR exit_rate IS NULL)
            FROM {scan(exits_parquet)}
        """).fetchone()
    return {"drop_offs": drop, "pages_with_min_views": kept, "rates_out_of_range": out_of_range}


def summarize_transitions(transitions_parquet: Path, limit: int = 10) -> dict:
    """The most frequent transitions and the count of probabilities outside [0, 1]."""
    with _connect() as con:
        top = (
            con.sql(f"""
            SELECT prev, curr, n, prev_views, probability FROM {scan(transitions_parquet)}
            ORDER BY n DESC, prev, curr LIMIT {int(limit)}
        """)
            .arrow()
            .read_all()
        )
        out_of_range = con.execute(f"""
            SELECT COUNT(*) FROM {scan(transitions_parquet)}
            WHERE probability < 0 OR probability > 1 OR probability IS NULL
        """).fetchone()[0]
    return {"top": top, "out_of_range": out_of_range}


def compare_totals(source: Path, derived: Path, column: str = "n") -> dict:
    """Rows and the sum of `column` in a file and in the file derived from it (a reordering
    must keep both), as (source, derived) pairs under `rows` and `sums`, and the derived
    file's first rows as a preview."""
    with _connect() as con:
        totals = [
            con.execute(
                f"SELECT COUNT(*), COALESCE(SUM({column}), 0) FROM {scan(path)}"
            ).fetchall()[0]
            for path in (source, derived)
        ]
        preview = con.sql(f"SELECT * FROM {scan(derived)} LIMIT 10").arrow().read_all()
    return {
        "rows": (totals[0][0], totals[1][0]),
        "sums": (int(totals[0][1]), int(totals[1][1])),
        "preview": preview,
    }
