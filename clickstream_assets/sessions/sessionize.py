"""Sessionizing pageview events per project with Spark: the pure parts of the sessionizer.

An event is one message of the `pageviews` topic: the JSON value `{project, page_title, views,
bytes, hour}`. Its event time is `hour`, the start of the dump's hour in UTC, never the time of
ingestion, so replaying the same hours gives the same sessions. A session is Spark's
`session_window` per project: events closer than the gap belong together, and the session ends
one gap after its last event.

The functions here build DataFrames and know nothing of Dagster or the warehouse; the asset
wires them to the Kafka source, the checkpoint and the MERGE into SESSION_METRICS.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import LongType, StringType, StructField, StructType

from clickstream_assets.resources.kafka import KafkaResource

# The value as the publisher writes it; from_json gives NULL fields for a value that does not
# parse, which `parse_events` counts and drops.
EVENT_SCHEMA = StructType(
    [
        StructField("project", StringType()),
        StructField("page_title", StringType()),
        StructField("views", LongType()),
        StructField("bytes", LongType()),
        StructField("hour", StringType()),
    ]
)
HOUR_FORMAT = "yyyy-MM-dd'T'HH:mm:ss'Z'"
TIMESTAMP_TEXT = "yyyy-MM-dd HH:mm:ss"
# Spark interval strings as the run config takes them: `10 minutes`, `15 min`, `1 hour`.
DURATION = re.compile(r"^\s*(\d+)\s*(second|sec|minute|min|hour)s?\s*$", re.IGNORECASE)
DURATION_SECONDS = {"second": 1, "sec": 1, "minute": 60, "min": 60, "hour": 3600}
# Names of the metrics the streaming query observes on its input.
OBSERVED = "pageview_events"


def duration_seconds(text: str) -> int:
    """`10 minutes` -> 600; a clear error for anything Spark would not read the same way."""
    match = DURATION.match(text)
    if not match:
        raise ValueError(
            f"duration {text!r} is not understood: expected a number and a unit, such as "
            "'10 minutes', '90 seconds' or '1 hour'"
        )
    return int(match[1]) * DURATION_SECONDS[match[2].lower()]


def kafka_source_options(kafka: KafkaResource) -> dict[str, str]:
    """Options of Spark's `kafka` source that reach the same cluster as the resource does.

    The SASL password goes into the JAAS line Kafka's Java client expects; it is an option of
    the source, which Spark does not print in plans or logs.
    """
    options = {"kafka.bootstrap.servers": kafka.bootstrap_servers}
    if kafka.security_protocol:
        options["kafka.security.protocol"] = kafka.security_protocol
    if kafka.sasl_mechanism:
        options["kafka.sasl.mechanism"] = kafka.sasl_mechanism
    if kafka.sasl_username:
        module = {
            "PLAIN": "org.apache.kafka.common.security.plain.PlainLoginModule",
            "SCRAM-SHA-256": "org.apache.kafka.common.security.scram.ScramLoginModule",
            "SCRAM-SHA-512": "org.apache.kafka.common.security.scram.ScramLoginModule",
        }.get((kafka.sasl_mechanism or "PLAIN").upper())
        if module is None:
            raise ValueError(f"SASL mechanism {kafka.sasl_mechanism!r} is not supported here")
        user = json.dumps(kafka.sasl_username)
        password = json.dumps(kafka.sasl_password or "")
        options["kafka.sasl.jaas.config"] = (
            f"{module} required username={user} password={password};"
        )
    return options


def read_kafka_stream(
    spark: SparkSession,
    kafka: KafkaResource,
    topic: str,
    *,
    max_offsets_per_trigger: int | None = None,
) -> DataFrame:
    """The topic as a streaming DataFrame of Spark's own `kafka` source.

    A new checkpoint starts at the oldest message Kafka still holds; after that the checkpoint
    alone says where to go on.
    """
    reader = (
        spark.readStream.format("kafka")
        .options(**kafka_source_options(kafka))
        .option("subscribe", topic)
        .option("startingOffsets", "earliest")
    )
    if max_offsets_per_trigger:
        reader = reader.option("maxOffsetsPerTrigger", str(max_offsets_per_trigger))
    return reader.load()


def parse_events(messages: DataFrame) -> DataFrame:
    """Kafka records (`value` bytes) -> project, event_time, events (1), views, bytes, valid.

    `valid` is false for a value that is not the JSON the publisher writes (no project, no
    parsable hour, or counts that are not integers); callers count and drop those rows.
    """
    event = F.from_json(F.col("value").cast("string"), EVENT_SCHEMA)
    parsed = messages.select(event.alias("e")).select(
        F.col("e.project").alias("project"),
        # try_: Spark 4 runs in ANSI mode, where a bad hour would fail the whole batch.
        F.try_to_timestamp(F.col("e.hour"), F.lit(HOUR_FORMAT)).alias("event_time"),
        F.lit(1).cast("long").alias("events"),
        F.col("e.views").alias("views"),
        F.col("e.bytes").alias("bytes"),
    )
    valid = (
        F.col("project").isNotNull()
        & F.col("event_time").isNotNull()
        & F.col("views").isNotNull()
        & F.col("bytes").isNotNull()
    )
    return parsed.withColumn("valid", valid)


def observe_input(events: DataFrame, watermark: datetime | None = None) -> DataFrame:
    """Count what each micro-batch read, so the run can report it from the query's progress.

    `late_events` are valid events older than `watermark` (the one the run starts with), which
    the stateful operator drops. Spark's own count of dropped rows counts rows after the
    per-partition pre-merge of sessions, not events.
    """
    late = F.lit(False) if watermark is None else F.col("event_time") < F.lit(watermark)
    return events.observe(
        OBSERVED,
        F.count(F.lit(1)).alias("events_read"),
        F.sum(F.when(F.col("valid"), 0).otherwise(1)).alias("invalid_events"),
        F.sum(F.when(F.col("valid") & late, 1).otherwise(0)).alias("late_events"),
        F.max("event_time").alias("max_event_time"),
    )


def sessionize(events: DataFrame, gap: str, watermark: str | None = None) -> DataFrame:
    """Sessions per project over valid events (`project, event_time, events, views, bytes`).

    `events` may be weighted: a row that stands for several events of one hour (as in a
    backfill from RAW aggregated per hour) carries their count, which is what makes both paths
    give the same sessions. With a watermark (streaming), a session is emitted once the
    watermark has passed its end, and events older than the watermark are dropped.
    """
    valid = events.where(F.col("valid")) if "valid" in events.columns else events
    if watermark:
        valid = valid.withWatermark("event_time", watermark)
    sessions = valid.groupBy(
        F.col("project"), F.session_window(F.col("event_time"), gap).alias("session")
    ).agg(
        F.sum("events").alias("events"),
        F.sum("views").alias("total_views"),
        F.sum("bytes").alias("total_bytes"),
    )
    return sessions.select(
        "project",
        F.col("session.start").alias("session_start"),
        F.col("session.end").alias("session_end"),
        "events",
        "total_views",
        "total_bytes",
    )


def hourly_events(rows: DataFrame) -> DataFrame:
    """Typed RAW rows aggregated per project and hour (`PROJECT, HOUR, EVENTS, VIEWS, BYTES`)
    as weighted events, for a backfill that sessionizes what the warehouse holds."""
    return rows.select(
        F.col("PROJECT").alias("project"),
        # The hour arrives as UTC text; the session's time zone is UTC.
        F.to_timestamp(F.col("HOUR")).alias("event_time"),
        F.col("EVENTS").cast("long").alias("events"),
        F.col("VIEWS").cast("long").alias("views"),
        F.col("BYTES").cast("long").alias("bytes"),
        F.lit(True).alias("valid"),
    )


@dataclass
class StreamProgress:
    """What a streaming run did, summed over its micro-batches' progress reports."""

    micro_batches: int = 0
    events_read: int = 0
    invalid_events: int = 0
    late_events_dropped: int = 0
    watermark: str | None = None
    max_event_time: str | None = None
    start_offsets: dict[str, int] = field(default_factory=dict)
    end_offsets: dict[str, int] = field(default_factory=dict)

    def add(self, progress: dict, topic: str) -> None:
        """Fold one `StreamingQueryProgress` (as a dict) into the totals."""
        rows = int(progress.get("numInputRows") or 0)
        if rows == 0 and not progress.get("stateOperators"):
            return
        self.micro_batches += 1
        self.events_read += rows
        metrics = (progress.get("observedMetrics") or {}).get(OBSERVED) or {}
        if hasattr(metrics, "asDict"):
            # PySpark's progress objects hold observed metrics as Rows.
            metrics = metrics.asDict()
        self.invalid_events += int(metrics.get("invalid_events") or 0)
        self.late_events_dropped += int(metrics.get("late_events") or 0)
        if metrics.get("max_event_time"):
            self.max_event_time = max(self.max_event_time or "", str(metrics["max_event_time"]))
        watermark = (progress.get("eventTime") or {}).get("watermark")
        if watermark and not watermark.startswith("1970"):
            self.watermark = watermark
        for source in progress.get("sources") or []:
            start = _topic_offsets(source.get("startOffset"), topic)
            for partition, offset in start.items():
                self.start_offsets.setdefault(partition, offset)
            self.end_offsets.update(_topic_offsets(source.get("endOffset"), topic))


def _topic_offsets(value, topic: str) -> dict[str, int]:
    # Spark reports Kafka offsets as {"topic": {"partition": offset}}, sometimes as JSON text.
    if isinstance(value, str):
        value = json.loads(value) if value.startswith("{") else None
    if not isinstance(value, dict):
        return {}
    return {str(p): int(o) for p, o in (value.get(topic) or {}).items()}


def to_session_rows(sessions: DataFrame) -> list[dict]:
    """A (small) DataFrame of sessions as rows with plain Python values, in a stable order."""
    ordered = sessions.orderBy("project", "session_start").select(
        "project",
        # Text in the session's time zone (UTC): collect() would turn timestamps into the
        # Python process's local time.
        F.date_format("session_start", TIMESTAMP_TEXT).alias("session_start"),
        F.date_format("session_end", TIMESTAMP_TEXT).alias("session_end"),
        "events",
        "total_views",
        "total_bytes",
    )
    return [row.asDict() for row in ordered.collect()]
