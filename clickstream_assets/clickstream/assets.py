"""Clickstream assets: one monthly dump per wiki, its parquet cache, profile and analytics.

Every asset is partitioned by month x wiki and writes files at paths fixed by the partition
(see `settings`), so downstream assets and the dashboard find them without an IO manager.
"""

# No `from __future__ import annotations` here: Dagster reads the Config and resource
# annotations of asset functions at runtime.

import time

import pyarrow as pa
import pyarrow.compute as pc
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    Config,
    MaterializeResult,
    MetadataValue,
    MultiPartitionKey,
    MultiPartitionsDefinition,
    StaticPartitionsDefinition,
    TimeWindowPartitionsDefinition,
    asset,
)
from pydantic import Field

from clickstream_assets import settings
from clickstream_assets.clickstream import analytics
from clickstream_assets.clickstream.parsing import convert_clickstream
from clickstream_assets.clickstream.profile import (
    profile_clickstream,
    render_markdown,
    write_report,
)
from clickstream_assets.reporting import markdown_table
from clickstream_assets.resources.downloads import validate_url
from clickstream_assets.resources.dump_source import DumpSourceResource

GROUP = "clickstream"

clickstream_partitions = MultiPartitionsDefinition(
    {
        # Monthly keys such as 2024-10-01; a month's dump is published early the month after,
        # so the newest key is the last complete month.
        "month": TimeWindowPartitionsDefinition(
            cron_schedule="0 0 1 * *", fmt="%Y-%m-%d", start=settings.CLICKSTREAM_START_MONTH
        ),
        "wiki": StaticPartitionsDefinition(list(settings.CLICKSTREAM_WIKIS)),
    }
)


def partition_of(context: AssetExecutionContext) -> tuple[str, str]:
    """(wiki, month) of the partition being materialized."""
    key = context.partition_key
    if not isinstance(key, MultiPartitionKey):
        raise TypeError(f"expected a month x wiki partition key, got {key!r}")
    dims = key.keys_by_dimension
    return dims["wiki"], dims["month"]


class ClickstreamDumpConfig(Config):
    url: str | None = Field(
        default=None,
        description="Download this http(s) URL instead of the partition's dump, for one run.",
    )
    row_cap: int | None = Field(
        default=None,
        description="Stream only the first N rows (overrides the dump source's row cap).",
    )


@asset(
    group_name=GROUP,
    partitions_def=clickstream_partitions,
    kinds={"http", "gzip"},
)
def clickstream_dump(
    context: AssetExecutionContext, config: ClickstreamDumpConfig, dump_source: DumpSourceResource
) -> MaterializeResult:
    """The month's clickstream dump of one wiki (`clickstream-<wiki>-YYYY-MM.tsv.gz`), as
    published under /other/clickstream/ on the dumps site, saved under the data dir's dumps/.

    Downloads resume after a broken connection and retry politely; a complete earlier
    download of the same URL is kept. With a row cap only the head of the dump is streamed.
    """
    wiki, month = partition_of(context)
    url = (
        validate_url(config.url)
        if config.url
        else dump_source.url_for(settings.clickstream_dump_url_path(wiki, month))
    )
    row_cap = config.row_cap if config.row_cap is not None else dump_source.row_cap
    dest = settings.clickstream_dump_path(wiki, month)

    context.log.info(
        f"downloading {url} to {dest}" + (f" (first {row_cap:,} rows)" if row_cap else "")
    )
    result = dump_source.fetch(url, dest, row_cap=row_cap, logger=context.log)
    verb = "kept existing" if result.skipped else "downloaded"
    context.log.info(f"{verb} {result.bytes:,} bytes at {dest} in {result.duration_s:.1f} s")

    metadata = {
        "url": MetadataValue.url(url),
        "path": MetadataValue.path(str(dest)),
        "bytes": result.bytes,
        "duration_s": round(result.duration_s, 2),
        "attempts": result.attempts,
        "resumed": result.resumed,
        "reused_existing_file": result.skipped,
    }
    if result.rows is not None:
        metadata["dagster/row_count"] = result.rows
        metadata["row_cap"] = row_cap
    return MaterializeResult(metadata=metadata)


class ClickstreamParquetConfig(Config):
    max_bad_lines: int = Field(
        default=0,
        description="Malformed lines tolerated; they go to a quarantine file instead of failing.",
    )


