"""Looking into a topic by hand: consume messages as JSON lines, list topics with offsets."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

from confluent_kafka import OFFSET_BEGINNING, TopicPartition

from clickstream_assets.resources.kafka import KafkaResource


def message_record(msg) -> dict:
    """A consumed message as a plain dict (value parsed as JSON when it is JSON)."""
    raw = msg.value() or b""
    try:
        payload = json.loads(raw)
    except ValueError:
        payload = raw.decode("utf-8", errors="replace")
    return {
        "topic": msg.topic(),
        "partition": msg.partition(),
        "offset": msg.offset(),
        "timestamp_ms": msg.timestamp()[1],
        "key": (msg.key() or b"").decode("utf-8", errors="replace"),
        "headers": {
            k: (v or b"").decode("utf-8", errors="replace") for k, v in msg.headers() or []
        },
        "value": payload,
    }


def consume_messages(
    kafka: KafkaResource,
    topic: str,
    group_id: str,
    *,
    from_beginning: bool = False,
    limit: int | None = None,
    timeout_ms: int = 10_000,
    auto_commit: bool = True,
) -> Iterator[dict]:
    """Messages of `topic` as dicts, until `limit` or until nothing arrives for `timeout_ms`."""
    consumer = kafka.consumer(
        group_id,
        **{
            "enable.auto.commit": auto_commit,
            "auto.offset.reset": "earliest" if from_beginning else "latest",
        },
    )

    def rewind(consumer, partitions):
        if from_beginning:
            for partition in partitions:
                partition.offset = OFFSET_BEGINNING
            consumer.assign(partitions)

    consumer.subscribe([topic], on_assign=rewind)
    seen = 0
    quiet_since = time.monotonic()
    try:
        while limit is None or seen < limit:
            msg = consumer.poll(0.5)
            if msg is None:
                if (time.monotonic() - quiet_since) * 1000 >= timeout_ms:
                    return
                continue
            if msg.error():
                raise RuntimeError(f"consuming {topic}: {msg.error().str()}")
            quiet_since = time.monotonic()
            seen += 1
            yield message_record(msg)
    finally:
        consumer.close()


def describe_topics(kafka: KafkaResource) -> list[dict]:
    """Every topic (internal ones left out) with its partitions' low and high offsets."""
    topics = kafka.list_topics()
    consumer = kafka.consumer("clickstream-describe")
    try:
        described = []
        for name in sorted(topics):
            if name.startswith("__"):
                continue
            partitions = []
            for pid in sorted(topics[name].partitions):
                low, high = consumer.get_watermark_offsets(TopicPartition(name, pid), timeout=10)
                partitions.append(
                    {
                        "partition": pid,
                        "low": low,
                        "high": high,
                        "leader": topics[name].partitions[pid].leader,
                    }
                )
            described.append(
                {
                    "topic": name,
                    "partitions": partitions,
                    "messages": sum(p["high"] - p["low"] for p in partitions),
                }
            )
        return described
    finally:
        consumer.close()
