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
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc
from confluent_kafka import KafkaError, Producer

from clickstream_assets.pageviews.parsing import ParseStats, iter_pageview_batches

if TYPE_CHECKING:
    # Only for annotations: the resource imports Dagster, which a producer process (importing
    # this module) does not need.
    from clickstream_assets.resources.kafka import KafkaResource

CONTROL_CHARACTERS = r"[\x00-\x1f]"
DEFAULT_PROCESSES = 2
ENCODE_ROWS = 25_000
# Below this size (compressed), starting producer processes costs more than they save.
SMALL_HOUR_BYTES = 16 << 20


class PublishError(RuntimeError):
    """Messages were not acknowledged by the brokers."""


@dataclass
class PublishResult:
    messages: int = 0
    value_bytes: int = 0
    failed: int = 0
    first_error: str | None = None
    # Per partition, the first and last offset written while the hour was published (from
    # the partitions' end offsets before and after: see `publish_dump`).
    offsets: dict[int, list[int]] = field(default_factory=dict)
    # Records of other producers inside those ranges (they wrote to the topic meanwhile).
    foreign_records: int = 0
    duration_s: float = 0.0

    def failed_delivery(self, err: KafkaError | None, _message: object) -> None:
        """The delivery callback. The producers report failures only (PRODUCER_TUNING)."""
        if err is not None:
            self.failed += 1
            self.first_error = self.first_error or err.str()

    def merge(self, other: PublishResult) -> None:
        """Add another producer's counts."""
        self.messages += other.messages
        self.value_bytes += other.value_bytes
        self.failed += other.failed
        self.first_error = self.first_error or other.first_error

    def record_offsets(self, before: dict[int, int], after: dict[int, int]) -> None:
        """Offset ranges from each partition's end offset before and after publishing.

        The idempotent producers write each message exactly once, so the ranges hold exactly
        this hour's messages unless another producer wrote to the topic at the same time; how
        many records that adds is kept in `foreign_records`.
        """
        self.offsets = {
            partition: [before.get(partition, 0), end - 1]
            for partition, end in sorted(after.items())
            if end > before.get(partition, 0)
        }
        written = sum(last - first + 1 for first, last in self.offsets.values())
        self.foreign_records = max(written - (self.messages - self.failed), 0)


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


def publish_dump(
    kafka: KafkaResource,
    path: Path,
    hour: datetime,
    *,
    processes: int = DEFAULT_PROCESSES,
    stats: ParseStats | None = None,
    progress: Callable[[int], None] | None = None,
) -> tuple[PublishResult, int]:
    """Publish an hour to `kafka.topic` the way `pageview_topic` does, and say how many
    producer processes did it: `processes` of them for a full hour, or one producer in this
    process for an hour under SMALL_HOUR_BYTES (starting processes would cost more).

    The result's offset ranges come from the topic's end offsets before and after.
    """
    before = kafka.end_offsets()
    if processes <= 1 or Path(path).stat().st_size < SMALL_HOUR_BYTES:
        producer = kafka.producer()
        result = publish_hour(producer, kafka.topic, path, hour, stats=stats, progress=progress)
        processes = 1
    else:
        result = publish_hour_parallel(
            kafka.producer_settings(),
            kafka.topic,
            path,
            hour,
            workers=processes,
            stats=stats,
            progress=progress,
        )
    result.record_offsets(before, kafka.end_offsets())
    return result, processes


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
    """Publish every record of the dump at `path` with one producer in this process and wait
    until each one is acknowledged.

    Raises PublishError naming the number of failed messages if any delivery failed.
    """
    started = time.monotonic()
    result = PublishResult()
    message = Message(topic, Path(path).name, hour_text(hour))
    for batch in iter_pageview_batches(path, stats):
        produce_batch(producer, message, batch, result)
        if progress is not None:
            progress(result.messages)
    finish(producer, result, flush_timeout_s)
    result.duration_s = time.monotonic() - started
    raise_on_failures(result, path, topic)
    return result


