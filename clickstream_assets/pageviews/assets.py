"""Pageview assets: the hour's dump, its profile, and its publication to Kafka.

Partitioned hourly (`2024-10-01-13:00`); the hour of a partition is the hour named in the
dump's file name, in UTC, and it is the event time of every record published from it.
"""

# No `from __future__ import annotations` here: Dagster reads the Config and resource
# annotations of asset functions at runtime.

import json
import time
from datetime import UTC, datetime

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetRecordsFilter,
    Config,
    HourlyPartitionsDefinition,
    MaterializeResult,
    MetadataValue,
    asset,
)
from pydantic import Field

from clickstream_assets import settings
from clickstream_assets.pageviews.parsing import ParseStats
from clickstream_assets.pageviews.profile import profile_pageviews, render_markdown
from clickstream_assets.pageviews.publish import DEFAULT_PROCESSES, hour_text, publish_dump
from clickstream_assets.reporting import write_texts
from clickstream_assets.resources.downloads import validate_url
from clickstream_assets.resources.dump_source import DumpSourceResource
from clickstream_assets.resources.kafka import KafkaResource

GROUP = "pageviews"

# A dump for hour H is complete once H is over; end_offset=0 makes the newest partition the
# last complete hour, and the schedule runs late in the following hour to allow for the delay
# with which the dumps site publishes it.
pageview_partitions = HourlyPartitionsDefinition(
    start_date=settings.PAGEVIEW_START_HOUR, timezone="UTC"
)


def hour_of_partition(context: AssetExecutionContext) -> datetime:
    return datetime.strptime(context.partition_key, "%Y-%m-%d-%H:%M").replace(tzinfo=UTC)


class PageviewDumpConfig(Config):
    url: str | None = Field(
        default=None, description="Download this http(s) URL instead of the hour's dump."
    )


@asset(group_name=GROUP, partitions_def=pageview_partitions, kinds={"http", "gzip"})
def pageview_dump(
    context: AssetExecutionContext, config: PageviewDumpConfig, dump_source: DumpSourceResource
) -> MaterializeResult:
    """The hour's pageview dump (`pageviews-YYYYMMDD-HH0000.gz`, all wikis) from
    /other/pageviews/ on the dumps site, saved under the data dir's dumps/pageviews/.
    Same downloader as the clickstream: retries, Range resume, gzip check, atomic rename."""
    hour = hour_of_partition(context)
    url = (
        validate_url(config.url)
        if config.url
        else dump_source.url_for(settings.pageview_dump_url_path(hour))
    )
    dest = settings.pageview_dump_path(hour)

    result = dump_source.fetch(url, dest, logger=context.log)
    verb = "kept existing" if result.skipped else "downloaded"
    context.log.info(f"{verb} {result.bytes:,} bytes at {dest} in {result.duration_s:.1f} s")

    return MaterializeResult(
        metadata={
            "url": MetadataValue.url(url),
            "path": MetadataValue.path(str(dest)),
            "bytes": result.bytes,
            "hour": hour_text(hour),
            "duration_s": round(result.duration_s, 2),
            "attempts": result.attempts,
            "reused_existing_file": result.skipped,
        }
    )


def _dump_for(context: AssetExecutionContext):
    hour = hour_of_partition(context)
    path = settings.pageview_dump_path(hour)
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: materialize pageview_dump first")
    return hour, path


@asset(
    group_name=GROUP,
    partitions_def=pageview_partitions,
    deps=[pageview_dump],
    kinds={"duckdb", "json"},
    check_specs=[
        AssetCheckSpec(
            "has_no_rejected_lines",
            asset="pageview_profile",
            description="Every non-blank line parsed; warns with the reasons when some did not.",
        )
    ],
)
def pageview_profile(context: AssetExecutionContext) -> MaterializeResult:
    """A profile of the hour: lines parsed, blank and rejected (with reasons), completeness,
    distinct projects and pages, top projects and pages by views, and byte sanity (share of
    zero sizes, bytes per view where sizes exist). JSON and markdown under reports/pageviews/.
    Reads both the current format and legacy pagecounts-raw."""
    hour, path = _dump_for(context)

    profile = profile_pageviews(path)
    paths = write_texts(
        settings.pageview_report_dir(hour),
        settings.pageview_report_name(hour),
        {
            "json": json.dumps(profile, indent=2, ensure_ascii=False),
            "md": f"# Pageviews {hour_text(hour)}\n\n{render_markdown(profile)}\n",
        },
    )
    context.log.info(
        f"profiled {profile['records']:,} records of {path} in {profile['duration_s']:.1f} s; "
        f"report at {paths['json']}"
    )

    check = AssetCheckResult(
        check_name="has_no_rejected_lines",
        passed=profile["rejected"] == 0,
        severity=AssetCheckSeverity.WARN,
        metadata={"rejected": profile["rejected"], "reasons": profile["reject_reasons"]},
    )
    return MaterializeResult(
        metadata={
            "dagster/row_count": profile["records"],
            "lines": profile["lines"],
            "blank_lines": profile["blank_lines"],
            "rejected": profile["rejected"],
            "views": profile["views"],
            "distinct_projects": profile["distinct_projects"],
            "distinct_pages": profile["distinct_pages"],
            "zero_size_share": round(profile["bytes"]["zero_size_share"], 4),
            "report_json": MetadataValue.path(str(paths["json"])),
            "preview": MetadataValue.md(render_markdown(profile)),
            "duration_s": profile["duration_s"],
        },
        check_results=[check],
    )


