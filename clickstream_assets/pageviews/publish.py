"""Publishing an hour of pageviews to Kafka: one message per record, keyed by project.

Values are JSON `{"project", "page_title", "views", "bytes", "hour"}`, built for a whole
Arrow batch at once (escaping with vectorized string kernels) rather than with `json.dumps`
per line, so the Python loop does nothing but hand ready bytes to the producer.

The event time (the dump's hour) travels in the value and in a header. The Kafka timestamp
stays the time of production: brokers delete segments whose newest timestamp is older than
the retention, so records stamped with a historical hour would vanish at the next check.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
from confluent_kafka import KafkaError, Producer

from clickstream_assets.pageviews.parsing import ParseStats, iter_pageview_batches

CONTROL_CHARACTERS = r"[\x00-\x1f]"
POLL_EVERY = 10_000


class PublishError(RuntimeError):
    """Messages were not acknowledged by the brokers."""


@dataclass
class PublishResult:
    messages: int = 0
    value_bytes: int = 0
    failed: int = 0
    first_error: str | None = None
    offsets: dict[int, list[int]] = field(default_factory=dict)
    duration_s: float = 0.0

    def delivered(self, err: KafkaError | None, partition: int, offset: int) -> None:
        if err is not None:
            self.failed += 1
            self.first_error = self.first_error or err.str()
            return
        span = self.offsets.get(partition)
        if span is None:
            self.offsets[partition] = [offset, offset]
        elif offset > span[1]:
            span[1] = offset
        elif offset < span[0]:
            span[0] = offset


def _json_string(values: pa.Array) -> pa.Array:
    """Each string as a JSON string literal (quotes and backslashes escaped)."""
    escaped = pc.replace_substring(values, "\\", "\\\\")
    escaped = pc.replace_substring(escaped, '"', '\\"')
    return pc.binary_join_element_wise('"', escaped, '"', "")


def encode_values(batch: pa.RecordBatch, hour: str) -> list[bytes]:
    """JSON values for every row of a typed pageview batch (see parsing.SCHEMA)."""
    project = batch.column("domain_code")
    title = batch.column("page_title")
    joined = pc.binary_join_element_wise(
        '{"project":',
        _json_string(project),
        ',"page_title":',
        _json_string(title),
        ',"views":',
        pc.cast(batch.column("count_views"), pa.string()),
        ',"bytes":',
        pc.cast(batch.column("total_response_size"), pa.string()),
        f',"hour":"{hour}"}}',
        "",
    )
    values = pc.cast(joined, pa.binary()).to_pylist()
    # Control characters need \u escapes; they are rare enough to leave to json.dumps.
    odd = pc.or_(
        pc.match_substring_regex(project, CONTROL_CHARACTERS),
        pc.match_substring_regex(title, CONTROL_CHARACTERS),
    )
    if pc.any(odd).as_py():
        rows = batch.to_pylist()
        for index in pc.indices_nonzero(odd).to_pylist():
            values[index] = message_value(rows[index], hour)
    return values


def message_value(row: dict, hour: str) -> bytes:
    """The JSON value of one record, the slow way (the reference for `encode_values`)."""
    return json.dumps(
        {
            "project": row["domain_code"],
            "page_title": row["page_title"],
            "views": row["count_views"],
            "bytes": row["total_response_size"],
            "hour": hour,
        },
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode("utf-8")


def hour_text(hour: datetime) -> str:
    """The event time as it appears in values and headers: ISO 8601 UTC, `2024-10-01T13:00:00Z`."""
    return hour.strftime("%Y-%m-%dT%H:00:00Z")


def publish_hour(
    producer: Producer,
    topic: str,
    path: Path,
    hour: datetime,
    *,
    stats: ParseStats | None = None,
    progress: Callable[[int], None] | None = None,
    flush_timeout_s: float = 120.0,
) -> PublishResult:
    """Publish every record of the dump at `path` and wait until each one is acknowledged.

    Raises PublishError naming the number of failed messages if any delivery failed.
    """
    started = time.monotonic()
    result = PublishResult()
    source = Path(path).name.encode()
    stamp = hour_text(hour)
    stamp_bytes = stamp.encode()

    def on_delivery(err, msg) -> None:
        result.delivered(err, msg.partition(), msg.offset())

    for batch in iter_pageview_batches(path, stats):
        values = encode_values(batch, stamp)
        keys = pc.cast(batch.column("domain_code"), pa.binary()).to_pylist()
        lines = batch.column("line_number").to_pylist()
        for key, value, line in zip(keys, values, lines, strict=True):
            headers = [
                ("source_file", source),
                ("line_number", b"%d" % line),
                ("hour", stamp_bytes),
            ]
            while True:
                try:
                    producer.produce(topic, value, key, headers=headers, on_delivery=on_delivery)
                    break
                except BufferError:
                    # The local queue is full: let the brokers acknowledge some first.
                    producer.poll(0.05)
            result.messages += 1
            result.value_bytes += len(value)
            if result.messages % POLL_EVERY == 0:
                producer.poll(0)
        if progress is not None:
            progress(result.messages)

    remaining = producer.flush(flush_timeout_s)
    result.duration_s = time.monotonic() - started
    if remaining:
        result.failed += remaining
        result.first_error = result.first_error or f"{remaining} still unacknowledged after flush"
    if result.failed:
        raise PublishError(
            f"{result.failed:,} of {result.messages:,} messages from {path} to topic {topic!r} "
            f"were not delivered (first error: {result.first_error})"
        )
    return result
