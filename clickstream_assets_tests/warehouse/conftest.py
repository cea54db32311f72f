"""Fixtures of the warehouse tests: a fresh fakesnow warehouse per test, a unique topic on the
session's real broker, and small pageview dumps written by hand."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from pathlib import Path

import pytest

from clickstream_assets.pageviews.publish import PublishResult, publish_hour
from clickstream_assets.resources.kafka import KafkaResource
from clickstream_assets.resources.warehouse import WarehouseResource, embedded_snowflake
from clickstream_assets_tests.conftest import topic_of_its_own

HOUR = datetime(2024, 10, 1, 13, tzinfo=UTC)
PROJECTS = ("de", "en", "en.m", "ja", "www.wikidata")


@pytest.fixture
def warehouse(tmp_path: Path) -> WarehouseResource:
    """An empty embedded warehouse in the test's tmp dir."""
    return WarehouseResource(
        snowflake=embedded_snowflake(), embedded_path=str(tmp_path / "warehouse")
    )


@pytest.fixture
def kafka(kafka_broker) -> KafkaResource:
    """The session broker, with a topic of its own for this test."""
    return topic_of_its_own(kafka_broker, "pageviews-warehouse", partitions=3)


def pageview_lines(count: int) -> list[str]:
    """`count` distinct pageview lines over a few projects, titles with odd characters."""
    lines = []
    for number in range(count):
        project = PROJECTS[number % len(PROJECTS)]
        title = f'Page_{number}_"quoted"\\x' if number % 97 == 0 else f"Page_{number}_Köln"
        lines.append(f"{project} {title} {number % 50 + 1} {number * 10}")
    return lines


def write_hour(directory: Path, lines: list[str], hour: datetime = HOUR) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"pageviews-{hour:%Y%m%d-%H}0000.gz"
    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode("utf-8")))
    return path


def publish(kafka: KafkaResource, path: Path, hour: datetime = HOUR) -> PublishResult:
    return publish_hour(kafka.producer(), kafka.topic, path, hour)


def expected_rows(lines: list[str], source_file: str) -> set[tuple]:
    """(source_file, line_number, project, page_title, views, bytes), worked out from the text."""
    rows = set()
    for number, line in enumerate(lines, start=1):
        project, title, views, size = line.split(" ")
        rows.add((source_file, number, project, title, int(views), int(size)))
    return rows


def raw_rows(warehouse: WarehouseResource, topic: str) -> list[tuple]:
    with warehouse.connection() as conn:
        cursor = conn.cursor()
        cursor.execute(
            "SELECT SOURCE_FILE, LINE_NUMBER, PROJECT, PAGE_TITLE, VIEWS, BYTES, HOUR "
            "FROM ANALYTICS.RAW.PAGEVIEWS_TYPED WHERE KAFKA_TOPIC = %s",
            (topic,),
        )
        return cursor.fetchall()


def scalar(warehouse: WarehouseResource, sql: str, params=None):
    with warehouse.connection() as conn:
        cursor = conn.cursor()
        cursor.execute(sql, params)
        return cursor.fetchone()[0]
