"""Kafka as a Dagster resource: one place that turns settings into confluent-kafka clients.

Every producer, consumer and admin client of the project is built from `client_config()`, so
bootstrap servers and security settings (SASL user and password from the environment) reach
all of them, and the password never appears in logs, metadata or error messages.
"""

import time

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from dagster import ConfigurableResource, EnvVar
from pydantic import Field

from clickstream_assets import settings

# Producer settings for throughput with exactly-once delivery per partition: the idempotent
# producer retries without duplicating, zstd shrinks JSON values about fivefold, and a short
# linger lets batches fill. Only failed deliveries are reported: a success report costs a
# Python call per message, and a message that leaves the queue without a failure report was
# acknowledged (publish.py counts both).
PRODUCER_TUNING = {
    "enable.idempotence": True,
    "delivery.report.only.error": True,
    "acks": "all",
    "compression.type": "zstd",
    "linger.ms": 20,
    "batch.size": 1_000_000,
    "queue.buffering.max.messages": 500_000,
    "queue.buffering.max.kbytes": 1_048_576,
}


class KafkaResource(ConfigurableResource):
    """A Kafka cluster: the local broker by default, any cluster through KAFKA_* settings."""

    bootstrap_servers: str = settings.DEFAULT_KAFKA_BOOTSTRAP
    topic: str = settings.DEFAULT_KAFKA_TOPIC
    partitions: int = Field(default=3, description="Partitions of the topic when it is created.")
    security_protocol: str | None = None
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password: str | None = None
    timeout_s: float = Field(default=30.0, description="Patience for metadata requests.")

    def client_config(self) -> dict:
        config = {"bootstrap.servers": self.bootstrap_servers}
        if self.security_protocol:
            config["security.protocol"] = self.security_protocol
        if self.sasl_mechanism:
            config["sasl.mechanism"] = self.sasl_mechanism
        if self.sasl_username:
            config["sasl.username"] = self.sasl_username
        if self.sasl_password:
            config["sasl.password"] = self.sasl_password
        return config

    def describe(self) -> str:
        """Where this resource points, safe to log (no credentials)."""
        auth = f", {self.security_protocol}/{self.sasl_mechanism}" if self.security_protocol else ""
        return f"{self.bootstrap_servers}{auth}"

    def producer_settings(self, **overrides) -> dict:
        """The configuration `producer()` builds its client from, for producers in other
        processes (it holds the password: hand it to a child process, never to a log)."""
        return {**self.client_config(), **PRODUCER_TUNING, **overrides}

    def producer(self, **overrides) -> Producer:
        return Producer(self.producer_settings(**overrides))

    def consumer(self, group_id: str, **overrides) -> Consumer:
        return Consumer(
            {
                **self.client_config(),
                "group.id": group_id,
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                **overrides,
            }
        )

    def admin(self) -> AdminClient:
        return AdminClient(self.client_config())

    def ensure_topic(self, topic: str | None = None, timeout_s: float | None = None) -> bool:
        """Create the topic with `partitions` partitions when missing; True if it was created."""
        name = topic or self.topic
        timeout_s = timeout_s or self.timeout_s
        admin = self.admin()
        if name in self.list_topics(admin, timeout_s):
            return False
        futures = admin.create_topics([NewTopic(name, self.partitions, 1)])
        try:
            futures[name].result(timeout_s)
        except KafkaException as exc:
            if "TOPIC_ALREADY_EXISTS" not in str(exc):
                raise
            return False
        # Metadata of a new topic reaches every client a moment later.
        deadline = time.monotonic() + timeout_s
        while name not in self.list_topics(admin, timeout_s) and time.monotonic() < deadline:
            time.sleep(0.1)
        return True

    def list_topics(self, admin: AdminClient | None = None, timeout_s: float | None = None) -> dict:
        timeout_s = timeout_s or self.timeout_s
        try:
            return (admin or self.admin()).list_topics(timeout=timeout_s).topics
        except KafkaException as exc:
            raise KafkaUnavailable(
                f"Kafka at {self.describe()} did not answer a metadata request within "
                f"{timeout_s:.0f} s ({exc.args[0].str() if exc.args else exc}); is the broker "
                "running? `clickstream services up` starts the local one"
            ) from None

    def end_offsets(
        self, topic: str | None = None, timeout_s: float | None = None
    ) -> dict[int, int]:
        """The next offset to be written in each partition of the topic."""
        name = topic or self.topic
        timeout_s = timeout_s or self.timeout_s
        metadata = self.list_topics(timeout_s=timeout_s)
        if name not in metadata:
            return {}
        consumer = self.consumer("clickstream-offsets")
        try:
            return {
                partition: consumer.get_watermark_offsets(
                    TopicPartition(name, partition), timeout=timeout_s
                )[1]
                for partition in sorted(metadata[name].partitions)
            }
        finally:
            consumer.close()


class KafkaUnavailable(RuntimeError):
    """The configured Kafka cluster does not answer."""


def kafka_from_env() -> KafkaResource:
    """The resource as configured by KAFKA_* variables; the password stays an EnvVar."""
    password = EnvVar("KAFKA_SASL_PASSWORD") if settings.env("KAFKA_SASL_PASSWORD") else None
    return KafkaResource(
        bootstrap_servers=settings.kafka_bootstrap(),
        topic=settings.kafka_topic(),
        partitions=int(settings.env("KAFKA_TOPIC_PARTITIONS") or 3),
        security_protocol=settings.env("KAFKA_SECURITY_PROTOCOL"),
        sasl_mechanism=settings.env("KAFKA_SASL_MECHANISM"),
        sasl_username=settings.env("KAFKA_SASL_USERNAME"),
        sasl_password=password,
    )
