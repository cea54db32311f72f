"""The Spark sessionizer as an asset: SESSION_METRICS, and the checks that query it.

`session_metrics` is unpartitioned and incremental: each run goes on from its Spark
checkpoint, so the sensor in `sensors.py` asks for a run whenever the topic has grown.
"""

# No `from __future__ import annotations` here: Dagster reads the Config and resource
# annotations of asset functions at runtime.

import pyarrow as pa
from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetExecutionContext,
    Config,
    MaterializeResult,
    MetadataValue,
    asset,
    asset_check,
)
from dagster_pyspark import PySparkResource
from pydantic import Field

from clickstream_assets.pageviews.assets import pageview_topic
from clickstream_assets.reporting import markdown_table
from clickstream_assets.resources.kafka import KafkaResource
from clickstream_assets.resources.warehouse import POOL, WarehouseResource
from clickstream_assets.sessions.runner import (
    checkpoint_location,
    forget_checkpoint,
    run_backfill,
    run_stream,
)
from clickstream_assets.sessions.sessionize import duration_seconds
from clickstream_assets.sessions.store import (
    SESSIONS_TABLE,
    TRUNCATE_CONFIRMATION,
    session_summary,
    truncate_sessions,
)
from clickstream_assets.warehouse.assets import raw_pageviews
from clickstream_assets.warehouse.runner import count_row, ensure_bootstrapped

GROUP = "sessions"


class SessionMetricsConfig(Config):
    gap: str = Field(
        default="10 minutes",
        description="Inactivity that ends a session (Spark interval, e.g. '10 minutes').",
    )
    watermark: str = Field(
        default="15 minutes",
        description="How late an event may arrive, behind the newest event time seen, and "
        "still count; older events are dropped and reported.",
    )
    # Unset by default: every event of an hour shares one event time, so when a run is split
    # into micro-batches, a partition that reaches the next hour first moves the watermark past
    # the older hour's events still waiting in other partitions, and those are dropped as late.
    max_offsets_per_trigger: int | None = Field(
        default=None,
        gt=0,
        description="Messages per micro-batch (Spark's maxOffsetsPerTrigger); unset: one "
        "micro-batch per run. With a limit, keep the watermark above an hour.",
    )
    backfill_from_raw: bool = Field(
        default=False,
        description="Sessionize everything in ANALYTICS.RAW.PAGEVIEWS (one batch query) "
        "instead of reading Kafka; the checkpoint is left as it is.",
    )
    truncate_target: str | None = Field(
        default=None,
        description=f"Set to '{TRUNCATE_CONFIRMATION}' to empty it and delete the checkpoint "
        "first, so sessions are rebuilt from what Kafka still holds (or from RAW with "
        "backfill_from_raw). Any other value is refused.",
    )


