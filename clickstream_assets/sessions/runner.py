"""Running the sessionizer: an `availableNow` streaming query from Kafka, or a backfill from RAW.

The streaming run reads the topic with Spark's `kafka` source from where its checkpoint
stands, drains what the topic holds when it starts (`Trigger.AvailableNow`, in micro-batches of
at most `max_offsets_per_trigger` messages) and stops. Each micro-batch's closed sessions are
merged into SESSION_METRICS from `foreachBatch`; Spark commits the batch to its checkpoint only
after that returns, so a killed run repeats the last batch, whose MERGE then changes nothing.

Sessions still open at the end of a run (the newest hour, whose session ends within the
watermark) stay in the checkpoint's state and are written by a later run, once newer events
move the watermark past them.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession

from clickstream_assets import settings
from clickstream_assets.resources.kafka import KafkaResource
from clickstream_assets.resources.warehouse import WarehouseResource
from clickstream_assets.sessions.sessionize import (
    StreamProgress,
    duration_seconds,
    hourly_events,
    observe_input,
    parse_events,
    read_kafka_stream,
    sessionize,
    to_session_rows,
)
from clickstream_assets.sessions.store import merge_sessions, raw_hourly_events, record_offsets

logger = logging.getLogger(__name__)

QUERY_NAME = "session_metrics"


@dataclass
class SessionizerResult:
    source: str
    progress: StreamProgress = field(default_factory=StreamProgress)
    sessions_written: int = 0
    checkpoint: str = ""
    duration_s: float = 0.0

    @property
    def events_per_s(self) -> float:
        return self.progress.events_read / max(self.duration_s, 1e-9)


def checkpoint_location(topic: str, gap: str, watermark: str) -> str:
    """One checkpoint per topic, gap and watermark: a query's state is only valid for the gap
    and watermark it was built with, so changing either starts a checkpoint of its own."""
    name = f"{topic}/gap={duration_seconds(gap)}s,watermark={duration_seconds(watermark)}s"
    root = settings.spark_checkpoint_dir()
    if isinstance(root, str):
        return f"{root}/{QUERY_NAME}/{name}"
    return str(root / QUERY_NAME / name)


def starting_watermark(checkpoint: str) -> datetime | None:
    """The watermark the next micro-batch of a local checkpoint runs with, from Spark's commit
    log (`commits/<batch>` holds `nextBatchWatermarkMs`); None for a new or remote one.

    Events older than it are dropped as late. Within a run the watermark can rise further
    between micro-batches, so with `max_offsets_per_trigger` set this is a lower bound.
    """
    if "://" in checkpoint:
        return None
    commits = [p for p in Path(checkpoint, "commits").glob("[0-9]*") if p.name.isdigit()]
    if not commits:
        return None
    newest = max(commits, key=lambda p: int(p.name))
    for line in newest.read_text(encoding="utf-8").splitlines()[1:]:
        millis = json.loads(line).get("nextBatchWatermarkMs")
        if millis:
            # Naive UTC, as Spark compares it with event times in the session's time zone.
            return datetime.fromtimestamp(millis / 1000, UTC).replace(tzinfo=None)
    return None


def forget_checkpoint(location: str) -> None:
    """Delete a local checkpoint (a rebuild starts from the oldest message Kafka holds)."""
    if "://" in location:
        raise ValueError(f"delete the checkpoint at {location} with the storage's own tools")
    shutil.rmtree(Path(location), ignore_errors=True)


def run_stream(
    spark: SparkSession,
    kafka: KafkaResource,
    warehouse: WarehouseResource,
    *,
    topic: str,
    gap: str,
    watermark: str,
    max_offsets_per_trigger: int | None,
    checkpoint: str,
    log: logging.Logger | None = None,
) -> SessionizerResult:
    """Drain the topic into SESSION_METRICS as one `availableNow` streaming run."""
    log = log or logger
    started = time.monotonic()
    result = SessionizerResult(source=f"kafka topic {topic}", checkpoint=checkpoint)

    messages = read_kafka_stream(
        spark, kafka, topic, max_offsets_per_trigger=max_offsets_per_trigger
    )
    events = observe_input(parse_events(messages), starting_watermark(checkpoint))
    sessions = sessionize(events, gap, watermark)

    def write_batch(batch: DataFrame, batch_id: int) -> None:
        rows = to_session_rows(batch)
        written = merge_sessions(warehouse, rows)
        result.sessions_written += written
        log.info(
            f"micro-batch {batch_id}: merged {written:,} closed sessions into "
            "ANALYTICS.MODELLED.SESSION_METRICS"
        )

    query = (
        sessions.writeStream.queryName(QUERY_NAME)
        .outputMode("append")
        .foreachBatch(write_batch)
        .option("checkpointLocation", checkpoint)
        .trigger(availableNow=True)
        .start()
    )
    try:
        query.awaitTermination()
    finally:
        if query.isActive:
            query.stop()
    for progress in query.recentProgress:
        result.progress.add(_as_dict(progress), topic)

    if result.progress.end_offsets:
        record_offsets(warehouse, topic, result.progress.end_offsets)
    result.duration_s = time.monotonic() - started
    return result


def run_backfill(
    spark: SparkSession,
    warehouse: WarehouseResource,
    *,
    gap: str,
    log: logging.Logger | None = None,
) -> SessionizerResult:
    """Sessionize everything RAW holds as one batch query and merge it into SESSION_METRICS.

    RAW keeps each dump line once, so this is also the way to repair sessions after an hour
    was republished while it was still within the watermark (see the README).
    """
    log = log or logger
    started = time.monotonic()
    result = SessionizerResult(source="ANALYTICS.RAW.PAGEVIEWS_TYPED")

    hourly = raw_hourly_events(warehouse)
    log.info(f"backfill: {len(hourly):,} project-hours from ANALYTICS.RAW.PAGEVIEWS_TYPED")
    if not hourly.empty:
        events = hourly_events(spark.createDataFrame(hourly))
        rows = to_session_rows(sessionize(events, gap))
        result.sessions_written = merge_sessions(warehouse, rows)
        result.progress.events_read = int(hourly["EVENTS"].sum())
        result.progress.micro_batches = 1

    result.duration_s = time.monotonic() - started
    return result


def _as_dict(progress) -> dict:
    # PySpark hands progress reports over as objects with a JSON form, or as plain dicts.
    if isinstance(progress, dict):
        return progress
    return json.loads(progress.json)
