import gzip
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from dagster import DagsterInstance, materialize

from clickstream_assets import settings
from clickstream_assets.pageviews import parsing, publish
from clickstream_assets.pageviews.assets import pageview_topic
from clickstream_assets.pageviews.inspect import consume_messages
from clickstream_assets.pageviews.publish import (
    PublishError,
    publish_dump,
    publish_hour,
    publish_hour_parallel,
)
from clickstream_assets.resources.kafka import KafkaResource, KafkaUnavailable
from clickstream_assets_tests.conftest import KAFKA_SASL_USERS
from clickstream_assets_tests.pageviews.test_parsing import CURRENT, needs_samples

HOUR = datetime(2024, 10, 1, 13, tzinfo=UTC)
PARTITION = "2024-10-01-13:00"
LINES = [
    "de Berlin 12 0",
    "de Köln 3 0",
    "",
    "en Main_Page 40 0",
    'en Say_"hi"\\there 2 0',
    "en.m Main_Page 7 0",
    "ja 東京 5 0",
    "broken line",
    "www.wikidata Q42 1 0",
]


def unique_topic() -> str:
    return f"pageviews-test-{uuid.uuid4().hex[:8]}"


def write_hour(directory: Path, lines: list[str], hour: datetime = HOUR) -> Path:
    path = directory / f"pageviews-{hour:%Y%m%d-%H}0000.gz"
    path.write_bytes(gzip.compress("\n".join(lines).encode("utf-8")))
    return path


def expected_records(lines: list[str]) -> dict[int, dict]:
    """Line number -> the value the message for that line must carry, worked out by hand."""
    records = {}
    for number, line in enumerate(lines, start=1):
        fields = line.split(" ")
        if len(fields) == 4:
            project, title, views, size = fields
            records[number] = {
                "project": project,
                "page_title": title,
                "views": int(views),
                "bytes": int(size),
                "hour": "2024-10-01T13:00:00Z",
            }
    return records


def consume_all(kafka: KafkaResource, topic: str) -> list[dict]:
    return list(
        consume_messages(
            kafka,
            topic,
            f"test-{uuid.uuid4().hex[:6]}",
            from_beginning=True,
            timeout_ms=4_000,
            auto_commit=False,
        )
    )


@pytest.fixture
def kafka(kafka_broker) -> KafkaResource:
    return KafkaResource(bootstrap_servers=kafka_broker.bootstrap, topic=unique_topic())


def test_publish_then_consume_exact_messages(kafka, tmp_path):
    path = write_hour(tmp_path, LINES)
    kafka.ensure_topic()
    before = time.time()

    result = publish_hour(kafka.producer(), kafka.topic, path, HOUR)

    messages = consume_all(kafka, kafka.topic)
    expected = expected_records(LINES)
    assert result.messages == len(messages) == len(expected) == 7
    by_line = {int(m["headers"]["line_number"]): m for m in messages}
    assert {line: m["value"] for line, m in by_line.items()} == expected
    for line, message in by_line.items():
        assert message["key"] == expected[line]["project"]
        assert message["headers"] == {
            "source_file": path.name,
            "line_number": str(line),
            "hour": "2024-10-01T13:00:00Z",
        }
        assert message["timestamp_ms"] / 1000 >= before - 5


def test_publish_partitions_by_project_key(kafka, tmp_path):
    lines = [f"{project} Page_{i} 1 0" for i in range(20) for project in ("de", "en", "fr", "ja")]
    kafka.ensure_topic()

    publish_hour(kafka.producer(), kafka.topic, write_hour(tmp_path, lines), HOUR)

    partitions = {}
    for message in consume_all(kafka, kafka.topic):
        partitions.setdefault(message["key"], set()).add(message["partition"])
    assert set(partitions) == {"de", "en", "fr", "ja"}
    assert all(len(found) == 1 for found in partitions.values())


def produce_now(kafka: KafkaResource, keys: list[str]) -> dict[int, int]:
    """Other records written straight to the topic; how many went to each partition."""
    producer = kafka.producer()
    for key in keys:
        producer.produce(kafka.topic, b"{}", key.encode())
    assert producer.flush(30) == 0
    counts = {}
    for message in consume_all(kafka, kafka.topic):
        if message["key"] in keys:
            counts[message["partition"]] = counts.get(message["partition"], 0) + 1
    return counts