@asset(
    group_name=GROUP,
    deps=[pageview_topic],
    kinds={"spark", "kafka", "snowflake"},
    pool=POOL,
)
def session_metrics(
    context: AssetExecutionContext,
    config: SessionMetricsConfig,
    spark: PySparkResource,
    kafka: KafkaResource,
    warehouse: WarehouseResource,
) -> MaterializeResult:
    """Pageview sessions per project in ANALYTICS.MODELLED.SESSION_METRICS, from Spark
    Structured Streaming over the `pageviews` topic.

    Event time is each message's hour; `session_window` groups a project's events with the
    configured gap, and closed sessions (the watermark passed them) are MERGEd on (PROJECT,
    SESSION_START). Each run is `Trigger.AvailableNow` from its checkpoint under the data dir,
    so it drains what is new and stops; a repeated or killed run writes no duplicates."""
    gap_s, watermark_s = duration_seconds(config.gap), duration_seconds(config.watermark)
    if config.truncate_target is not None and config.truncate_target != TRUNCATE_CONFIRMATION:
        raise ValueError(
            f"truncate_target is {config.truncate_target!r}: to empty the sessions, set it to "
            f"exactly {TRUNCATE_CONFIRMATION!r}"
        )
    ensure_bootstrapped(warehouse, context.log)
    checkpoint = checkpoint_location(kafka.topic, config.gap, config.watermark)
    if config.truncate_target:
        truncate_sessions(warehouse, kafka.topic)
        forget_checkpoint(checkpoint)
        context.log.warning(f"emptied {SESSIONS_TABLE} and deleted the checkpoint {checkpoint}")

    spark_session = spark.spark_session
    if config.backfill_from_raw:
        result = run_backfill(spark_session, warehouse, gap=config.gap, log=context.log)
    else:
        result = run_stream(
            spark_session,
            kafka,
            warehouse,
            topic=kafka.topic,
            gap=config.gap,
            watermark=config.watermark,
            max_offsets_per_trigger=config.max_offsets_per_trigger,
            checkpoint=checkpoint,
            log=context.log,
        )
    stored = session_summary(warehouse)
    progress = result.progress
    context.log.info(
        f"sessionized {progress.events_read:,} events from {result.source} in "
        f"{progress.micro_batches} micro-batches ({result.duration_s:.1f} s, "
        f"{result.events_per_s:,.0f} events/s): {result.sessions_written:,} sessions merged "
        f"into {SESSIONS_TABLE}, {progress.late_events_dropped:,} late events dropped"
    )

    summary = {key.lower(): value for key, value in stored["summary"].items()}
    return MaterializeResult(
        metadata={
            "dagster/row_count": int(summary["sessions"]),
            "table": SESSIONS_TABLE,
            "source": result.source,
            "micro_batches": progress.micro_batches,
            "events_read": progress.events_read,
            "invalid_events": progress.invalid_events,
            "late_events_dropped": progress.late_events_dropped,
            "sessions_written": result.sessions_written,
            "watermark": progress.watermark or "none yet",
            "max_event_time": progress.max_event_time or "none",
            "offsets": MetadataValue.json(
                {"start": progress.start_offsets, "end": progress.end_offsets}
            ),
            "gap_s": gap_s,
            "watermark_s": watermark_s,
            "checkpoint": result.checkpoint or "none (backfill)",
            "events_per_s": round(result.events_per_s),
            "duration_s": round(result.duration_s, 2),
            "projects": int(summary["projects"]),
            "total_views": int(summary["total_views"]),
            "preview": MetadataValue.md(markdown_table(pa.Table.from_pylist(stored["preview"]))),
        }
    )


@asset_check(asset=session_metrics, pool=POOL)
def has_no_duplicate_sessions(
    context: AssetCheckExecutionContext, warehouse: WarehouseResource
) -> AssetCheckResult:
    """No (PROJECT, SESSION_START) appears twice in ANALYTICS.MODELLED.SESSION_METRICS."""
    counts = count_row(warehouse, "checks/sessions_duplicates")
    return AssetCheckResult(passed=counts["duplicated_sessions"] == 0, metadata=counts)


@asset_check(asset=session_metrics, pool=POOL)
def has_no_overlapping_sessions(
    context: AssetCheckExecutionContext, warehouse: WarehouseResource
) -> AssetCheckResult:
    """No session of a project starts before the project's previous session has ended."""
    counts = count_row(warehouse, "checks/sessions_overlaps")
    return AssetCheckResult(passed=counts["overlapping_sessions"] == 0, metadata=counts)


@asset_check(asset=session_metrics, additional_deps=[raw_pageviews], pool=POOL)
def session_views_reconcile_with_raw(
    context: AssetCheckExecutionContext, warehouse: WarehouseResource
) -> AssetCheckResult:
    """Views and events of every closed session equal those of ANALYTICS.RAW.PAGEVIEWS for the
    same project within the session's time range (sessions that start after the newest hour in
    RAW are left out: RAW has not loaded them yet)."""
    counts = count_row(warehouse, "checks/sessions_reconcile_raw")
    mismatched = counts["mismatched_sessions"]
    return AssetCheckResult(
        passed=mismatched == 0,
        metadata=counts,
        description=(
            f"{mismatched:,} sessions disagree with RAW (a republished hour counted twice? "
            "rebuild with backfill_from_raw)"
            if mismatched
            else f"{counts['sessions_compared']:,} sessions agree with RAW"
        ),
    )


session_assets = [session_metrics]
session_checks = [
    has_no_duplicate_sessions,
    has_no_overlapping_sessions,
    session_views_reconcile_with_raw,
]
