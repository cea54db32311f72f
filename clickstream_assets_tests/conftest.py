"""Fixtures shared by the whole suite: the real embedded services that tests run against."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from clickstream_assets.local.jvm import KAFKA_BROKER, ensure_jvm_artifacts
from clickstream_assets.local.kafka_broker import KafkaBroker, free_port
from clickstream_assets.resources.kafka import KafkaResource

# Accounts of the broker's SASL_PLAINTEXT listener, for tests of clients that authenticate.
KAFKA_SASL_USERS = {"clickstream": "clickstream-secret", "analyst": "analyst-secret"}


@pytest.fixture(scope="session")
def kafka_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaBroker]:
    """One real Apache Kafka broker for the session, on free loopback ports, storage in a tmp dir.

    It has a PLAINTEXT listener (`bootstrap`) and a SASL_PLAINTEXT listener with the PLAIN
    mechanism (`sasl_bootstrap`) accepting KAFKA_SASL_USERS. Its jars are resolved with Maven
    first; if that fails, the session fails rather than skipping the tests that need Kafka.
    """
    ensure_jvm_artifacts(KAFKA_BROKER)
    port = free_port()
    sasl_port = free_port()
    while sasl_port == port:
        sasl_port = free_port()
    broker = KafkaBroker(
        tmp_path_factory.mktemp("kafka"),
        port=port,
        sasl_port=sasl_port,
        sasl_users=KAFKA_SASL_USERS,
    )

    broker.start()
    yield broker
    broker.stop()


def topic_of_its_own(broker: KafkaBroker, prefix: str, partitions: int) -> KafkaResource:
    """A resource on `broker` whose topic (`<prefix>-<random>`) is new and created, so tests
    sharing the session broker never see each other's messages."""
    resource = KafkaResource(
        bootstrap_servers=broker.bootstrap,
        topic=f"{prefix}-{uuid.uuid4().hex[:10]}",
        partitions=partitions,
    )
    resource.ensure_topic()
    return resource
