"""The local Apache Kafka broker: real JVM, real clients, no mocks."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psutil
import pytest
from confluent_kafka import Consumer, KafkaError, Message, Producer

from clickstream_assets.local.kafka_broker import (
    KafkaBroker,
    broker_answers,
    broker_status,
    stop_broker,
)

pytestmark = pytest.mark.slow

CONSUME_TIMEOUT_S = 30.0


def _new_topic() -> str:
    return f"test-{uuid.uuid4().hex[:12]}"


def _produce(
    bootstrap: str, topic: str, records: list[tuple[str, str]], **config: str
) -> list[Message]:
    """Produce (key, value) records synchronously and return their delivery reports."""
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0, **config})
    delivered: list[Message] = []

    def on_delivery(error: KafkaError | None, message: Message) -> None:
        assert error is None, f"delivery to {topic} failed: {error}"
        delivered.append(message)

    for key, value in records:
        producer.produce(topic, key=key, value=value, on_delivery=on_delivery)
    remaining = producer.flush(CONSUME_TIMEOUT_S)

    assert remaining == 0, f"{remaining} messages to {topic} were still undelivered"
    return delivered


def _consume(bootstrap: str, topic: str, count: int) -> list[Message]:
    """Read `count` messages of a topic from the beginning with a fresh consumer group."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"test-{uuid.uuid4().hex}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic])
    messages: list[Message] = []
    deadline = time.monotonic() + CONSUME_TIMEOUT_S
    try:
        while len(messages) < count and time.monotonic() < deadline:
            for message in consumer.consume(num_messages=count, timeout=1.0):
                assert message.error() is None, f"consuming {topic} failed: {message.error()}"
                messages.append(message)
    finally:
        consumer.close()
    return messages


def _records(messages: list[Message]) -> list[tuple[str, str, int]]:
    return sorted(
        (message.key().decode(), message.value().decode(), message.partition())
        for message in messages
    )


def _broker_processes(broker: KafkaBroker) -> list[psutil.Process]:
    """Every process running kafka.Kafka on this broker's config file."""
    config = str(broker.config_file)
    found = []
    for process in psutil.process_iter(["cmdline", "status"]):
        if process.info["status"] == psutil.STATUS_ZOMBIE:
            continue
        if config in (process.info["cmdline"] or []):
            found.append(process)
    return found


RECORDS = [
    ("enwiki", '{"page_title": "Main_Page", "views": 7}'),
    ("dewiki", '{"page_title": "Wikipedia:Hauptseite", "views": 3}'),
    ("frwiki", '{"page_title": "Paris", "views": 1}'),
    ("enwiki", '{"page_title": "Kafka", "views": 2}'),
    ("dewiki", '{"page_title": "Berlin", "views": 5}'),
    ("jawiki", '{"page_title": "東京", "views": 4}'),
]


def test_produce_consume_round_trip_exact(kafka_broker: KafkaBroker) -> None:
    topic = _new_topic()

    delivered = _produce(kafka_broker.bootstrap, topic, RECORDS)
    consumed = _consume(kafka_broker.bootstrap, topic, len(RECORDS))

    assert _records(consumed) == _records(delivered)
    assert sorted((key, value) for key, value, _ in _records(consumed)) == sorted(RECORDS)
    partitions_by_key: dict[str, set[int]] = {}
    for key, _, partition in _records(consumed):
        partitions_by_key.setdefault(key, set()).add(partition)
    assert all(len(partitions) == 1 for partitions in partitions_by_key.values())


def test_produce_auto_created_topic_has_configured_partitions(kafka_broker: KafkaBroker) -> None:
    topic = _new_topic()
    _produce(kafka_broker.bootstrap, topic, RECORDS[:1])

    producer = Producer({"bootstrap.servers": kafka_broker.bootstrap})
    metadata = producer.list_topics(topic, timeout=10)

    assert len(metadata.topics[topic].partitions) == kafka_broker.partitions == 3


def test_restart_keeps_messages(kafka_broker: KafkaBroker) -> None:
    topic = _new_topic()
    _produce(kafka_broker.bootstrap, topic, RECORDS)

    kafka_broker.stop()
    stopped = kafka_broker.status()
    started_again = kafka_broker.start()
    consumed = _consume(kafka_broker.bootstrap, topic, len(RECORDS))

    assert stopped["state"] == "stopped"
    assert started_again is True
    assert sorted((key, value) for key, value, _ in _records(consumed)) == sorted(RECORDS)