@pytest.mark.parametrize("processes", [1, 2])
def test_publish_dump_records_offset_ranges_after_what_was_there(
    kafka, tmp_path, monkeypatch, processes
):
    # Any hour counts as full, so with 2 processes this small one goes through the workers.
    monkeypatch.setattr(publish, "SMALL_HOUR_BYTES", 0)
    kafka.ensure_topic()
    earlier = produce_now(kafka, ["de", "en", "ja", "fr"])

    result, used = publish_dump(kafka, write_hour(tmp_path, LINES), HOUR, processes=processes)

    ends = kafka.end_offsets()
    assert used == processes
    assert sum(ends.values()) == 4 + 7
    assert result.offsets == {
        p: [earlier.get(p, 0), end - 1] for p, end in ends.items() if end > earlier.get(p, 0)
    }
    assert result.foreign_records == 0


def test_publish_dump_counts_records_other_producers_wrote_meanwhile(kafka, tmp_path):
    kafka.ensure_topic()
    # The progress callback runs while the hour is being published.
    result, _ = publish_dump(
        kafka,
        write_hour(tmp_path, LINES),
        HOUR,
        processes=1,
        progress=lambda _: produce_now(kafka, ["other-1", "other-2", "other-3"]),
    )

    assert result.messages == 7
    assert sum(last - first + 1 for first, last in result.offsets.values()) == 10
    assert result.foreign_records == 3


@needs_samples
def test_publish_real_sample_views_per_project(kafka, tmp_path):
    path = tmp_path / "pageviews-20200101-000000.gz"
    path.write_bytes(CURRENT.read_bytes())
    kafka.ensure_topic()

    result = publish_hour(kafka.producer(), kafka.topic, path, datetime(2020, 1, 1, tzinfo=UTC))

    messages = consume_all(kafka, kafka.topic)
    assert result.messages == len(messages) == 3_665
    first = min(messages, key=lambda m: int(m["headers"]["line_number"]))
    assert first["value"]["project"] == "aa" and first["value"]["page_title"] == "Main_Page"
    assert first["headers"]["line_number"] == "1"
    assert max(int(m["headers"]["line_number"]) for m in messages) == 3_667


def test_publish_messages_survive_a_broker_restart(kafka_broker, kafka, tmp_path):
    kafka.ensure_topic()
    publish_hour(kafka.producer(), kafka.topic, write_hour(tmp_path, LINES), HOUR)

    kafka_broker.stop()
    kafka_broker.start()

    assert len(consume_all(kafka, kafka.topic)) == 7


def test_publish_to_a_broker_that_is_down_fails_clearly(tmp_path):
    down = KafkaResource(bootstrap_servers="127.0.0.1:1", topic=unique_topic())

    with pytest.raises(KafkaUnavailable, match=r"Kafka at 127.0.0.1:1 did not answer"):
        down.list_topics(timeout_s=2)


def test_publish_with_undeliverable_messages_counts_failures(tmp_path):
    producer = KafkaResource(bootstrap_servers="127.0.0.1:1").producer(
        **{"message.timeout.ms": 1500}
    )

    with pytest.raises(PublishError, match=r"7 of 7 messages .* were not delivered"):
        publish_hour(producer, "nowhere", write_hour(tmp_path, LINES), HOUR, flush_timeout_s=10)


def test_publish_parallel_sends_every_line_once_keyed_like_one_producer(
    kafka, tmp_path, monkeypatch
):
    projects = ("de", "en", "en.m", "fr", "ja", "commons.m")
    lines = [f"{projects[i % 6]} Page_{i} {i % 50 + 1} {i}" for i in range(3_000)]
    lines[1_234] = "en broken"
    # Small parser blocks, so the hour comes in many batches dealt to both workers.
    monkeypatch.setattr(parsing, "BLOCK_BYTES", 4_096)
    kafka.ensure_topic()

    result = publish_hour_parallel(
        kafka.producer_settings(), kafka.topic, write_hour(tmp_path, lines), HOUR, workers=2
    )

    messages = consume_all(kafka, kafka.topic)
    expected = expected_records(lines)
    assert result.messages == len(messages) == len(expected) == 2_999
    by_line = {int(m["headers"]["line_number"]): m for m in messages}
    assert {line: m["value"] for line, m in by_line.items()} == expected
    partitions = {}
    for message in messages:
        partitions.setdefault(message["key"], set()).add(message["partition"])
    assert sorted(partitions) == sorted(projects)
    assert all(len(found) == 1 for found in partitions.values())


def test_publish_parallel_with_undeliverable_messages_counts_failures(tmp_path):
    settings_down = KafkaResource(bootstrap_servers="127.0.0.1:1").producer_settings(
        **{"message.timeout.ms": 1500}
    )

    with pytest.raises(PublishError, match=r"7 of 7 messages .* were not delivered"):
        publish_hour_parallel(
            settings_down, "nowhere", write_hour(tmp_path, LINES), HOUR, flush_timeout_s=10
        )