@asset(
    group_name=GROUP,
    partitions_def=clickstream_partitions,
    deps=[clickstream_dump],
    kinds={"parquet", "pyarrow"},
    check_specs=[
        AssetCheckSpec(
            "has_no_quarantined_lines",
            asset="clickstream_parquet",
            description="Every line of the dump parsed; warns when lines went to quarantine.",
        ),
    ],
)
def clickstream_parquet(
    context: AssetExecutionContext, config: ClickstreamParquetConfig
) -> MaterializeResult:
    """The dump as one zstd parquet file with a typed schema (prev, curr, type: string;
    n: int64), at parquet/clickstream/wiki=<wiki>/month=<YYYY-MM>/clickstream.parquet.

    Converted in a streaming pass with bounded memory. Malformed lines fail the run with file,
    line number and reason, unless `max_bad_lines` allows them: then they are quarantined.
    """
    wiki, month = partition_of(context)
    source = settings.clickstream_dump_path(wiki, month)
    if not source.exists():
        raise FileNotFoundError(f"{source} is missing: materialize clickstream_dump first")
    dest = settings.clickstream_parquet_path(wiki, month)
    quarantine = settings.clickstream_quarantine_path(wiki, month)
    progress_step = [1_000_000]

    def report(rows: int) -> None:
        if rows >= progress_step[0]:
            context.log.info(f"converted {rows:,} rows of {source.name}")
            progress_step[0] = rows + 5_000_000

    result = convert_clickstream(
        source, dest, max_bad_lines=config.max_bad_lines, quarantine=quarantine, progress=report
    )
    if not result.bad_lines:
        quarantine.unlink(missing_ok=True)
    context.log.info(
        f"wrote {result.rows:,} rows to {dest} in {result.duration_s:.1f} s "
        f"({result.rows / max(result.duration_s, 1e-9):,.0f} rows/s)"
    )

    metadata = {
        "dagster/row_count": result.rows,
        "path": MetadataValue.path(str(dest)),
        "bytes": result.parquet_bytes,
        "row_groups": result.row_groups,
        "sum_n": result.sum_n,
        "bad_lines": result.bad_lines,
        "duration_s": round(result.duration_s, 2),
    }
    if result.bad_lines:
        metadata["quarantine_path"] = MetadataValue.path(str(quarantine))
    check = AssetCheckResult(
        check_name="has_no_quarantined_lines",
        passed=result.bad_lines == 0,
        severity=AssetCheckSeverity.WARN,
        metadata={"bad_lines": result.bad_lines},
        description=f"{result.bad_lines} malformed lines quarantined in {quarantine}"
        if result.bad_lines
        else "every line of the dump parsed",
    )
    return MaterializeResult(metadata=metadata, check_results=[check])


def _parquet_for(context: AssetExecutionContext):
    wiki, month = partition_of(context)
    parquet = settings.clickstream_parquet_path(wiki, month)
    if not parquet.exists():
        raise FileNotFoundError(f"{parquet} is missing: materialize clickstream_parquet first")
    return wiki, month, parquet


@asset(
    group_name=GROUP,
    partitions_def=clickstream_partitions,
    deps=[clickstream_parquet],
    kinds={"duckdb", "html"},
)
def clickstream_profile(context: AssetExecutionContext) -> MaterializeResult:
    """A data profile of the month: row count, type mix, referrer categories, distribution of
    n, distinct pages, top pages and duplicate pairs. Written as JSON, markdown and HTML under
    reports/clickstream/wiki=<wiki>/month=<YYYY-MM>/."""
    wiki, month, parquet = _parquet_for(context)
    started = time.monotonic()

    profile = profile_clickstream(parquet)
    paths = write_report(
        settings.clickstream_report_dir(wiki, month),
        "profile",
        profile,
        f"Clickstream profile: {wiki} {month[:7]}",
    )
    context.log.info(f"profiled {profile['rows']:,} rows of {parquet}; report at {paths['html']}")

    return MaterializeResult(
        metadata={
            "dagster/row_count": profile["rows"],
            "clicks": profile["clicks"],
            "distinct_pages": profile["distinct"]["pages"],
            "duplicate_pairs": profile["duplicates"]["pairs"],
            "report_html": MetadataValue.path(str(paths["html"])),
            "report_json": MetadataValue.path(str(paths["json"])),
            "preview": MetadataValue.md(render_markdown(profile)),
            "duration_s": round(time.monotonic() - started, 2),
        }
    )


class RankingConfig(Config):
    limit: int = Field(default=100, description="Rows kept per ranking.")


