"""A data profile of one clickstream parquet file, as a dict, markdown and an HTML page."""

from __future__ import annotations

import html
import json
from pathlib import Path

import duckdb

from clickstream_assets.clickstream.analytics import REFERRER_LIST, scan
from clickstream_assets.clickstream.parsing import ENTRY_SOURCES
from clickstream_assets.reporting import write_texts

# Buckets of n by order of magnitude; the dumps drop pairs seen fewer than ten times.
N_BUCKETS = ((0, 10), (10, 100), (100, 1_000), (1_000, 10_000), (10_000, 100_000))


def profile_clickstream(parquet: Path, top: int = 10) -> dict:
    """Row count, type mix, referrer categories, distribution of n, distinct and top pages,
    and duplicate (prev, curr) pairs of a clickstream parquet file."""
    source = scan(parquet)
    with duckdb.connect() as con:
        con.execute("SET memory_limit = '2GB'")
        con.execute("SET enable_progress_bar = false")
        rows, clicks, n_min, n_max, n_mean, p50, p90, p99 = con.execute(f"""
            SELECT COUNT(*), COALESCE(SUM(n), 0), MIN(n), MAX(n), AVG(n),
                   QUANTILE_DISC(n, 0.5), QUANTILE_DISC(n, 0.9), QUANTILE_DISC(n, 0.99)
            FROM {source}
        """).fetchone()
        types = con.execute(f"""
            SELECT type, COUNT(*), SUM(n) FROM {source} GROUP BY type ORDER BY 2 DESC
        """).fetchall()
        referrers = con.execute(f"""
            SELECT CASE WHEN prev IN ({REFERRER_LIST}) THEN prev ELSE 'article' END AS ref,
                   COUNT(*), SUM(n)
            FROM {source} GROUP BY ref ORDER BY 3 DESC
        """).fetchall()
        buckets = [
            (
                low,
                high,
                *con.execute(
                    f"SELECT COUNT(*), COALESCE(SUM(n), 0) FROM {source} WHERE n >= ? AND n < ?",
                    [low, high],
                ).fetchone(),
            )
            for low, high in N_BUCKETS
        ]
        above = con.execute(
            f"SELECT COUNT(*), COALESCE(SUM(n), 0) FROM {source} WHERE n >= ?",
            [N_BUCKETS[-1][1]],
        ).fetchone()
        distinct_curr, distinct_prev = con.execute(f"""
            SELECT COUNT(DISTINCT curr),
                   COUNT(DISTINCT prev) FILTER (WHERE prev NOT IN ({REFERRER_LIST}))
            FROM {source}
        """).fetchone()
        distinct_pages = con.execute(f"""
            SELECT COUNT(*) FROM (
                SELECT curr FROM {source}
                UNION SELECT prev FROM {source} WHERE prev NOT IN ({REFERRER_LIST})
            )
        """).fetchone()[0]
        top_pages = con.execute(f"""
            SELECT curr, SUM(n) AS views FROM {source}
            GROUP BY curr ORDER BY views DESC, curr LIMIT {int(top)}
        """).fetchall()
        duplicates = con.execute(f"""
            SELECT COUNT(*), COALESCE(SUM(copies - 1), 0) FROM (
                SELECT COUNT(*) AS copies FROM {source} GROUP BY prev, curr HAVING COUNT(*) > 1
            )
        """).fetchone()

    def share(part: int, whole: int) -> float:
        return part / whole if whole else 0.0

    return {
        "file": str(parquet),
        "rows": rows,
        "clicks": int(clicks),
        "n": {
            "min": n_min,
            "max": n_max,
            "mean": n_mean,
            "p50": p50,
            "p90": p90,
            "p99": p99,
            "buckets": [
                {"from": low, "to": high, "rows": count, "clicks": int(total)}
                for low, high, count, total in buckets
            ]
            + [{"from": N_BUCKETS[-1][1], "to": None, "rows": above[0], "clicks": int(above[1])}],
        },
        "types": [
            {"type": t, "rows": c, "clicks": int(s), "share_of_rows": share(c, rows)}
            for t, c, s in types
        ],
        "referrers": [
            {
                "referrer": r,
                "source": ENTRY_SOURCES.get(r, "article"),
                "rows": c,
                "clicks": int(s),
                "share_of_clicks": share(int(s), int(clicks)),
            }
            for r, c, s in referrers
        ],
        "distinct": {
            "curr": distinct_curr,
            "prev_articles": distinct_prev,
            "pages": distinct_pages,
        },
        "top_pages": [{"page": p, "views": int(v)} for p, v in top_pages],
        "duplicates": {"pairs": duplicates[0], "extra_rows": int(duplicates[1])},
    }


