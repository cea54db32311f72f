"""The streaming sessionizer against the real broker, local Spark and fakesnow."""

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from clickstream_assets.sessions.runner import run_backfill, run_stream
from clickstream_assets.sessions.sessionize import (
    kafka_source_options,
    parse_events,
    sessionize,
    to_session_rows,
)
from clickstream_assets.sessions.store import merge_sessions, sessionized_offsets
from clickstream_assets.warehouse.pageviews import load_pageviews
from clickstream_assets_tests.sessions.conftest import publish_lines, stored_sessions

GAP, WATERMARK = "10 minutes", "15 minutes"


def hour(h: int) -> datetime:
    return datetime(2024, 10, 1, h, tzinfo=UTC)


def lines_for(h: int) -> list[str]:
    """A few projects, views that differ per hour so sessions can be told apart."""
    return [
        f"en Page_{h}_A {h} {h * 100}",
        f"en Page_{h}_B 2 20",
        f"de Köln_{h} {h + 1} 0",
        f"ja Main_Page 1 {h}",
    ]


def stream(spark, kafka, warehouse, checkpoint, **options):
    return run_stream(
        spark,
        kafka,
        warehouse,
        topic=kafka.topic,
        gap=options.get("gap", GAP),
        watermark=options.get("watermark", WATERMARK),
        max_offsets_per_trigger=options.get("max_offsets_per_trigger", 5),
        checkpoint=checkpoint,
    )


def batch_sessions(spark, kafka) -> list[tuple]:
    """The floor: a batch session_window over the same JSON values, no watermark."""
    messages = (
        spark.read.format("kafka")
        .options(**kafka_source_options(kafka))
        .option("subscribe", kafka.topic)
        .option("startingOffsets", "earliest")
        .load()
    )
    return [tuple(r.values()) for r in to_session_rows(sessionize(parse_events(messages), GAP))]


def test_stream_writes_closed_sessions_equal_to_a_batch_session_window(
    spark, kafka, warehouse, checkpoint, tmp_path
):
    for h in (10, 11, 12):
        publish_lines(kafka, tmp_path / "dumps", hour(h), lines_for(h))

    result = stream(spark, kafka, warehouse, checkpoint)

    # The watermark stands at 12:00 - 15 min: the sessions of 10:00 and 11:00 are closed,
    # the 12:00 ones stay open in the checkpoint's state.
    closed = [s for s in batch_sessions(spark, kafka) if s[2] <= "2024-10-01 11:45:00"]
    assert stored_sessions(warehouse) == closed
    assert ("en", "2024-10-01 10:00:00", "2024-10-01 10:10:00", 2, 12, 1020) in closed
    assert len(closed) == 6
    assert result.progress.events_read == 12
    assert result.progress.micro_batches >= 3
    assert result.progress.watermark.startswith("2024-10-01T11:45:00")
    end = kafka.end_offsets()
    assert result.progress.end_offsets == {str(p): o for p, o in end.items()}
    assert sessionized_offsets(warehouse, kafka.topic) == kafka.end_offsets()


def test_stream_rerun_from_checkpoint_adds_only_new_sessions(
    spark, kafka, warehouse, checkpoint, tmp_path
):
    for h in (10, 11, 12):
        publish_lines(kafka, tmp_path / "dumps", hour(h), lines_for(h))
    stream(spark, kafka, warehouse, checkpoint)
    first = stored_sessions(warehouse)

    again = stream(spark, kafka, warehouse, checkpoint)
    unchanged = stored_sessions(warehouse)
    publish_lines(kafka, tmp_path / "dumps", hour(13), lines_for(13))
    later = stream(spark, kafka, warehouse, checkpoint)

    assert again.progress.events_read == 0
    assert unchanged == first
    assert later.progress.events_read == 4
    added = [s for s in stored_sessions(warehouse) if s not in first]
    assert sorted(s[1] for s in added) == ["2024-10-01 12:00:00"] * 3
    assert len(stored_sessions(warehouse)) == len(set(stored_sessions(warehouse)))