def publish_hour_parallel(
    producer_settings: dict,
    topic: str,
    path: Path,
    hour: datetime,
    *,
    workers: int = 2,
    stats: ParseStats | None = None,
    progress: Callable[[int], None] | None = None,
    flush_timeout_s: float = 120.0,
) -> PublishResult:
    """Publish like `publish_hour`, with `workers` producer processes.

    `produce` with three headers is most of a message's cost and holds the interpreter, so
    one process cannot go faster than its own loop. Here this process parses the dump and deals
    its batches round-robin to the workers (`python -m
    clickstream_assets.pageviews.producer_process`, fed an Arrow stream on stdin); each
    encodes its batches and produces them with its own idempotent producer. Every worker
    partitions by key with the same partitioner, so a project still lands in one partition;
    within a partition, messages keep file order per worker, and the line number header keeps
    the file's order for anyone who needs it. The producers share the local queue limit of
    `producer_settings`, so memory does not grow with the number of workers.

    Waits until every worker's messages are acknowledged; raises PublishError with the number
    of failed messages, or with the error of a worker that failed.
    """
    started = time.monotonic()
    message = Message(topic, Path(path).name, hour_text(hour))
    queue_limit = int(producer_settings.get("queue.buffering.max.messages", 100_000))
    settings = {**producer_settings, "queue.buffering.max.messages": queue_limit // workers}
    crew = [ProducerProcess(settings, message, flush_timeout_s) for _ in range(workers)]
    result = PublishResult()
    try:
        dealt = 0
        for index, batch in enumerate(iter_pageview_batches(path, stats)):
            crew[index % workers].send(batch)
            dealt += batch.num_rows
            if progress is not None:
                progress(dealt)
        for worker in crew:
            result.merge(worker.finish())
    finally:
        for worker in crew:
            worker.stop()
    result.duration_s = time.monotonic() - started
    raise_on_failures(result, path, topic)
    return result


class ProducerProcess:
    """A child process producing the batches it is sent (see producer_process)."""

    def __init__(self, settings: dict, message: Message, flush_timeout_s: float) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "clickstream_assets.pageviews.producer_process"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        self.flush_timeout_s = flush_timeout_s
        # The settings may hold the SASL password: they go down the pipe, never to a log.
        spec = {"settings": settings, "message": asdict(message), "flush_s": flush_timeout_s}
        self._write(lambda: self.process.stdin.write(json.dumps(spec).encode() + b"\n"))
        self.stream = None

    def send(self, batch: pa.RecordBatch) -> None:
        """Hand over a batch; blocks while the worker is still busy with the one before."""
        if self.stream is None:
            self.stream = pa.ipc.new_stream(self.process.stdin, batch.schema)
        self._write(lambda: self.stream.write_batch(batch))

    def finish(self) -> PublishResult:
        """End the stream and wait for the worker's report once its messages are acknowledged."""
        if self.stream is not None:
            self._write(self.stream.close)
        try:
            # Closes stdin, which ends the worker's input, then reads its report.
            out, _ = self.process.communicate(timeout=self.flush_timeout_s + 60)
        except subprocess.TimeoutExpired:
            raise PublishError(
                f"a producer process did not report within {self.flush_timeout_s:.0f} s"
            ) from None
        return self._report(out)

    def stop(self) -> None:
        """Kill the worker unless it has finished (a failure elsewhere ends the run)."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()

    def _write(self, write: Callable[[], object]) -> None:
        try:
            write()
        except (BrokenPipeError, OSError) as error:
            # The worker is gone: its report says why.
            out = self.process.stdout.read()
            self.process.wait()
            raise PublishError(self._failure(out)) from error

    def _report(self, out: bytes) -> PublishResult:
        if self.process.returncode != 0:
            raise PublishError(self._failure(out))
        report = json.loads(out)
        return PublishResult(**report)

    def _failure(self, out: bytes) -> str:
        try:
            error = json.loads(out)["error"]
        except (ValueError, KeyError, TypeError):
            error = f"exited with code {self.process.returncode}"
        return f"a producer process failed: {error}"


@dataclass(frozen=True)
class Message:
    """What every message of one publication shares: its topic and two of its headers."""

    topic: str
    source_file: str
    hour: str


def produce_batch(
    producer: Producer, message: Message, batch: pa.RecordBatch, result: PublishResult
) -> None:
    """Produce one message per row of a typed batch, counting failed deliveries in `result`.

    The batch is encoded a slice at a time, so only one slice's values live as Python bytes.
    """
    for start in range(0, batch.num_rows, ENCODE_ROWS):
        _produce_rows(producer, message, batch.slice(start, ENCODE_ROWS), result)
        # Serves the failure reports that arrived meanwhile.
        producer.poll(0)


def _produce_rows(
    producer: Producer, message: Message, batch: pa.RecordBatch, result: PublishResult
) -> None:
    # Everything but the produce call itself is done for the whole slice beforehand: this
    # loop runs once per message, and the call (with its three headers) is most of its cost.
    values = encode_values(batch, message.hour)
    keys = pc.cast(batch.column("domain_code"), pa.binary()).to_pylist()
    lines = pc.cast(pc.cast(batch.column("line_number"), pa.string()), pa.binary()).to_pylist()
    source = ("source_file", message.source_file.encode())
    stamp = ("hour", message.hour.encode())
    produce, topic, on_failure = producer.produce, message.topic, result.failed_delivery
    rows = zip(keys, values, lines, strict=True)
    while True:
        try:
            # Positional arguments, which the C extension parses faster than keywords: topic,
            # value, key, partition (-1: the partitioner's choice), on_delivery, its old alias
            # `callback`, timestamp (0: now), headers.
            for key, value, line in rows:
                produce(
                    topic,
                    value,
                    key,
                    -1,
                    on_failure,
                    None,
                    0,
                    [source, ("line_number", line), stamp],
                )
            break
        except BufferError:
            # The local queue is full: once the brokers acknowledged some, send the row that
            # did not fit, then go on with the rest.
            headers = [source, ("line_number", line), stamp]
            _produce_when_queue_has_room(producer, topic, value, key, on_failure, headers)
    result.messages += len(values)
    result.value_bytes += sum(map(len, values))


def _produce_when_queue_has_room(
    producer: Producer, topic: str, value: bytes, key: bytes, on_failure, headers: list
) -> None:
    while True:
        producer.poll(0.05)
        try:
            producer.produce(topic, value, key, on_delivery=on_failure, headers=headers)
            return
        except BufferError:
            continue


def finish(producer: Producer, result: PublishResult, flush_timeout_s: float) -> None:
    """Wait for every acknowledgement; what is still unacknowledged counts as failed."""
    remaining = producer.flush(flush_timeout_s)
    if remaining:
        result.failed += remaining
        result.first_error = result.first_error or f"{remaining} still unacknowledged after flush"


def raise_on_failures(result: PublishResult, path: Path, topic: str) -> None:
    if result.failed:
        raise PublishError(
            f"{result.failed:,} of {result.messages:,} messages from {path} to topic {topic!r} "
            f"were not delivered (first error: {result.first_error})"
        )