def test_sasl_plain_correct_password_delivers(kafka_broker: KafkaBroker) -> None:
    topic = _new_topic()
    user, password = next(iter(kafka_broker.sasl_users.items()))
    assert kafka_broker.sasl_bootstrap is not None

    delivered = _produce(
        kafka_broker.sasl_bootstrap,
        topic,
        RECORDS[:2],
        **{
            "security.protocol": "SASL_PLAINTEXT",
            "sasl.mechanism": "PLAIN",
            "sasl.username": user,
            "sasl.password": password,
        },
    )
    consumed = _consume(kafka_broker.bootstrap, topic, 2)

    assert [message.error() for message in delivered] == [None, None]
    assert _records(consumed) == _records(delivered)


def test_sasl_plain_wrong_password_fails_authentication(kafka_broker: KafkaBroker) -> None:
    user = next(iter(kafka_broker.sasl_users))
    errors: list[KafkaError] = []
    producer = Producer(
        {
            "bootstrap.servers": kafka_broker.sasl_bootstrap,
            "security.protocol": "SASL_PLAINTEXT",
            "sasl.mechanism": "PLAIN",
            "sasl.username": user,
            "sasl.password": "not-the-password",
            "message.timeout.ms": 3_000,
            "error_cb": errors.append,
        }
    )
    delivery_errors: list[KafkaError | None] = []

    producer.produce(
        _new_topic(), value=b"x", on_delivery=lambda err, _msg: delivery_errors.append(err)
    )
    deadline = time.monotonic() + CONSUME_TIMEOUT_S
    while not errors and time.monotonic() < deadline:
        producer.poll(0.5)
    producer.flush(15)

    assert any(error.code() == KafkaError._AUTHENTICATION for error in errors), errors
    assert len(delivery_errors) == 1 and delivery_errors[0] is not None


def test_status_running_reports_pid_and_addresses(kafka_broker: KafkaBroker) -> None:
    status = kafka_broker.status()

    assert status["state"] == "running"
    assert status["running"] is True
    assert status["pid"] == kafka_broker.pid() == int(kafka_broker.pid_file.read_text())
    assert status["bootstrap"] == kafka_broker.bootstrap
    assert status["sasl_bootstrap"] == kafka_broker.sasl_bootstrap
    assert broker_status(kafka_broker.base_dir)["bootstrap"] == kafka_broker.bootstrap


def test_stop_leaves_no_java_process(kafka_broker: KafkaBroker) -> None:
    pid = kafka_broker.pid()
    assert pid is not None and _broker_processes(kafka_broker)

    try:
        stopped = kafka_broker.stop()
        status = kafka_broker.status()
        leftovers = _broker_processes(kafka_broker)
        pid_alive = psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie"
        answers = broker_answers(kafka_broker.bootstrap, timeout=2.0)
    finally:
        kafka_broker.start()

    assert stopped is True
    assert leftovers == []
    assert not pid_alive
    assert status["state"] == "stopped" and status["pid"] is None
    assert not answers


def test_stop_broker_from_another_process(kafka_broker: KafkaBroker) -> None:
    pid = kafka_broker.pid()
    code = (
        "import sys; from pathlib import Path;"
        "from clickstream_assets.local.kafka_broker import stop_broker;"
        "sys.exit(0 if stop_broker(Path(sys.argv[1])) else 3)"
    )

    try:
        result = subprocess.run(
            [sys.executable, "-c", code, str(kafka_broker.base_dir)],
            capture_output=True,
            text=True,
            timeout=90,
        )
        status = kafka_broker.status()
        leftovers = _broker_processes(kafka_broker)
    finally:
        kafka_broker.start()

    assert result.returncode == 0, result.stderr
    assert status["state"] == "stopped"
    assert leftovers == []
    assert kafka_broker.pid() != pid


def test_start_on_answering_port_starts_no_second_broker(
    kafka_broker: KafkaBroker, tmp_path: Path
) -> None:
    other = KafkaBroker(tmp_path / "other", port=kafka_broker.port)

    started = other.start(timeout=10)
    status = other.status()

    assert started is False
    assert status["state"] == "external"
    assert status["pid"] is None
    assert not other.pid_file.exists()
    assert other.stop() is False
    assert kafka_broker.status()["state"] == "running"


def test_status_removes_stale_pid_file(tmp_path: Path) -> None:
    broker = KafkaBroker(tmp_path / "stale", port=1)
    broker.base_dir.mkdir()
    # A live pid that is not a broker, as after the broker died and its pid was reused.
    broker.pid_file.write_text(f"{os.getpid()}\n")

    status = broker.status()

    assert status["state"] == "stopped"
    assert not broker.pid_file.exists()
    assert stop_broker(broker.base_dir) is False