def test_stream_drops_and_counts_events_behind_the_watermark(
    spark, kafka, warehouse, checkpoint, tmp_path
):
    for h in (10, 11, 12):
        publish_lines(kafka, tmp_path / "dumps", hour(h), lines_for(h))
    stream(spark, kafka, warehouse, checkpoint)
    before = stored_sessions(warehouse)

    # An hour older than the watermark (11:45) arrives late.
    publish_lines(kafka, tmp_path / "late", hour(9), lines_for(9))
    result = stream(spark, kafka, warehouse, checkpoint)

    assert result.progress.events_read == 4
    assert result.progress.late_events_dropped == 4
    assert stored_sessions(warehouse) == before


def test_stream_repeating_a_batch_after_a_crash_leaves_no_duplicates(
    spark, kafka, warehouse, checkpoint, tmp_path
):
    for h in (10, 11, 12, 13):
        publish_lines(kafka, tmp_path / "dumps", hour(h), lines_for(h))
    stream(spark, kafka, warehouse, checkpoint)
    expected = stored_sessions(warehouse)

    # A run killed after its sink wrote but before Spark committed the batch: the commit
    # log's newest entry is missing, so the next run repeats that batch.
    commits = sorted(Path(checkpoint, "commits").glob("[0-9]*"), key=lambda p: int(p.name))
    commits[-1].unlink()
    commits[-1].with_name(f".{commits[-1].name}.crc").unlink(missing_ok=True)
    repeated = stream(spark, kafka, warehouse, checkpoint)

    assert repeated.progress.micro_batches >= 1
    assert stored_sessions(warehouse) == expected


def test_merge_sessions_twice_updates_instead_of_duplicating(warehouse):
    session = {
        "project": "en",
        "session_start": "2024-10-01 10:00:00",
        "session_end": "2024-10-01 10:10:00",
        "events": 2,
        "total_views": 8,
        "total_bytes": 100,
    }

    merge_sessions(warehouse, [session])
    merge_sessions(warehouse, [{**session, "events": 3, "total_views": 9}])

    assert stored_sessions(warehouse) == [
        ("en", "2024-10-01 10:00:00", "2024-10-01 10:10:00", 3, 9, 100)
    ]


def test_backfill_from_raw_equals_the_batch_sessions_of_the_topic(
    spark, kafka, warehouse, tmp_path
):
    for h in (10, 11, 12):
        publish_lines(kafka, tmp_path / "dumps", hour(h), lines_for(h))
    load_pageviews(warehouse, kafka)

    result = run_backfill(spark, warehouse, gap=GAP)

    assert result.progress.events_read == 12
    assert stored_sessions(warehouse) == batch_sessions(spark, kafka)


@pytest.mark.slow
def test_stream_on_separate_executor_processes(kafka, tmp_path):
    """local-cluster runs executors in JVMs of their own: the connector jars, the JSON parsing
    and the warehouse writes must work there, not only inside the driver."""
    for h in (10, 11, 12):
        publish_lines(kafka, tmp_path / "dumps", hour(h), lines_for(h))
    script = f"""
import json
from pyspark.sql import SparkSession
from clickstream_assets.resources.kafka import KafkaResource
from clickstream_assets.resources.spark import spark_config
from clickstream_assets.resources.warehouse import WarehouseResource, embedded_snowflake
from clickstream_assets.sessions.runner import run_stream
from clickstream_assets.warehouse.runner import bootstrap

config = spark_config("local-cluster[2,1,1024]", ui=False, shuffle_partitions=2)
spark = SparkSession.builder.config(map=config).getOrCreate()
warehouse = WarehouseResource(
    snowflake=embedded_snowflake(), embedded_path={str(tmp_path / "wh")!r}
)
bootstrap(warehouse)
kafka = KafkaResource(bootstrap_servers={kafka.bootstrap_servers!r}, topic={kafka.topic!r})
result = run_stream(spark, kafka, warehouse, topic=kafka.topic, gap="10 minutes",
                    watermark="15 minutes", max_offsets_per_trigger=5,
                    checkpoint={str(tmp_path / "checkpoint")!r})
executors = spark.sparkContext._jsc.sc().getExecutorMemoryStatus().size() - 1
print(json.dumps({{"events": result.progress.events_read,
                  "sessions": result.sessions_written, "executors": executors}}))
spark.stop()
"""
    env = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1"}

    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300, env=env
    )

    assert done.returncode == 0, done.stderr[-3000:]
    outcome = json.loads(done.stdout.strip().splitlines()[-1])
    assert outcome == {"events": 12, "sessions": 6, "executors": 2}
