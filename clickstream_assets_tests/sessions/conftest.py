"""Fixtures of the sessionizer tests: one local Spark session with Spark's own Kafka connector,
the session broker, a fresh fakesnow warehouse, and hours of pageviews written by hand."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from dagster_pyspark import PySparkResource
from pyspark.sql import SparkSession

from clickstream_assets.local.jvm import SPARK_KAFKA, ensure_jvm_artifacts
from clickstream_assets.pageviews.publish import publish_hour
from clickstream_assets.resources.kafka import KafkaResource
from clickstream_assets.resources.spark import spark_config
from clickstream_assets.resources.warehouse import WarehouseResource, embedded_snowflake
from clickstream_assets.warehouse.runner import bootstrap
from clickstream_assets_tests.conftest import topic_of_its_own

# Two cores, two shuffle partitions: small test data gains nothing from more.
TEST_MASTER = "local[2]"


@pytest.fixture(scope="session")
def spark_resource() -> PySparkResource:
    ensure_jvm_artifacts(SPARK_KAFKA)
    return PySparkResource(
        spark_config=spark_config(
            TEST_MASTER, app_name="clickstream-tests", ui=False, shuffle_partitions=2
        )
    )


@pytest.fixture(scope="session")
def spark(spark_resource: PySparkResource) -> Iterator[SparkSession]:
    """One Spark session for the suite (a JVM start costs about ten seconds)."""
    session = SparkSession.builder.config(map=spark_resource.spark_config).getOrCreate()
    yield session
    session.stop()


@pytest.fixture
def warehouse(tmp_path: Path) -> WarehouseResource:
    resource = WarehouseResource(
        snowflake=embedded_snowflake(), embedded_path=str(tmp_path / "warehouse")
    )
    bootstrap(resource)
    return resource


@pytest.fixture
def kafka(kafka_broker) -> KafkaResource:
    """The session broker, with a topic of its own for this test."""
    return topic_of_its_own(kafka_broker, "pageviews-sessions", partitions=2)


@pytest.fixture
def checkpoint(tmp_path: Path) -> str:
    return str(tmp_path / "checkpoint")


def write_hour(directory: Path, hour: datetime, lines: list[str]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"pageviews-{hour:%Y%m%d-%H}0000.gz"
    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode("utf-8")))
    return path


def publish_lines(kafka: KafkaResource, directory: Path, hour: datetime, lines: list[str]) -> int:
    """Publish `lines` as the dump of `hour`; the number of messages."""
    path = write_hour(directory, hour, lines)
    return publish_hour(kafka.producer(), kafka.topic, path, hour).messages


def stored_sessions(warehouse: WarehouseResource) -> list[tuple]:
    """(project, start, end, events, views, bytes) of SESSION_METRICS, as UTC text."""
    with warehouse.connection() as conn:
        cursor = conn.cursor()
        cursor.execute(
            "SELECT PROJECT, SESSION_START, SESSION_END, EVENTS, TOTAL_VIEWS, TOTAL_BYTES "
            "FROM ANALYTICS.MODELLED.SESSION_METRICS ORDER BY PROJECT, SESSION_START"
        )
        rows = cursor.fetchall()
    return [
        (p, f"{s:%Y-%m-%d %H:%M:%S}", f"{e:%Y-%m-%d %H:%M:%S}", int(n), int(v), int(b))
        for p, s, e, n, v, b in rows
    ]