def render_markdown(profile: dict) -> str:
    """A readable summary of a profile (also used as the asset's metadata preview)."""
    lines = [
        f"**{profile['rows']:,} rows**, {profile['clicks']:,} clicks, "
        f"{profile['distinct']['pages']:,} distinct pages, "
        f"{profile['duplicates']['pairs']:,} duplicate pairs",
        "",
        "| type | rows | share |",
        "|---|---:|---:|",
        *(f"| {t['type']} | {t['rows']:,} | {t['share_of_rows']:.1%} |" for t in profile["types"]),
        "",
        "| referrer | clicks | share |",
        "|---|---:|---:|",
        *(
            f"| {r['referrer']} | {r['clicks']:,} | {r['share_of_clicks']:.1%} |"
            for r in profile["referrers"]
        ),
        "",
        f"n: min {profile['n']['min']}, median {profile['n']['p50']}, "
        f"p90 {profile['n']['p90']}, p99 {profile['n']['p99']}, max {profile['n']['max']}",
        "",
        "| top page | views |",
        "|---|---:|",
        *(f"| {_cell(p['page'])} | {p['views']:,} |" for p in profile["top_pages"]),
    ]
    return "\n".join(lines)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def render_html(profile: dict, title: str) -> str:
    """A standalone HTML page of the profile, for people who open the report file."""

    def table(headers: list[str], rows: list[list]) -> str:
        head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(_fmt(v))}</td>" for v in row) + "</tr>"
            for row in rows
        )
        return f"<table><tr>{head}</tr>{body}</table>"

    sections = [
        f"<h1>{html.escape(title)}</h1>",
        f"<p>{profile['rows']:,} rows, {profile['clicks']:,} clicks, "
        f"{profile['distinct']['pages']:,} distinct pages, "
        f"{profile['duplicates']['pairs']:,} duplicate pairs.</p>",
        "<h2>Types</h2>",
        table(
            ["type", "rows", "clicks"],
            [[t["type"], t["rows"], t["clicks"]] for t in profile["types"]],
        ),
        "<h2>Referrers</h2>",
        table(
            ["referrer", "rows", "clicks"],
            [[r["referrer"], r["rows"], r["clicks"]] for r in profile["referrers"]],
        ),
        "<h2>Distribution of n</h2>",
        table(
            ["from", "to", "rows", "clicks"],
            [[b["from"], b["to"] or "", b["rows"], b["clicks"]] for b in profile["n"]["buckets"]],
        ),
        "<h2>Top pages</h2>",
        table(["page", "views"], [[p["page"], p["views"]] for p in profile["top_pages"]]),
    ]
    style = "body{font-family:sans-serif;margin:2em}td,th{padding:2px 8px;text-align:left}"
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{style}</style></head><body>{''.join(sections)}</body></html>"
    )


def _fmt(value: object) -> str:
    return f"{value:,}" if isinstance(value, int) else str(value)


def write_report(directory: Path, name: str, profile: dict, title: str) -> dict[str, Path]:
    """Write `<name>.json`, `.md` and `.html`; returns their paths."""
    return write_texts(
        directory,
        name,
        {
            "json": json.dumps(profile, indent=2, ensure_ascii=False),
            "md": f"# {title}\n\n{render_markdown(profile)}\n",
            "html": render_html(profile, title),
        },
    )