def test_publish_parallel_reports_a_worker_that_cannot_start(kafka, tmp_path):
    broken = kafka.producer_settings(**{"compression.type": "no-such-codec"})

    with pytest.raises(PublishError, match=r"a producer process failed: .*no-such-codec"):
        publish_hour_parallel(broken, kafka.topic, write_hour(tmp_path, LINES), HOUR)


def materialize_topic(kafka, data_dir, instance, republish=False):
    return materialize(
        [pageview_topic],
        partition_key=PARTITION,
        resources={"kafka": kafka},
        instance=instance,
        run_config={"ops": {"pageview_topic": {"config": {"republish": republish}}}},
        raise_on_error=False,
    )


def test_materialize_topic_refuses_to_republish_without_the_flag(kafka, tmp_path, monkeypatch):
    monkeypatch.setenv("CLICKSTREAM_DATA_DIR", str(tmp_path / "data"))
    dump = settings.pageview_dump_path(HOUR)
    dump.parent.mkdir(parents=True)
    write_hour(dump.parent, LINES)
    instance = DagsterInstance.ephemeral()

    first = materialize_topic(kafka, tmp_path, instance)
    second = materialize_topic(kafka, tmp_path, instance)
    third = materialize_topic(kafka, tmp_path, instance, republish=True)

    assert first.success
    meta = first.asset_materializations_for_node("pageview_topic")[0].metadata
    assert meta["messages"].value == 7 and meta["rejected_lines"].value == 1
    assert not second.success
    assert "already published" in str(second.failure_data_for_node("pageview_topic").error)
    assert third.success
    assert sum(kafka.end_offsets().values()) == 14


def test_materialize_topic_uses_producer_processes_for_a_full_hour(kafka, tmp_path, monkeypatch):
    monkeypatch.setenv("CLICKSTREAM_DATA_DIR", str(tmp_path / "data"))
    dump = settings.pageview_dump_path(HOUR)
    dump.parent.mkdir(parents=True)
    write_hour(dump.parent, LINES)
    # Any hour counts as full, so this small one goes through the producer processes.
    monkeypatch.setattr(publish, "SMALL_HOUR_BYTES", 0)

    result = materialize_topic(kafka, tmp_path, DagsterInstance.ephemeral())

    assert result.success
    meta = result.asset_materializations_for_node("pageview_topic")[0].metadata
    assert meta["producer_processes"].value == 2
    assert meta["messages"].value == 7
    assert meta["offsets"].value == {
        str(p): {"first": 0, "last": end - 1} for p, end in kafka.end_offsets().items() if end
    }
    assert meta["foreign_records_in_offsets"].value == 0
    assert sorted(int(m["headers"]["line_number"]) for m in consume_all(kafka, kafka.topic)) == (
        sorted(expected_records(LINES))
    )


def test_materialize_topic_with_broker_down_is_not_materialized(tmp_path, monkeypatch):
    monkeypatch.setenv("CLICKSTREAM_DATA_DIR", str(tmp_path / "data"))
    dump = settings.pageview_dump_path(HOUR)
    dump.parent.mkdir(parents=True)
    write_hour(dump.parent, LINES)
    instance = DagsterInstance.ephemeral()
    down = KafkaResource(bootstrap_servers="127.0.0.1:1", topic=unique_topic(), timeout_s=3)

    result = materialize_topic(down, tmp_path, instance)

    assert not result.success
    assert "did not answer a metadata request" in str(
        result.failure_data_for_node("pageview_topic").error
    )
    assert result.asset_materializations_for_node("pageview_topic") == []


def test_publish_over_sasl_plain_reaches_the_client(kafka_broker, tmp_path, caplog):
    user, password = next(iter(KAFKA_SASL_USERS.items()))
    secure = KafkaResource(
        bootstrap_servers=kafka_broker.sasl_bootstrap,
        topic=unique_topic(),
        security_protocol="SASL_PLAINTEXT",
        sasl_mechanism="PLAIN",
        sasl_username=user,
        sasl_password=password,
    )
    wrong = secure.model_copy(update={"sasl_password": "not-the-password"})
    secure.ensure_topic()

    result = publish_hour(secure.producer(), secure.topic, write_hour(tmp_path, LINES), HOUR)
    with pytest.raises(KafkaUnavailable) as refused:
        wrong.list_topics(timeout_s=5)

    assert result.messages == 7
    assert len(consume_all(secure, secure.topic)) == 7
    assert "not-the-password" not in str(refused.value)
    assert password not in secure.describe() and password not in caplog.text