@asset(
    group_name=GROUP,
    partitions_def=clickstream_partitions,
    deps=[clickstream_parquet],
    kinds={"duckdb", "parquet"},
)
def top_entry_pages(context: AssetExecutionContext, config: RankingConfig) -> MaterializeResult:
    """The pages readers enter the wiki on, ranked per entry source (search, external, empty,
    internal, other) and over all sources, with each page's share of the source's clicks.
    Parquet under analytics/clickstream/wiki=<wiki>/month=<YYYY-MM>/top_entry_pages.parquet."""
    wiki, month, parquet = _parquet_for(context)
    started = time.monotonic()

    table = analytics.rank_entry_pages(parquet, limit=config.limit)
    dest = settings.clickstream_analytics_path("top_entry_pages", wiki, month)
    analytics.write_table(table, dest)

    overall = table.filter(pc.equal(table.column("source"), "all"))
    return _ranking_result(context, dest, table.num_rows, overall, started)


@asset(
    group_name=GROUP,
    partitions_def=clickstream_partitions,
    deps=[clickstream_parquet],
    kinds={"duckdb", "parquet"},
)
def top_navigation_paths(
    context: AssetExecutionContext, config: RankingConfig
) -> MaterializeResult:
    """The most travelled article-to-article links, and the most travelled two-step paths
    A -> B -> C (estimated as n(A -> B) x P(B -> C)). Two parquet files beside the other
    analytics: top_navigation_paths.parquet and top_two_step_paths.parquet."""
    wiki, month, parquet = _parquet_for(context)
    started = time.monotonic()

    links = analytics.rank_navigation_paths(parquet, limit=config.limit)
    two_step = analytics.rank_two_step_paths(parquet, limit=config.limit)
    dest = settings.clickstream_analytics_path("top_navigation_paths", wiki, month)
    two_step_dest = settings.clickstream_analytics_path("top_two_step_paths", wiki, month)
    analytics.write_table(links, dest)
    analytics.write_table(two_step, two_step_dest)

    result = _ranking_result(context, dest, links.num_rows, links, started)
    result.metadata["two_step_path"] = MetadataValue.path(str(two_step_dest))
    result.metadata["two_step_preview"] = MetadataValue.md(markdown_table(two_step))
    return result


def _ranking_result(
    context: AssetExecutionContext, dest, rows: int, preview: pa.Table, started: float
) -> MaterializeResult:
    duration = time.monotonic() - started
    context.log.info(f"wrote {rows:,} rows to {dest} in {duration:.1f} s")
    return MaterializeResult(
        metadata={
            "dagster/row_count": rows,
            "path": MetadataValue.path(str(dest)),
            "preview": MetadataValue.md(markdown_table(preview)),
            "duration_s": round(duration, 2),
        }
    )


class PageExitsConfig(Config):
    min_views: int = Field(
        default=1_000,
        description="Pages with fewer views are left out of the drop-off preview.",
    )


@asset(
    group_name=GROUP,
    partitions_def=clickstream_partitions,
    deps=[clickstream_parquet],
    kinds={"duckdb", "parquet"},
    check_specs=[
        AssetCheckSpec(
            "has_exit_rates_between_zero_and_one",
            asset="page_exits",
            description="Every exit rate is a share: no page loses more readers than it has.",
        )
    ],
)
def page_exits(context: AssetExecutionContext, config: PageExitsConfig) -> MaterializeResult:
    """Per page: views (clicks into it), clicks onward to other articles, estimated exits
    (views - clicks onward, floored at 0) and exit rate. The drop-offs are the pages with
    the most exits among those with at least `min_views` views. page_exits.parquet."""
    wiki, month, parquet = _parquet_for(context)
    started = time.monotonic()

    dest = settings.clickstream_analytics_path("page_exits", wiki, month)
    rows = analytics.write_query(analytics.exits_sql(parquet), dest)
    summary = analytics.summarize_exits(dest, config.min_views)

    result = _ranking_result(context, dest, rows, summary["drop_offs"], started)
    result.metadata["min_views"] = config.min_views
    result.metadata["pages_with_min_views"] = summary["pages_with_min_views"]
    check = AssetCheckResult(
        check_name="has_exit_rates_between_zero_and_one",
        passed=summary["rates_out_of_range"] == 0,
        metadata={"rates_out_of_range": summary["rates_out_of_range"]},
    )
    return MaterializeResult(metadata=result.metadata, check_results=[check])


