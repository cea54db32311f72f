"""A data profile of one hourly pageview dump: completeness, rejects, projects, pages, bytes."""

from __future__ import annotations

import time
from pathlib import Path

import duckdb
import pyarrow as pa

from clickstream_assets.pageviews.parsing import SCHEMA, ParseStats, iter_pageview_batches


def profile_pageviews(path: Path, top: int = 10, limit: int | None = None) -> dict:
    """Profile a gzip pageview dump (current or legacy format) in one streaming pass.

    `limit` stops after that many records, for a quick look at a large file.
    """
    started = time.monotonic()
    stats = ParseStats()
    batches = iter_pageview_batches(path, stats)
    if limit is not None:
        batches = _take(batches, limit)
    reader = pa.RecordBatchReader.from_batches(SCHEMA, batches)
    with duckdb.connect() as con:
        con.execute("SET enable_progress_bar = false")
        con.execute("SET memory_limit = '2GB'")
        con.register("lines", reader)
        con.execute("CREATE TEMP TABLE pv AS SELECT * FROM lines")
        records, views, bytes_total, zero_sizes, projects, pages = con.execute("""
            SELECT COUNT(*), COALESCE(SUM(count_views), 0), COALESCE(SUM(total_response_size), 0),
                   COUNT(*) FILTER (WHERE total_response_size = 0),
                   COUNT(DISTINCT domain_code), COUNT(DISTINCT (domain_code, page_title))
            FROM pv
        """).fetchone()
        sized_views, sized_bytes = con.execute("""
            SELECT COALESCE(SUM(count_views), 0), COALESCE(SUM(total_response_size), 0)
            FROM pv WHERE total_response_size > 0
        """).fetchone()
        top_projects = con.execute(f"""
            SELECT domain_code, SUM(count_views) AS views, COUNT(*) AS pages
            FROM pv GROUP BY domain_code ORDER BY views DESC, domain_code LIMIT {int(top)}
        """).fetchall()
        top_pages = con.execute(f"""
            SELECT domain_code, page_title, count_views FROM pv
            ORDER BY count_views DESC, domain_code, page_title LIMIT {int(top)}
        """).fetchall()

    non_blank = max(stats.lines - stats.blank_lines, 0)
    return {
        "file": str(path),
        "lines": stats.lines,
        "blank_lines": stats.blank_lines,
        "records": records,
        "rejected": stats.rejected,
        "reject_reasons": dict(stats.reasons.most_common()),
        "reject_examples": [
            {"line_number": r.line_number, "reason": r.reason, "text": r.text}
            for r in stats.rejects[:10]
        ],
        "completeness": records / non_blank if non_blank else 1.0,
        "views": int(views),
        "distinct_projects": projects,
        "distinct_pages": pages,
        "top_projects": [{"project": p, "views": int(v), "pages": n} for p, v, n in top_projects],
        "top_pages": [{"project": p, "page_title": t, "views": int(v)} for p, t, v in top_pages],
        "bytes": {
            "total": int(bytes_total),
            "zero_size_share": zero_sizes / records if records else 0.0,
            "bytes_per_view": sized_bytes / sized_views if sized_views else None,
        },
        "replaced_utf8": stats.replaced_utf8,
        "duration_s": round(time.monotonic() - started, 3),
    }


def _take(batches, limit: int):
    left = limit
    for batch in batches:
        if left <= 0:
            return
        yield batch.slice(0, left)
        left -= batch.num_rows


def render_markdown(profile: dict) -> str:
    """A short readable summary of a pageview profile."""
    per_view = profile["bytes"]["bytes_per_view"]
    lines = [
        f"**{profile['records']:,} records** of {profile['lines']:,} lines "
        f"({profile['blank_lines']:,} blank, {profile['rejected']:,} rejected), "
        f"{profile['views']:,} views, {profile['distinct_projects']:,} projects, "
        f"{profile['distinct_pages']:,} pages",
        "",
        f"bytes: {profile['bytes']['zero_size_share']:.1%} of records have size 0"
        + (f"; {per_view:,.0f} bytes per view where sizes exist" if per_view else ""),
        "",
        "| project | views | pages |",
        "|---|---:|---:|",
        *(f"| {p['project']} | {p['views']:,} | {p['pages']:,} |" for p in profile["top_projects"]),
        "",
        "| project | page | views |",
        "|---|---|---:|",
        *(
            f"| {p['project']} | {p['page_title'].replace('|', chr(92) + '|')} | {p['views']:,} |"
            for p in profile["top_pages"]
        ),
    ]
    if profile["reject_reasons"]:
        lines += ["", "| reject reason | lines |", "|---|---:|"]
        lines += [
            f"| {reason} | {count:,} |" for reason, count in profile["reject_reasons"].items()
        ]
    return "\n".join(lines)