class PageviewTopicConfig(Config):
    republish: bool = Field(
        default=False,
        description="Publish an hour that was already published (Kafka is append-only; the "
        "RAW load skips the duplicates).",
    )
    producer_processes: int = Field(
        default=DEFAULT_PROCESSES,
        ge=1,
        le=16,
        description="Producer processes for a full hour (this process parses, they encode and "
        "produce). Hours under 16 MB compressed use one producer in the run's own process.",
    )


def already_published(context: AssetExecutionContext) -> bool:
    records = context.instance.fetch_materializations(
        AssetRecordsFilter(
            asset_key=AssetKey("pageview_topic"), asset_partitions=[context.partition_key]
        ),
        limit=1,
    )
    return bool(records.records)


@asset(group_name=GROUP, partitions_def=pageview_partitions, deps=[pageview_dump], kinds={"kafka"})
def pageview_topic(
    context: AssetExecutionContext, config: PageviewTopicConfig, kafka: KafkaResource
) -> MaterializeResult:
    """The hour's records published to the Kafka topic (`pageviews` by default): key =
    project, JSON value {project, page_title, views, bytes, hour}, headers source_file,
    line_number and hour. The event time is in the value; the Kafka timestamp is the time of
    production, so retention never deletes a historical hour on arrival."""
    hour, path = _dump_for(context)
    if already_published(context) and not config.republish:
        raise RuntimeError(
            f"hour {context.partition_key} was already published to {kafka.topic!r}; Kafka is "
            "append-only, so publishing again adds a second copy. Set republish: true in the "
            "run config to do it anyway (the RAW load is idempotent and skips the copies)."
        )
    created = kafka.ensure_topic()
    if created:
        context.log.info(f"created topic {kafka.topic} with {kafka.partitions} partitions")
    started = time.monotonic()
    stats = ParseStats()
    next_report = [1_000_000]

    def report(messages: int) -> None:
        if messages >= next_report[0]:
            context.log.info(f"published {messages:,} messages from {path.name}")
            next_report[0] += 1_000_000

    result, processes = publish_dump(
        kafka, path, hour, processes=config.producer_processes, stats=stats, progress=report
    )
    duration = time.monotonic() - started
    rate = result.messages / max(duration, 1e-9)
    context.log.info(
        f"published {result.messages:,} messages to {kafka.topic} at {kafka.describe()} "
        f"in {duration:.1f} s ({rate:,.0f} msg/s, {processes} producer process(es))"
    )

    offsets = {str(p): {"first": lo, "last": hi} for p, (lo, hi) in sorted(result.offsets.items())}
    if result.foreign_records:
        context.log.warning(
            f"another producer wrote {result.foreign_records:,} records to {kafka.topic} while "
            "this hour was published; the offset ranges include them"
        )
    return MaterializeResult(
        metadata={
            "dagster/row_count": result.messages,
            "topic": kafka.topic,
            "messages": result.messages,
            "value_bytes": result.value_bytes,
            "rejected_lines": stats.rejected,
            "blank_lines": stats.blank_lines,
            "offsets": MetadataValue.json(offsets),
            "foreign_records_in_offsets": result.foreign_records,
            "messages_per_s": round(rate),
            "producer_processes": processes,
            "duration_s": round(duration, 2),
            "hour": hour_text(hour),
        }
    )


pageview_assets = [pageview_dump, pageview_profile, pageview_topic]