@asset(
    group_name=GROUP,
    partitions_def=clickstream_partitions,
    deps=[clickstream_parquet],
    kinds={"duckdb", "parquet"},
    check_specs=[
        AssetCheckSpec(
            "has_probabilities_between_zero_and_one",
            asset="page_transitions",
            description="Every transition probability is in [0, 1], so funnels multiply sanely.",
        )
    ],
)
def page_transitions(context: AssetExecutionContext) -> MaterializeResult:
    """The funnel model: for every article-to-article link A -> B, n, views(A) and the
    transition probability n(A -> B) / views(A), capped at 1. A funnel's conversion is the
    product of the probabilities along its pages (`analytics.evaluate_funnel`).
    page_transitions.parquet, sorted by prev so a lookup of one page reads little."""
    wiki, month, parquet = _parquet_for(context)
    started = time.monotonic()

    dest = settings.clickstream_analytics_path("page_transitions", wiki, month)
    rows = analytics.write_query(analytics.transitions_sql(parquet), dest, 16_384)
    summary = analytics.summarize_transitions(dest)

    result = _ranking_result(context, dest, rows, summary["top"], started)
    check = AssetCheckResult(
        check_name="has_probabilities_between_zero_and_one",
        passed=summary["out_of_range"] == 0,
        metadata={"out_of_range": summary["out_of_range"]},
    )
    return MaterializeResult(metadata=result.metadata, check_results=[check])


@asset(
    group_name=GROUP,
    partitions_def=clickstream_partitions,
    deps=[clickstream_parquet],
    kinds={"duckdb", "parquet"},
    check_specs=[
        AssetCheckSpec(
            "has_every_row_of_the_month",
            asset="page_referrers",
            description="The same rows and clicks as the month's clickstream_parquet.",
        )
    ],
)
def page_referrers(context: AssetExecutionContext) -> MaterializeResult:
    """The month's rows ordered by the page they lead to, most clicks first: where the readers
    of any page came from, readable for one page without scanning the month (the dashboard's
    flow diagram and source mix). page_referrers.parquet."""
    wiki, month, parquet = _parquet_for(context)
    started = time.monotonic()

    dest = settings.clickstream_analytics_path("page_referrers", wiki, month)
    rows = analytics.write_query(analytics.referrers_sql(parquet), dest)
    totals = analytics.compare_totals(parquet, dest)

    result = _ranking_result(context, dest, rows, totals["preview"], started)
    check = _same_totals_check("has_every_row_of_the_month", totals, "month", "clicks")
    return MaterializeResult(metadata=result.metadata, check_results=[check])


@asset(
    group_name=GROUP,
    partitions_def=clickstream_partitions,
    deps=[page_exits],
    kinds={"duckdb", "parquet"},
    check_specs=[
        AssetCheckSpec(
            "has_every_page_of_page_exits",
            asset="page_index",
            description="One row per page of page_exits, with the same views.",
        )
    ],
)
def page_index(context: AssetExecutionContext) -> MaterializeResult:
    """Every page of page_exits with its views, clicks onward and exits, ordered by its
    lower-case title: the dashboard's page pickers search it by prefix, and comparisons look
    pages up in it, without reading millions of titles. page_index.parquet."""
    wiki, month, _ = _parquet_for(context)
    exits = settings.clickstream_analytics_path("page_exits", wiki, month)
    if not exits.exists():
        raise FileNotFoundError(f"{exits} is missing: materialize page_exits first")
    started = time.monotonic()

    dest = settings.clickstream_analytics_path("page_index", wiki, month)
    # Small groups: a lookup of a few hundred pages decodes a few hundred small groups.
    rows = analytics.write_query(analytics.page_index_sql(exits), dest, 8_192)
    totals = analytics.compare_totals(exits, dest, "views")

    result = _ranking_result(context, dest, rows, totals["preview"], started)
    check = _same_totals_check("has_every_page_of_page_exits", totals, "page_exits", "views")
    return MaterializeResult(metadata=result.metadata, check_results=[check])


def _same_totals_check(name: str, totals: dict, source: str, measure: str) -> AssetCheckResult:
    """Passes when a reordered copy has the rows and the sum of `measure` of its source
    (`analytics.compare_totals`)."""
    (source_rows, rows), (source_sum, total) = totals["rows"], totals["sums"]
    return AssetCheckResult(
        check_name=name,
        passed=source_rows == rows and source_sum == total,
        metadata={
            f"{source}_rows": source_rows,
            "rows": rows,
            f"{source}_{measure}": source_sum,
            measure: total,
        },
    )


clickstream_assets = [
    clickstream_dump,
    clickstream_parquet,
    clickstream_profile,
    top_entry_pages,
    top_navigation_paths,
    page_exits,
    page_transitions,
    page_referrers,
    page_index,
]
